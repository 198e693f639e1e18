import type { Message, OutboxItem, Reacted, User } from "@parley/sdk";
import { useEffect } from "preact/hooks";
import { MessageComposer, type Mentionable } from "./MessageComposer";
import { MessageList } from "./MessageList";

/** A thread beside the conversation: its root, its replies, and a reply composer. Escape closes it. */
export function ThreadPanel(props: {
  conv: string;
  title: string;
  root: Message;
  replies: Message[];
  pending: OutboxItem[];
  me: User;
  names: Record<string, string>;
  canModerate: boolean;
  onError(text: string): void;
  onReacted(seq: number, r: Reacted): void;
  onClose(): void;
  members: Mentionable[];
  usernames: Record<string, string>;
  canMentionAll: boolean;
}) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) props.onClose();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [props.onClose]);
  const n = props.replies.filter((m) => !m.deleted).length;
  return (
    <aside class="thread-panel" aria-labelledby="thread-title" data-testid="thread-panel">
      <div class="thread-head">
        <h2 id="thread-title">Thread</h2>
        <span class="hint">
          {n} {n === 1 ? "reply" : "replies"}
        </span>
        <button type="button" onClick={props.onClose} aria-label="Close thread">
          Close
        </button>
      </div>
      <MessageList
        messages={[props.root, ...props.replies]}
        pending={props.pending}
        me={props.me}
        names={props.names}
        hasMore={false}
        loadingOlder={false}
        onLoadOlder={() => {}}
        canModerate={props.canModerate}
        onError={props.onError}
        onReacted={props.onReacted}
        label="Thread messages"
        usernames={props.usernames}
      />
      <MessageComposer conv={props.conv} title={props.title} replyTo={props.root.seq} autoFocus members={props.members} canMentionAll={props.canMentionAll} />
    </aside>
  );
}
