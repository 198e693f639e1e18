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
            {canManage && m.user_id !== props.me.id && m.role !== "owner" && (
              <button type="button" class="link" onClick={() => void remove(m)}>
                Remove <span class="visually-hidden">{m.display_name ?? m.username}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
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
