// The live connection: protocol v1 over one WebSocket, as a state machine
// (disconnected -> connecting -> connected, closed when stopped) with:
//  - reconnect with exponential backoff and full jitter, capped, reset once a
//    connection has subscribed;
//  - a fresh ticket per connection, and `auth` with a new token before the
//    connection's token expires;
//  - resume: every conversation is resubscribed with `since` = the highest seq
//    delivered, and each conversation's messages reach the app once, in seq
//    order: duplicates are dropped, later seqs are held while a gap is filled
//    from REST (a truncated replay, a missed event), and a rewound
//    conversation (server restored from a backup) drops what came after.
// Time, randomness and the WebSocket are injected so tests can cut the
// network and jump time.
import { jsonCodec, type Codec } from "./codec.js";
import { ParleyError } from "./errors.js";
import type { ConnectionState, Message, Reply, ServerEvent, SubscribeResult } from "./types.js";

/** The part of the WebSocket API used here (browsers' WebSocket, or the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketCtor = new (url: string, protocols: string | string[]) => WebSocketLike;

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

export interface LiveOptions {
  wsUrl: (path: string) => string;
  WebSocket: WebSocketCtor;
  /** The frame encoding (default JSON, parley.v1). */
  codec?: Codec;
  timers: Timers;
  /** A single-use ticket URL path ("/ws?ticket=..."). */
  ticket(): Promise<string>;
  accessToken(): Promise<string>;
  tokenExpiresAt(): number;
  /** Messages after seq, ascending (REST), to fill a gap. */
  messagesAfter(conv: string, seq: number): Promise<Message[]>;
  backoffMinMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  reauthMarginMs: number;
  onState(next: ConnectionState, previous: ConnectionState): void;
  onEvent(event: ServerEvent): void;
  /** Each conversation's messages, once, in seq order. */
  onMessage(message: Message): void;
  onRewound(conv: string, lastSeq: number): void;
  onSubscribed(): void;
  /** The login is gone: stop for good. */
  onUnauthorized(reason: string): void;
  onError(error: unknown): void;
}

interface Timeline {
  cursor: number | null; // highest seq delivered in order; null until known
  pending: Map<number, Message>;
  filling: boolean;
}

interface PendingRequest {
  resolve(result: Record<string, unknown>): void;
  reject(error: unknown): void;
  timer: unknown;
}

const OPEN = 1;
const SUBSCRIBE_BATCH = 100;

export class LiveConnection {
  private ws: WebSocketLike | null = null;
  private stateValue: ConnectionState = "disconnected";
  private attempt = 0;
  private retryTimer: unknown = null;
  private reauthTimer: unknown = null;
  private nextId = 1;
  private requests = new Map<string, PendingRequest>();
  private timelines = new Map<string, Timeline>();
  private stopped = true;
  private generation = 0;

  constructor(private readonly o: LiveOptions) {}

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Starts connecting (and keeps reconnecting until stop()). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (logout); start() again to resume. */
  stop(): void {
    this.stopped = true;
    this.o.timers.clearTimeout(this.retryTimer);
    this.o.timers.clearTimeout(this.reauthTimer);
    this.retryTimer = this.reauthTimer = null;
    this.generation++;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, "bye");
    this.failRequests(ParleyError.network("connection closed"));
    this.setState("closed");
  }

  /** The network came back (browser `online`): reconnect now, not after the backoff. */
  nudge(): void {
    if (this.stopped || this.stateValue !== "disconnected") return;
    this.o.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    this.connect();
  }

  /** Drops the connection as a network failure would (tests, "offline" toggles). */
  drop(): void {
    this.ws?.close(4000, "dropped by client");
  }

  /** Follows a conversation from seq `since` (messages after it are delivered), or from now. */
  follow(conv: string, since: number | null): void {
    let t = this.timelines.get(conv);
    if (!t) {
      t = { cursor: since, pending: new Map(), filling: false };
      this.timelines.set(conv, t);
      if (this.stateValue === "connected") void this.subscribe([conv]).catch((e) => this.o.onError(e));
    } else if (since !== null && (t.cursor === null || since > t.cursor)) {
      t.cursor = since;
    }
  }

  unfollow(conv: string): void {
    if (!this.timelines.delete(conv)) return;
    if (this.stateValue === "connected") void this.request("unsubscribe", { conversations: [conv] }).catch(() => {});
  }

  /** The highest seq delivered for conv (null: not known yet). */
  cursor(conv: string): number | null {
    return this.timelines.get(conv)?.cursor ?? null;
  }

  /** Sends a request; resolves with its result, rejects with a ParleyError. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.stateValue !== "connected" && op !== "subscribe") {
      return Promise.reject(ParleyError.network("not connected"));
    }
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = this.o.timers.setTimeout(() => {
        this.requests.delete(id);
        reject(ParleyError.network(`no reply to ${op} within ${this.o.requestTimeoutMs} ms`));
      }, this.o.requestTimeoutMs);
      this.requests.set(id, { resolve, reject, timer });
      try {
        ws.send((this.o.codec ?? jsonCodec).encodeRequest(id, op, fields));
      } catch (e) {
        this.o.timers.clearTimeout(timer);
        this.requests.delete(id);
        reject(ParleyError.network(e instanceof Error ? e.message : String(e)));
      }
    });
  }

  private setState(next: ConnectionState): void {
    const previous = this.stateValue;
    if (previous === next) return;
    this.stateValue = next;
    this.o.onState(next, previous);
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setState("connecting");
    let path: string;
    try {
      path = await this.o.ticket();
    } catch (e) {
      if (generation !== this.generation) return;
      if (e instanceof ParleyError && (e.status === 401 || e.status === 403)) {
        this.o.onUnauthorized(e.detail || "unauthorized");
        this.stop();
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (generation !== this.generation || this.stopped) return;
    let ws: WebSocketLike;
    try {
      const codec = this.o.codec ?? jsonCodec;
      ws = new this.o.WebSocket(this.o.wsUrl(path), codec.subprotocol);
      if (codec.binaryType) ws.binaryType = codec.binaryType;
    } catch (e) {
      this.o.onError(e);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setState("connected");
      this.scheduleReauth();
      void this.subscribe([...this.timelines.keys()])
        .then(() => {
          if (this.ws !== ws) return;
          this.attempt = 0;
          this.o.onSubscribed();
        })
        .catch((e) => this.o.onError(e));
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onerror = () => {
      // onclose follows; nothing to do here.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.o.timers.clearTimeout(this.reauthTimer);
      this.failRequests(ParleyError.network(`connection closed (${ev.code})`));
      if (this.stopped) return;
      if (ev.code === 4003) {
        this.o.onUnauthorized(ev.reason || "forbidden");
        this.stop();
        return;
      }
      // 4009 (slow consumer / missed events): resubscribe at once.
      if (ev.code === 4009) this.attempt = 0;
      this.setState("disconnected");
      this.scheduleReconnect(ev.code === 4009);
    };
  }

  private scheduleReconnect(now = false): void {
    if (this.stopped) return;
    this.setState("disconnected");
    // Full jitter: uniform in [0, min(cap, base * 2^attempt)].
    const ceiling = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** this.attempt);
    const delay = now ? 0 : Math.floor(this.o.timers.random() * ceiling);
    this.attempt = Math.min(this.attempt + 1, 30);
    this.o.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.o.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) void this.connect();
    }, delay);
  }

  private scheduleReauth(expiresAtMs?: number): void {
    this.o.timers.clearTimeout(this.reauthTimer);
    const at = expiresAtMs ?? this.o.tokenExpiresAt();
    const wait = Math.max(1000, at - this.o.reauthMarginMs - this.o.timers.now());
    this.reauthTimer = this.o.timers.setTimeout(async () => {
      try {
        const token = await this.o.accessToken();
        const result = await this.request("auth", { token });
        this.scheduleReauth(Number(result.expires_at) * 1000);
      } catch (e) {
        if (e instanceof ParleyError && e.status === 401) {
          this.o.onUnauthorized(e.detail);
          this.stop();
        }
        // Otherwise the connection drops at expiry and reconnects with a ticket.
      }
    }, wait);
  }

  private async subscribe(convs: string[]): Promise<void> {
    for (let i = 0; i < convs.length; i += SUBSCRIBE_BATCH) {
      const batch = convs.slice(i, i + SUBSCRIBE_BATCH);
      const conversations = batch.map((conv) => {
        const cursor = this.timelines.get(conv)?.cursor;
        return cursor === null || cursor === undefined ? { conv } : { conv, since: cursor };
      });
      const result = (await this.request("subscribe", { conversations })) as unknown as SubscribeResult;
      for (const s of result.subscribed) this.subscribed(s.conv, s.last_seq, s.rewound);
      for (const e of result.errors) {
        this.timelines.delete(e.conv);
        this.o.onError(new ParleyError(404, e.code, `cannot follow conversation ${e.conv}: ${e.code}`));
      }
    }
  }

  private subscribed(conv: string, lastSeq: number, rewound: boolean): void {
    const t = this.timelines.get(conv);
    if (!t) return;
    if (rewound && t.cursor !== null && t.cursor > lastSeq) {
      t.cursor = lastSeq;
      for (const seq of [...t.pending.keys()]) if (seq > lastSeq) t.pending.delete(seq);
      this.o.onRewound(conv, lastSeq);
    }
    if (t.cursor === null) {
      // Live from now: what is held past lastSeq follows; the rest is history.
      t.cursor = lastSeq;
      for (const seq of [...t.pending.keys()]) if (seq <= lastSeq) t.pending.delete(seq);
    }
    this.drain(t);
    // A replay that ended short of lastSeq (truncated, or events lost): fill it.
    if (t.cursor !== null && t.cursor < lastSeq && t.pending.size === 0) {
      void this.fill(conv, t, lastSeq);
    } else if (t.pending.size > 0) {
      void this.fill(conv, t);
    }
  }

  private receive(data: unknown): void {
    const frame = (this.o.codec ?? jsonCodec).decode(data);
    if (!frame) return;
    if ("id" in frame && "ok" in frame) {
      const reply = frame as unknown as Reply;
      const key = String(reply.id);
      const pending = this.requests.get(key);
      if (!pending) return;
      this.requests.delete(key);
      this.o.timers.clearTimeout(pending.timer);
      if (reply.ok) pending.resolve(reply.result ?? {});
      else pending.reject(ParleyError.fromReply(reply.error));
      return;
    }
    if (typeof frame.type !== "string") return;
    const event = frame as unknown as ServerEvent;
    if (event.type === "message.new") {
      this.deliver(event.message);
      return;
    }
    this.o.onEvent(event);
  }

  private deliver(message: Message): void {
    const conv = message.conversation_id;
    const t = this.timelines.get(conv);
    if (!t) return;
    if (t.cursor !== null && message.seq <= t.cursor) return; // seen
    t.pending.set(message.seq, message);
    if (t.cursor === null) return; // until the subscribe result says where we are
    this.drain(t);
    if (t.pending.size > 0) void this.fill(conv, t);
  }

  private drain(t: Timeline): void {
    if (t.cursor === null) return;
    for (;;) {
      const next = t.pending.get(t.cursor + 1);
      if (!next) break;
      t.pending.delete(t.cursor + 1);
      t.cursor += 1;
      this.o.onMessage(next);
    }
    for (const seq of [...t.pending.keys()]) if (seq <= t.cursor) t.pending.delete(seq);
  }

  // Reads the gap after the cursor from REST until what is held connects (or
  // until `upTo`, the newest seq the server reported).
  private async fill(conv: string, t: Timeline, upTo?: number): Promise<void> {
    if (t.filling) return;
    t.filling = true;
    try {
      while (t.cursor !== null && this.timelines.get(conv) === t) {
        const target = t.pending.size ? Math.min(...t.pending.keys()) - 1 : upTo ?? t.cursor;
        if (t.cursor >= target) break;
        const page = await this.o.messagesAfter(conv, t.cursor);
        if (page.length === 0) {
          // Nothing more to read: let what is held through rather than stall.
          if (t.pending.size) t.cursor = Math.min(...t.pending.keys()) - 1;
          this.drain(t);
          break;
        }
        for (const m of page) if (m.seq > t.cursor) t.pending.set(m.seq, m);
        this.drain(t);
      }
    } catch (e) {
      this.o.onError(e);
      // Retried on the next event or resubscription.
    } finally {
      t.filling = false;
    }
  }

  private failRequests(error: ParleyError): void {
    for (const [, p] of this.requests) {
      this.o.timers.clearTimeout(p.timer);
      p.reject(error);
    }
    this.requests.clear();
  }
}
