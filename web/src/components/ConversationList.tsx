import type { Conversation, User } from "@parley/sdk";
import { formatTime } from "../hooks";
import { onLinkClick } from "../router";

/** names holds user id -> display name, and "peer:<conversation id>" -> the other user of a direct one. */
export function conversationTitle(c: Conversation, names: Record<string, string>): string {
  if (c.title) return c.title;
  if (c.kind === "direct") {
    const peer = names[`peer:${c.id}`];
    return (peer && names[peer]) || "Direct message";
  }
  return "Untitled";
}

export function ConversationList(props: { conversations: Conversation[]; currentId: string | null; me: User; names: Record<string, string> }) {
  if (!props.conversations.length) return <p class="hint pad">No conversations yet.</p>;
  return (
    <ul class="conversations">
      {props.conversations.map((c) => {
        const title = conversationTitle(c, props.names);
        const unread = c.unread ?? 0;
        const last = c.last_message;
        const preview = last ? (last.deleted ? "Message deleted" : last.body) : "No messages yet";
        return (
          <li key={c.id}>
            <a
              href={`/c/${c.id}`}
              onClick={onLinkClick({ name: "conversation", id: c.id })}
              aria-current={props.currentId === c.id ? "page" : undefined}
              class={unread ? "unread" : ""}
              data-testid="conversation-link"
            >
              <span class="conv-title">{title}</span>
              {(c.unread_mentions ?? 0) > 0 && (
                <span class="badge mention-badge" aria-label={`${c.unread_mentions} ${c.unread_mentions === 1 ? "mention" : "mentions"}`}>
                  @{c.unread_mentions}
                </span>
              )}
              {unread > 0 && (
                <span class="badge" aria-label={`${unread} unread`}>
                  {unread}
                </span>
              )}
              <span class="conv-preview">{preview}</span>
              {last && <span class="conv-time">{formatTime(last.created_at)}</span>}
            </a>
          </li>
        );
      })}
    </ul>
  );
}
