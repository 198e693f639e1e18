import type { Conversation, User } from "@parley/sdk";
import { useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { Dialog } from "./Dialog";
import { UserSuggestions, useUserSuggestions } from "./UserSuggestions";
import { findUser } from "./users";
import { ErrorText } from "./ErrorText";

export function NewConversationDialog(props: { me: User; onClose(): void; onCreated(c: Conversation): void }) {
  const [kind, setKind] = useState<"direct" | "group">("direct");
  const [title, setTitle] = useState("");
  const [people, setPeople] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const suggestions = useUserSuggestions(people, props.me.id);
  // A list keeps what was typed before the last word.
  const before = people.includes(" ") || people.includes(",") ? people.replace(/[^\s,]*$/, "") : "";

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const names = people.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      if (kind === "direct" && names.length !== 1) throw new Error("A direct conversation is with exactly one person.");
      const ids: string[] = [];
      for (const name of names) {
        const user = await findUser(name);
        if (!user) throw new Error(`No user named “${name}”.`);
        if (user.id !== props.me.id) ids.push(user.id);
      }
      const body = kind === "direct" ? { kind, members: ids } : { kind, title: title.trim(), members: ids };
      const conv = await client.api("post", "/api/conversations", { body });
      props.onCreated(conv);
    } catch (err) {
      setError(err instanceof Error && !("status" in err) ? err.message : problemText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New conversation" onClose={props.onClose}>
      <form onSubmit={create} class="stack">
        <fieldset>
          <legend>Kind</legend>
          <label class="inline">
            <input type="radio" name="kind" value="direct" checked={kind === "direct"} onChange={() => setKind("direct")} /> Direct message
          </label>
          <label class="inline">
            <input type="radio" name="kind" value="group" checked={kind === "group"} onChange={() => setKind("group")} /> Group
          </label>
        </fieldset>
        {kind === "group" && (
          <>
            <label for="new-title">Title</label>
            <input id="new-title" required maxLength={128} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </>
        )}
        <label for="new-people">{kind === "direct" ? "Username" : "Usernames (separated by spaces or commas)"}</label>
        <input id="new-people" list="new-people-suggestions" required={kind === "direct"} autoComplete="off" value={people} onInput={(e) => setPeople(e.currentTarget.value)} />
        <UserSuggestions id="new-people-suggestions" users={suggestions} prefix={before} />
        <ErrorText text={error} />
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            Start
          </button>
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
