import type { Message, User } from "@parley/sdk";
import { useEffect, useState } from "preact/hooks";
import { client } from "../client";
import { formatTime, problemText } from "../hooks";
import { Dialog } from "./Dialog";

/** The conversation's pinned messages, newest first; Show jumps to one (when it is loaded). */
export function PinnedDialog(props: {
  conv: string;
  version: number;
  names: Record<string, string>;
  me: User;
  onClose(): void;
  onShow(seq: number): void;
}) {
  const [list, setList] = useState<Message[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let alive = true;
    client
      .pins(props.conv, { limit: 100 })
      .then((page) => alive && setList(page.messages))
      .catch((e) => alive && setError(problemText(e)));
    return () => {
      alive = false;
    };
  }, [props.conv, props.version]);
  return (
    <Dialog title="Pinned messages" onClose={props.onClose}>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {list === null && !error && <p class="hint">Loading…</p>}
      {list?.length === 0 && <p class="hint">Nothing is pinned here yet.</p>}
      <ul class="pinned-list" data-testid="pinned-list">
        {list?.map((m) => (
          <li key={m.seq}>
            <div class="meta">
              <span class="sender">{m.sender_id === props.me.id ? "You" : props.names[m.sender_id] ?? "Unknown"}</span>{" "}
              <time dateTime={new Date(m.created_at).toISOString()}>{formatTime(m.created_at)}</time>
            </div>
            <p class="body">{m.body}</p>
            <button
              type="button"
              class="link"
              aria-label={`Show message: ${m.body.slice(0, 40)}`}
              onClick={() => {
                props.onClose();
                // After the dialog has handed the focus back.
                setTimeout(() => props.onShow(m.seq), 0);
              }}
            >
              Show
            </button>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
