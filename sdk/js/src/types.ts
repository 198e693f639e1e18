// Every type the SDK hands out. REST shapes come from the generated
// docs/openapi.yaml types (src/generated/openapi.ts, made by `npm run
// generate`); protocol events are one discriminated union keyed by `type`,
// as docs/protocol.md lists them.
import type { components, paths } from "./generated/openapi.js";

export type { paths, components };
export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type AdminUser = Schemas["AdminUser"];
export type Session = Schemas["Session"];
export type Conversation = Schemas["Conversation"];
export type Member = Schemas["Member"];
export type Message = Schemas["Message"];
export type Problem = Schemas["Problem"];
export type ReactionCount = Schemas["ReactionCount"];
export type Reacted = Schemas["Reacted"];
export type ThreadSummary = Schemas["ThreadSummary"];
export type Mentions = Schemas["Mentions"];
export type Poll = Schemas["Poll"];
export type Report = Schemas["Report"];
export type Ban = Schemas["Ban"];
/** A poll to send with `send(conv, question, { poll })`. */
export interface PollInput { options: string[]; max_votes?: number; anonymous?: boolean; open_options?: boolean; closes_at?: number }
/** A thread as GET .../messages/{seq}/thread returns it: the root and a page of replies. */
export type ThreadPage = paths["/api/conversations/{id}/messages/{seq}/thread"]["get"]["responses"]["200"]["content"]["application/json"];

/** Live connection states; everything a UI shows (offline, reconnecting) derives from it. */
export type ConnectionState = "disconnected" | "connecting" | "connected" | "closed";

export interface MessageNewEvent { type: "message.new"; conv: string; seq: number; message: Message }
export interface MessageUpdatedEvent { type: "message.updated"; conv: string; seq: number; message: Message }
export interface MessageDeletedEvent { type: "message.deleted"; conv: string; seq: number; message: Message }
export interface ReadEvent { type: "read"; conv: string; user_id: string; seq: number }
export interface MemberJoinedEvent { type: "member.joined"; conv: string; user_id: string; role: string }
export interface MemberLeftEvent { type: "member.left"; conv: string; user_id: string }
export interface ConversationUpdatedEvent { type: "conversation.updated"; conv: string; conversation: Partial<Conversation> }
export interface TypingEvent { type: "typing"; conv: string; user_id: string; expires_in_ms: number }
/** To every connection of a user who became a member (created with them, or added), subscribed or not. */
export interface ConversationAddedEvent { type: "conversation.added"; conv: string; role: string }
export interface PresenceEvent { type: "presence"; conv: string; user_id: string; status: "online" | "offline"; last_seen?: number }
/** A member added or removed a reaction; count: users with it now. */
export interface ReactionEvent {
  type: "reaction";
  conv: string;
  seq: number;
  reaction: string;
  user_id: string;
  action: "added" | "removed";
  count: number;
}

/** A message mentions me (by id, or all / here), in any conversation, followed or not. */
export interface MentionEvent {
  type: "mention";
  conv: string;
  seq: number;
  sender_id: string;
  kind: "user" | "all" | "here";
  reply_to?: number;
}

/** A poll's results changed; coalesced under load, the last one is the state. */
export interface PollEvent { type: "poll"; conv: string; poll: Partial<Poll> & Pick<Poll, "seq" | "options" | "voters" | "closed"> }

/** A member's devices have received up to seq (conversations up to limits.receipts_max_members). */
export interface DeliveredEvent { type: "delivered"; conv: string; user_id: string; seq: number }

/** A member pinned or unpinned a message. */
export interface PinEvent { type: "pin"; conv: string; seq: number; user_id: string; pinned: boolean }

/** A server event of protocol v1. */
export type ServerEvent =
  | MessageNewEvent
  | MessageUpdatedEvent
  | MessageDeletedEvent
  | ReadEvent
  | MemberJoinedEvent
  | MemberLeftEvent
  | ConversationUpdatedEvent
  | TypingEvent
  | PresenceEvent
  | ReactionEvent
  | MentionEvent
  | PinEvent
  | PollEvent
  | DeliveredEvent
  | ConversationAddedEvent;

export interface ReplyError { code: string; status: number; message: string }
export type Reply =
  | { id: string | number; ok: true; result: Record<string, unknown> }
  | { id: string | number; ok: false; error: ReplyError };

export interface SubscribeResult {
  subscribed: { conv: string; last_seq: number; replayed: number; truncated: boolean; rewound: boolean }[];
  errors: { conv: string; code: string }[];
}
/** reply_to: for a reply, the seq of its thread's root. */
export interface SendAck { message_id: string; conv: string; seq: number; ts: number; duplicate: boolean; reply_to?: number }
export interface PresenceEntry { user_id: string; status: "online" | "offline"; last_seen?: number }

/** A send kept until the server acknowledges it (the offline outbox). */
export interface OutboxItem {
  client_id: string;
  conv: string;
  body: string;
  created_at: number;
  /** A reply: the seq it answers; broadcast: also shown in the conversation. */
  reply_to?: number;
  broadcast?: boolean;
  mentions?: Partial<Mentions>;
  poll?: PollInput;
  /** pending: will be (re)sent; failed: the server refused it for good (see error). */
  state: "pending" | "failed";
  error?: string;
}

/** What the client emits; listeners are typed by event name. */
export interface ClientEvents {
  state: (next: ConnectionState, previous: ConnectionState) => void;
  /** A message the app has not seen, in seq order per conversation, each once. */
  message: (message: Message) => void;
  "message.updated": (message: Message) => void;
  "message.deleted": (message: Message) => void;
  /** The server was restored from a backup: drop what you hold after lastSeq. */
  rewound: (conv: string, lastSeq: number) => void;
  read: (event: ReadEvent) => void;
  typing: (event: TypingEvent) => void;
  presence: (event: PresenceEvent) => void;
  /** A reaction on a message changed (not replayed after a disconnect: re-read the messages shown). */
  reaction: (event: ReactionEvent) => void;
  /** A message mentions me; its message comes as a `message` event where I follow the conversation. */
  mention: (event: MentionEvent) => void;
  pin: (event: PinEvent) => void;
  poll: (event: PollEvent) => void;
  delivered: (event: DeliveredEvent) => void;
  "member.joined": (event: MemberJoinedEvent) => void;
  "member.left": (event: MemberLeftEvent) => void;
  "conversation.updated": (event: ConversationUpdatedEvent) => void;
  /** I became a member of a conversation (list it; follow() it to get its messages). */
  "conversation.added": (event: ConversationAddedEvent) => void;
  /** Any event of the protocol, as received. */
  event: (event: ServerEvent) => void;
  /** The outbox changed (a send was queued, acknowledged or refused). */
  outbox: (items: OutboxItem[]) => void;
  sent: (item: OutboxItem, ack: SendAck) => void;
  "send.failed": (item: OutboxItem) => void;
  /** The login ended: logged out, revoked elsewhere, or the account was disabled. */
  "session.ended": (reason: string) => void;
  /** A new access token (after login, register or refresh). */
  session: (user: User) => void;
  error: (error: unknown) => void;
}
