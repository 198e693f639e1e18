import type { Conversation, Member, User } from "@parley/sdk";
import { useState } from "preact/hooks";
import { client } from "../client";
import { problemText } from "../hooks";
import { announce } from "./Announcer";
import { Dialog } from "./Dialog";
import { UserSuggestions, useUserSuggestions } from "./UserSuggestions";
import { findUser } from "./users";
import { ErrorText } from "./ErrorText";

export function MembersDialog(props: { conversation: Conversation; me: User; members: Member[]; myRole: string; onChanged(): void; onClose(): void }) {
  const [username, setUsername] = useState("");
  const [error, setError] = useState("");
  const canManage = props.myRole === "owner" || props.myRole === "admin";
  const suggestions = useUserSuggestions(username, props.me.id).filter((u) => !props.members.some((m) => m.user_id === u.id));
  const id = props.conversation.id;

  const add = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      const user = await findUser(username);
      if (!user) throw new Error(`No user named “${username}”.`);
      await client.api("post", "/api/conversations/{id}/members", { path: { id }, body: { user_id: user.id } });
      setUsername("");
      announce(`${user.display_name} was added`);
      props.onChanged();
    } catch (err) {
      setError(err instanceof Error && !("status" in err) ? err.message : problemText(err));
    }
  };

  const moderate = async (m: Member, what: "mute" | "unmute" | "ban") => {
    setError("");
    const name = m.display_name ?? m.username;
    try {
      if (what === "ban") {
        await client.api("post", "/api/conversations/{id}/bans", { path: { id }, body: { user_id: m.user_id } });
        announce(`${name} was banned`);
      } else {
        await client.api("post", "/api/conversations/{id}/members/{user_id}/mute", {
          path: { id, user_id: m.user_id },
          body: { seconds: what === "mute" ? 3600 : 0 },
        });
        announce(what === "mute" ? `${name} is muted for an hour` : `${name} may speak again`);
      }
      props.onChanged();
    } catch (err) {
      setError(problemText(err));
    }
  };

  const [slow, setSlow] = useState(props.conversation.slow_mode_s ?? 0);
  const setSlowMode = async (seconds: number) => {
    setError("");
    try {
      const c = await client.api("patch", "/api/conversations/{id}", { path: { id }, body: { slow_mode_s: seconds } });
      setSlow(c.slow_mode_s ?? seconds);
      announce(seconds ? `Slow mode: one message every ${seconds} seconds` : "Slow mode is off");
    } catch (err) {
      setError(problemText(err));
    }
  };

  const remove = async (m: Member) => {
    setError("");
    try {
      await client.api("delete", "/api/conversations/{id}/members/{user_id}", { path: { id, user_id: m.user_id } });
      announce(`${m.display_name ?? m.username} was removed`);
      props.onChanged();
    } catch (err) {
      setError(problemText(err));
    }
  };

  return (
    <Dialog title="Members" onClose={props.onClose}>
      <ul class="members">
        {props.members.map((m) => (
          <li key={m.user_id}>
            <span>
              {m.display_name ?? m.username} <span class="hint">@{m.username} · {m.role}</span>
            </span>
            {canManage && m.user_id !== props.me.id && m.role !== "owner" && (m.role === "member" || props.myRole === "owner") && (
              <span class="row">
                <button type="button" class="link" onClick={() => void remove(m)}>
                  Remove <span class="visually-hidden">{m.display_name ?? m.username}</span>
                </button>
                {(m.muted_until ?? 0) > Date.now() ? (
                  <button type="button" class="link" onClick={() => void moderate(m, "unmute")}>
                    Unmute <span class="visually-hidden">{m.display_name ?? m.username}</span>
                  </button>
                ) : (
                  <button type="button" class="link" onClick={() => void moderate(m, "mute")}>
                    Mute for an hour <span class="visually-hidden">{m.display_name ?? m.username}</span>
                  </button>
                )}
                {props.conversation.kind !== "direct" && (
                  <button type="button" class="link danger" onClick={() => void moderate(m, "ban")}>
                    Ban <span class="visually-hidden">{m.display_name ?? m.username}</span>
                  </button>
                )}
              </span>
            )}
          </li>
        ))}
      </ul>
      {canManage && props.conversation.kind !== "direct" && (
        <label class="row">
          Slow mode
          <select value={String(slow)} onChange={(e) => void setSlowMode(Number(e.currentTarget.value))}>
            <option value="0">Off</option>
            <option value="10">One message every 10 s</option>
            <option value="60">One message a minute</option>
            <option value="300">One message every 5 min</option>
          </select>
        </label>
      )}
      {canManage && (
        <form onSubmit={add} class="row">
          <label for="add-member" class="visually-hidden">
            Username to add
          </label>
          <input id="add-member" list="add-member-suggestions" placeholder="username or name" autoComplete="off" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          <UserSuggestions id="add-member-suggestions" users={suggestions} prefix="" />
          <button type="submit" class="primary">
            Add
          </button>
        </form>
      )}
      <ErrorText text={error} />
    </Dialog>
  );
}
