// The Protocol Buffers encoding of protocol v1 (subprotocol parley.v1.proto,
// proto/parley/v1/protocol.proto), as a Codec: requests are written from the
// JSON shapes the SDK uses, and replies and events are read back into them,
// so choosing it changes the bytes on the wire and nothing else.
//   import { protobufCodec } from "@parley/sdk/proto";
//   new ParleyClient({ codec: protobufCodec });
// The message classes are generated from the .proto with protoc-gen-es
// (npm run generate); the runtime is @bufbuild/protobuf.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { Codec } from "./codec.js";
import {
  RequestSchema,
  ServerMessageSchema,
  type Conversation as PbConversation,
  type Event as PbEvent,
  type Message as PbMessage,
  type Reply as PbReply,
} from "./generated/parley/v1/protocol_pb.js";

type Json = Record<string, unknown>;

const big = (id: unknown): bigint => (typeof id === "string" && /^\d+$/.test(id) ? BigInt(id) : 0n);
const num = (v: unknown): bigint => BigInt(typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");
const ids = (v: unknown): bigint[] => (Array.isArray(v) ? v.map(big) : []);

/** The Request for an op and its JSON fields. */
export function encodeRequest(id: string | number, op: string, f: Json): Uint8Array {
  const conv = big(f.conv);
  let value: MessageInitShape<typeof RequestSchema>["op"];
  switch (op) {
    case "auth":
      value = { case: "auth", value: { token: str(f.token) } };
      break;
    case "subscribe":
      value = {
        case: "subscribe",
        value: {
          conversations: (Array.isArray(f.conversations) ? (f.conversations as Json[]) : []).map((e) => ({
            conv: big(e.conv),
            ...(typeof e.since === "number" ? { since: num(e.since) } : {}),
          })),
        },
      };
      break;
    case "unsubscribe":
      value = { case: "unsubscribe", value: { conversations: ids(f.conversations) } };
      break;
    case "send":
      value = {
        case: "send",
        value: {
          conv,
          clientId: str(f.client_id),
          body: str(f.body),
          replyTo: typeof f.reply_to === "number" ? num(f.reply_to) : 0n,
          broadcast: f.broadcast === true,
          ...(f.mentions && typeof f.mentions === "object" ? { mentions: mentionsIn(f.mentions as Json) } : {}),
          ...(f.poll && typeof f.poll === "object" ? { poll: pollIn(f.poll as Json) } : {}),
        },
      };
      break;
    case "edit":
      value = { case: "edit", value: { conv, seq: num(f.seq), body: str(f.body) } };
      break;
    case "delete":
      value = { case: "delete", value: { conv, seq: num(f.seq) } };
      break;
    case "read":
      value = { case: "read", value: { conv, seq: num(f.seq) } };
      break;
    case "typing":
      value = { case: "typing", value: { conv } };
      break;
    case "presence":
      value = { case: "presence", value: { users: ids(f.users) } };
      break;
    case "ping":
      value = { case: "ping", value: {} };
      break;
    case "react":
      value = { case: "react", value: { conv, seq: num(f.seq), reaction: str(f.reaction), remove: f.remove === true } };
      break;
    case "delivered":
      value = { case: "delivered", value: { conv, seq: num(f.seq) } };
      break;
    default:
      value = { case: undefined }; // the server answers "unknown op"
  }
  const msg = create(RequestSchema, {
    id: typeof id === "number" ? { case: "idNumber", value: BigInt(id) } : { case: "idString", value: id },
    op: value,
  });
  return toBinary(RequestSchema, msg);
}

const idOut = (v: bigint): string => v.toString();
const n = (v: bigint): number => Number(v);

function message(m: PbMessage | undefined): Json {
  if (!m) return {};
  return {
    id: idOut(m.id),
    conversation_id: idOut(m.conversationId),
    seq: n(m.seq),
    sender_id: idOut(m.senderId),
    client_id: m.clientId,
    body: m.body,
    created_at: n(m.createdAt),
    edited_at: m.editedAt === undefined ? null : n(m.editedAt),
    deleted: m.deleted,
    deleted_at: m.deletedAt === undefined ? null : n(m.deletedAt),
    ...(m.replyTo ? { reply_to: n(m.replyTo), broadcast: m.broadcast } : {}),
    ...(m.poll ? { poll: JSON.parse(m.poll) as Json } : {}),
    ...(m.mentions ? { mentions: { user_ids: m.mentions.userIds.map(idOut), here: m.mentions.here, all: m.mentions.all } } : {}),
  };
}

function pollIn(j: Json) {
  return {
    options: Array.isArray(j.options) ? (j.options as unknown[]).map(str) : [],
    maxVotes: typeof j.max_votes === "number" ? num(j.max_votes) : 1n,
    anonymous: j.anonymous === true,
    openOptions: j.open_options === true,
    closesAt: typeof j.closes_at === "number" ? num(j.closes_at) : 0n,
  };
}

function mentionsIn(j: Json) {
  return { userIds: ids(j.user_ids), here: j.here === true, all: j.all === true };
}

function conversation(c: PbConversation | undefined): Json {
  if (!c) return {};
  return {
    id: idOut(c.id),
    kind: c.kind,
    title: c.title,
    created_by: idOut(c.createdBy),
    created_at: n(c.createdAt),
    updated_at: n(c.updatedAt),
    last_seq: n(c.lastSeq),
    activity_at: n(c.activityAt),
    ...(c.pinRole ? { pin_role: c.pinRole } : {}),
  };
}

/** An Event in its JSON shape (docs/protocol.md), or null for a type this SDK does not know. */
export function eventJson(e: PbEvent): Json | null {
  const conv = idOut(e.conv);
  const t = e.type;
  switch (t.case) {
    case "messageNew":
      return { type: "message.new", conv, seq: n(t.value.seq), message: message(t.value.message) };
    case "messageUpdated":
      return { type: "message.updated", conv, seq: n(t.value.seq), message: message(t.value.message) };
    case "messageDeleted":
      return { type: "message.deleted", conv, seq: n(t.value.seq), message: message(t.value.message) };
    case "read":
      return { type: "read", conv, user_id: idOut(t.value.userId), seq: n(t.value.seq) };
    case "memberJoined":
      return { type: "member.joined", conv, user_id: idOut(t.value.userId), role: t.value.role };
    case "memberLeft":
      return { type: "member.left", conv, user_id: idOut(t.value.userId) };
    case "conversationUpdated":
      return { type: "conversation.updated", conv, conversation: conversation(t.value.conversation) };
    case "typing":
      return { type: "typing", conv, user_id: idOut(t.value.userId), expires_in_ms: n(t.value.expiresInMs) };
    case "conversationAdded":
      return { type: "conversation.added", conv, role: t.value.role };
    case "presence": {
      const o: Json = { type: "presence", user_id: idOut(t.value.userId), status: t.value.online ? "online" : "offline", conv };
      if (t.value.lastSeen !== undefined) o.last_seen = n(t.value.lastSeen);
      return o;
    }
    case "delivered":
      return { type: "delivered", conv, user_id: idOut(t.value.userId), seq: n(t.value.seq) };
    case "poll":
      return {
        type: "poll",
        conv,
        poll: {
          seq: n(t.value.seq),
          options: t.value.options.map((o) => ({ id: n(o.id), text: o.text, votes: n(o.votes) })),
          voters: n(t.value.voters),
          closed: t.value.closed,
        },
      };
    case "pin":
      return { type: "pin", conv, seq: n(t.value.seq), user_id: idOut(t.value.userId), pinned: t.value.pinned };
    case "mention": {
      const o: Json = { type: "mention", conv, seq: n(t.value.seq), sender_id: idOut(t.value.senderId), kind: t.value.kind };
      if (t.value.replyTo) o.reply_to = n(t.value.replyTo);
      return o;
    }
    case "reaction":
      return {
        type: "reaction",
        conv,
        seq: n(t.value.seq),
        reaction: t.value.reaction,
        user_id: idOut(t.value.userId),
        action: t.value.added ? "added" : "removed",
        count: n(t.value.count),
      };
    default:
      return null;
  }
}

/** A Reply in its JSON shape. */
export function replyJson(r: PbReply): Json {
  const id = r.id.case === "idNumber" ? n(r.id.value) : r.id.case === "idString" ? r.id.value : null;
  if (!r.ok) {
    return { id, ok: false, error: { code: r.error?.code ?? "", status: r.error?.status ?? 0, message: r.error?.message ?? "" } };
  }
  const x = r.result;
  let result: Json = {};
  switch (x.case) {
    case "auth":
      result = { user_id: idOut(x.value.userId), expires_at: n(x.value.expiresAt) };
      break;
    case "subscribe":
      result = {
        subscribed: x.value.subscribed.map((s) => ({
          conv: idOut(s.conv),
          last_seq: n(s.lastSeq),
          replayed: n(s.replayed),
          truncated: s.truncated,
          rewound: s.rewound,
        })),
        errors: x.value.errors.map((e) => ({ conv: idOut(e.conv), code: e.code })),
      };
      break;
    case "unsubscribe":
      result = { subscriptions: n(x.value.subscriptions) };
      break;
    case "send":
      result = {
        message_id: idOut(x.value.messageId),
        conv: idOut(x.value.conv),
        seq: n(x.value.seq),
        ts: n(x.value.ts),
        duplicate: x.value.duplicate,
        ...(x.value.replyTo ? { reply_to: n(x.value.replyTo) } : {}),
      };
      break;
    case "edit":
      result = { seq: n(x.value.seq), deleted: x.value.deleted };
      break;
    case "read":
      result = { last_read_seq: n(x.value.lastReadSeq), unread: n(x.value.unread) };
      break;
    case "typing":
      result = { throttled: x.value.throttled };
      break;
    case "presence":
      result = {
        users: x.value.users.map((u) => ({
          user_id: idOut(u.userId),
          status: u.online ? "online" : "offline",
          last_seen: u.lastSeen === undefined ? null : n(u.lastSeen),
        })),
      };
      break;
    case "ping":
      result = { ts: n(x.value.ts) };
      break;
    case "react":
      result = { seq: n(x.value.seq), reaction: x.value.reaction, count: n(x.value.count), me: x.value.me };
      break;
    case "delivered":
      result = { delivered_seq: n(x.value.deliveredSeq) };
      break;
    default:
      break;
  }
  return { id, ok: true, result };
}

/** One ServerMessage (the bytes of a binary frame) in its JSON shape. */
export function decodeServerMessage(bytes: Uint8Array): Json | null {
  const m = fromBinary(ServerMessageSchema, bytes);
  if (m.kind.case === "reply") return replyJson(m.kind.value);
  if (m.kind.case === "event") return eventJson(m.kind.value);
  return null;
}

function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data; // Node's Buffer too
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return null;
}

export const protobufCodec: Codec = {
  subprotocol: "parley.v1.proto",
  binaryType: "arraybuffer",
  encodeRequest: (id, op, fields) => encodeRequest(id, op, fields),
  decode(data) {
    const bytes = bytesOf(data);
    if (!bytes) return null;
    try {
      return decodeServerMessage(bytes);
    } catch {
      return null;
    }
  },
};
