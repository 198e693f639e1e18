import type { Message, OutboxItem, Reacted, User } from "@parley/sdk";
import { useEffect, useRef, useState } from "preact/hooks";
import { client } from "../client";
import { formatTime, problemText } from "../hooks";
import { useStickToBottom } from "./ConversationView";
import { Dialog } from "./Dialog";
import { Linkified } from "./Linkified";
import { PollCard } from "./PollCard";

// The picker's choices, with the names screen readers say.
const PICKER: [string, string][] = [
  ["👍", "Thumbs up"],
  ["❤️", "Heart"],
  ["😂", "Laughing"],
  ["🎉", "Party"],
  ["😮", "Surprised"],
  ["😢", "Sad"],
  ["👀", "Eyes"],
  ["✅", "Done"],
];

export function MessageList(props: {
  messages: Message[];
  pending: OutboxItem[];
  me: User;
  names: Record<string, string>;
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder(): void;
  canModerate: boolean;
  onError(text: string): void;
  onReacted(seq: number, r: Reacted): void;
  /** The conversation's list has a Reply action and reply counts; a thread's has neither. */
  onOpenThread?(root: number): void;
  label?: string;
  /** user id -> username, to mark the @mentions in bodies. */
  usernames?: Record<string, string>;
  /** Pin actions, where the member may pin. */
  onPin?(m: Message, pinned: boolean): void;
}) {
  const { ref, onScroll } = useStickToBottom(props.messages.length + props.pending.length);
  const sentinel = useRef<HTMLLIElement>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Message | null>(null);
  const [picking, setPicking] = useState<Message | null>(null);
  const [reporting, setReporting] = useState<Message | null>(null);

  const toggle = async (m: Message, reaction: string, on: boolean) => {
    try {
      const r = on ? await client.react(m.conversation_id, m.seq, reaction) : await client.unreact(m.conversation_id, m.seq, reaction);
      props.onReacted(m.seq, r);
    } catch (e) {
      props.onError(problemText(e));
    }
  };

  // Scrolling to the top loads older messages.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !props.hasMore || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) props.onLoadOlder();
    }, { root: ref.current });
    io.observe(el);
    return () => io.disconnect();
  }, [props.hasMore, props.onLoadOlder]);

  return (
    <div class="messages" ref={ref} onScroll={onScroll} tabIndex={0} aria-label={props.label ?? "Messages"}>
      <ol class="message-list">
        {props.hasMore && (
          <li ref={sentinel} class="older">
            <button type="button" onClick={props.onLoadOlder} disabled={props.loadingOlder}>
              {props.loadingOlder ? "Loading…" : "Load older messages"}
            </button>
          </li>
        )}
        {props.messages.map((m) => {
          const mine = m.sender_id === props.me.id;
          const name = mine ? "You" : props.names[m.sender_id] ?? "Unknown";
          const replies = m.thread?.reply_count ?? 0;
          const mentioned = mentionTokens(m, props.usernames ?? {});
          const mentionsMe = !mine && !!m.mentions && (m.mentions.all || m.mentions.here || (m.mentions.user_ids ?? []).includes(props.me.id));
          const open = props.onOpenThread;
          return (
            <li key={m.seq} id={props.onOpenThread ? `message-${m.seq}` : undefined} tabIndex={-1} class={`message ${mine ? "mine" : ""} ${mentionsMe ? "mentions-me" : ""}`} data-testid="message" data-seq={m.seq}>
              <div class="meta">
                <span class="sender">{name}</span> <time dateTime={new Date(m.created_at).toISOString()}>{formatTime(m.created_at)}</time>
                {m.edited_at && !m.deleted && <span class="edited"> (edited)</span>}
                {mentionsMe && !m.deleted && <span class="mentions-you"> mentions you</span>}
                {m.pinned && !m.deleted && <span class="pinned-mark"> · pinned</span>}
                {open && m.reply_to ? (
                  <>
                    {" "}
                    <button type="button" class="link in-thread" onClick={() => open(m.reply_to!)}>
                      replied in a thread
                    </button>
                  </>
                ) : null}
              </div>
              {m.deleted ? (
                <p class="body deleted">Message deleted</p>
              ) : m.poll ? (
                <PollCard message={m} me={props.me} canModerate={props.canModerate} onError={props.onError} />
              ) : editing === m.seq ? (
                <EditForm message={m} onDone={() => setEditing(null)} onError={props.onError} />
              ) : (
                <p class="body" data-testid="message-body">
                  <Linkified text={m.body} highlight={mentioned} />
                </p>
              )}
              {!m.deleted && (m.reactions?.length ?? 0) > 0 && (
                <ul class="reactions" aria-label="Reactions">
                  {m.reactions!.map((r) => (
                    <li key={r.reaction}>
                      <button
                        type="button"
                        class={`reaction ${r.me ? "mine" : ""}`}
                        aria-pressed={r.me}
                        aria-label={`${r.reaction}: ${r.count} ${r.count === 1 ? "person" : "people"}${r.me ? ", including you" : ""}`}
                        onClick={() => void toggle(m, r.reaction, !r.me)}
                      >
                        {r.reaction} <span class="count">{r.count}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              )}
              {open && !m.reply_to && replies > 0 && (
                <button type="button" class="link thread-count" data-testid="thread-count" onClick={() => open(m.seq)}>
                  {replies} {replies === 1 ? "reply" : "replies"}
                </button>
              )}
              {!m.deleted && editing !== m.seq && (
                <div class="actions">
                  {open && (
                    <button type="button" class="link" onClick={() => open(m.reply_to ?? m.seq)} aria-label={`Reply in thread: ${m.body.slice(0, 40)}`}>
                      Reply
                    </button>
                  )}
                  <button type="button" class="link" onClick={() => setPicking(m)} aria-label={`React to message: ${m.body.slice(0, 40)}`}>
                    React
                  </button>
                  {props.onPin && (
                    <button type="button" class="link" onClick={() => props.onPin!(m, !m.pinned)} aria-label={`${m.pinned ? "Unpin" : "Pin"} message: ${m.body.slice(0, 40)}`}>
                      {m.pinned ? "Unpin" : "Pin"}
                    </button>
                  )}
                  {mine && !m.poll && (
                    <button type="button" class="link" onClick={() => setEditing(m.seq)} aria-label={`Edit message: ${m.body.slice(0, 40)}`}>
                      Edit
                    </button>
                  )}
                  {!mine && (
                    <button type="button" class="link" onClick={() => setReporting(m)} aria-label={`Report message: ${m.body.slice(0, 40)}`}>
                      Report
                    </button>
                  )}
                  {(mine || props.canModerate) && (
                    <button type="button" class="link" onClick={() => setDeleting(m)} aria-label={`Delete message: ${m.body.slice(0, 40)}`}>
                      Delete
                    </button>
                  )}
                </div>
              )}
            </li>
          );
        })}
        {props.pending.map((item) => (
          <li key={item.client_id} class={`message mine ${item.state}`} data-testid="pending-message">
            <div class="meta">
              <span class="sender">You</span> <span class="status">{item.state === "failed" ? "Not sent" : "Sending…"}</span>
            </div>
            <p class="body">
              <Linkified text={item.body} />
            </p>
            {item.state === "failed" && (
              <div class="actions">
                <span class="error">{item.error}</span>
                <button type="button" class="link" onClick={() => void client.retry(item.client_id)}>
                  Retry
                </button>
                <button type="button" class="link" onClick={() => void client.discard(item.client_id)}>
                  Discard
                </button>
              </div>
            )}
          </li>
        ))}
      </ol>
      {props.messages.length === 0 && props.pending.length === 0 && <p class="hint pad">No messages yet. Say hello!</p>}
      {picking && (
        <Dialog title="Add a reaction" onClose={() => setPicking(null)}>
          <ul class="reaction-picker">
            {PICKER.map(([emoji, name]) => (
              <li key={emoji}>
                <button
                  type="button"
                  aria-label={name}
                  onClick={() => {
                    const m = picking;
                    setPicking(null);
                    void toggle(m, emoji, true);
                  }}
                >
                  {emoji}
                </button>
              </li>
            ))}
          </ul>
          <div class="row">
            <button type="button" onClick={() => setPicking(null)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
      {reporting && <ReportDialog message={reporting} onDone={() => setReporting(null)} onError={props.onError} />}
      {deleting && (
        <Dialog title="Delete message" onClose={() => setDeleting(null)}>
          <p>Delete this message for everyone?</p>
          <blockquote>{deleting.body}</blockquote>
          <div class="row">
            <button
              type="button"
              class="danger"
              onClick={async () => {
                const m = deleting;
                setDeleting(null);
                try {
                  await client.deleteMessage(m.conversation_id, m.seq);
                } catch (e) {
                  props.onError(problemText(e));
                }
              }}
            >
              Delete
            </button>
            <button type="button" onClick={() => setDeleting(null)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

function EditForm(props: { message: Message; onDone(): void; onError(text: string): void }) {
  const [text, setText] = useState(props.message.body);
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => input.current?.focus(), []);
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      if (text.trim() && text !== props.message.body) await client.edit(props.message.conversation_id, props.message.seq, text);
      props.onDone();
    } catch (err) {
      props.onError(problemText(err));
    }
  };
  return (
    <form class="edit" onSubmit={save}>
      <label class="visually-hidden" for={`edit-${props.message.seq}`}>
        Edit message
      </label>
      <textarea
        id={`edit-${props.message.seq}`}
        ref={input}
        value={text}
        rows={2}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") props.onDone();
          if (e.key === "Enter" && !e.shiftKey) void save(e);
        }}
      />
      <div class="row">
        <button type="submit" class="primary">
          Save
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The "@name" tokens a message's mentions stand for. */
function mentionTokens(m: Message, usernames: Record<string, string>): string[] {
  if (!m.mentions) return [];
  const out = (m.mentions.user_ids ?? []).flatMap((id) => (usernames[id] ? [`@${usernames[id]}`] : []));
  if (m.mentions.all) out.push("@all");
  if (m.mentions.here) out.push("@here");
  return out;
}

/** Reports a message to the server's admins, with a reason. */
function ReportDialog(props: { message: Message; onDone(): void; onError(text: string): void }) {
  const [reason, setReason] = useState("");
  const [sent, setSent] = useState(false);
  const m = props.message;
  return (
    <Dialog title="Report message" onClose={props.onDone}>
      {sent ? (
        <>
          <p role="status">Thank you. The administrators will look at it.</p>
          <div class="row">
            <button type="button" onClick={props.onDone}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form
          class="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await client.api("post", "/api/conversations/{id}/messages/{seq}/reports", {
                path: { id: m.conversation_id, seq: m.seq },
                body: { reason: reason.trim() },
              });
              setSent(true);
            } catch (err) {
              props.onDone();
              props.onError(problemText(err));
            }
          }}
        >
          <blockquote>{m.body}</blockquote>
          <label>
            What is wrong with it?
            <input value={reason} maxLength={1000} required onInput={(e) => setReason(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button type="submit" class="danger" disabled={!reason.trim()}>
              Report
            </button>
            <button type="button" onClick={props.onDone}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
