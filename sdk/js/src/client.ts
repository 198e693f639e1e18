// ParleyClient: one object for an app or a bot. REST calls typed from
// docs/openapi.yaml, the login, the live connection with gapless resume, the
// offline outbox and the local cache.
import { Emitter } from "./emitter.js";
import { ParleyError } from "./errors.js";
import type { Codec } from "./codec.js";
import { LiveConnection, realTimers, type Timers, type WebSocketCtor } from "./live.js";
import { errorFrom, expandPath, parseBody, queryString, type CallOptions, type Method, type Op, type Response, type Transport } from "./rest.js";
import { SessionManager, type StoredTokens } from "./session.js";
import { IndexedDbStore, MemoryStore, type LocalStore } from "./store.js";
import type { ClientEvents, ConnectionState, Conversation, Member, Mentions, Message, OutboxItem, Poll, PollInput, Report, PresenceEntry, Reacted, SendAck, ThreadPage, User, paths } from "./types.js";

export interface ParleyClientOptions {
  /** http(s)://host[:port]; in a browser page, defaults to the page's origin. */
  baseUrl?: string;
  /**
   * "cookie": the refresh token lives in an HttpOnly cookie (browsers, same
   * origin; the default there). "token": kept by the SDK (Node; the default
   * elsewhere), see `tokens` and `onTokens`.
   */
  session?: "cookie" | "token";
  tokens?: StoredTokens;
  onTokens?: (tokens: StoredTokens | null) => void;
  /** WebSocket constructor; defaults to the global one (browsers, Node 22+). In Node 18/20 pass `ws`'s. */
  WebSocket?: WebSocketCtor;
  /**
   * The live connection's encoding: JSON (parley.v1) by default, or
   * `protobufCodec` from "@parley/sdk/proto" (parley.v1.proto: Protocol
   * Buffers, a third of the bytes). Events and results look the same either way.
   */
  codec?: Codec;
  fetch?: typeof fetch;
  /**
   * Where the outbox and cache live, per user. Defaults to IndexedDB
   * ("parley-<user id>") where there is one, memory elsewhere.
   */
  store?: (userId: string) => Promise<LocalStore>;
  timers?: Timers;
  backoff?: { minMs?: number; maxMs?: number };
  /** Messages kept in the local cache per conversation. */
  cacheMessages?: number;
  requestTimeoutMs?: number;
  /**
   * Tell the server what this device has received (delivery receipts), at
   * most once per conversation per `deliveryAckMs` (default 500 ms). On by default.
   */
  deliveryReceipts?: boolean;
  deliveryAckMs?: number;
}

type Listener<E extends keyof ClientEvents> = ClientEvents[E];

function defaultBaseUrl(): string {
  const loc = (globalThis as { location?: { origin?: string } }).location;
  if (loc?.origin && loc.origin !== "null") return loc.origin;
  throw new TypeError("ParleyClient needs baseUrl outside a browser page");
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class ParleyClient {
  readonly baseUrl: string;
  private readonly events = new Emitter<ClientEvents>();
  private readonly session: SessionManager;
  private readonly live: LiveConnection;
  private readonly fetchFn: Transport;
  private readonly storeFactory: (userId: string) => Promise<LocalStore>;
  private readonly cacheMessages: number;
  private local: LocalStore | null = null;
  private localFor: string | null = null;
  private outboxItems: OutboxItem[] = [];
  private inflight = new Set<string>();
  // Delivery receipts: the highest seq received per conversation, and what was acknowledged.
  private received = new Map<string, number>();
  private acked = new Map<string, number>();
  private ackTimer: unknown = null;
  private readonly timers: Timers;
  private readonly deliveryReceipts: boolean;
  private readonly deliveryAckMs: number;

  constructor(options: ParleyClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? defaultBaseUrl()).replace(/\/+$/, "");
    const timers = options.timers ?? realTimers;
    this.timers = timers;
    this.deliveryReceipts = options.deliveryReceipts ?? true;
    this.deliveryAckMs = options.deliveryAckMs ?? 500;
    const f = options.fetch ?? globalThis.fetch.bind(globalThis);
    const inBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined";
    const mode = options.session ?? (inBrowser ? "cookie" : "token");
    this.fetchFn = async (method, url, init) => {
      const req: RequestInit = { method, headers: init.headers, credentials: mode === "cookie" ? "same-origin" : "omit" };
      if (init.body !== undefined) req.body = init.body;
      if (init.signal) req.signal = init.signal;
      return f(url, req);
    };
    this.cacheMessages = options.cacheMessages ?? 200;
    this.storeFactory =
      options.store ??
      (typeof indexedDB !== "undefined"
        ? (userId) => IndexedDbStore.open(`parley-${userId}`)
        : async () => new MemoryStore());
    const sessionOptions: ConstructorParameters<typeof SessionManager>[0] = {
      baseUrl: this.baseUrl,
      transport: this.fetchFn,
      mode,
      now: () => timers.now(),
      refreshMarginMs: 60_000,
      onSession: (user) => this.events.emit("session", user),
      onEnded: (reason) => {
        this.live.stop();
        this.events.emit("session.ended", reason);
      },
    };
    if (options.tokens) sessionOptions.tokens = options.tokens;
    if (options.onTokens) sessionOptions.onTokens = options.onTokens;
    this.session = new SessionManager(sessionOptions);
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    const wsBase = this.baseUrl.replace(/^http/, "ws");
    this.live = new LiveConnection({
      wsUrl: (path) => wsBase + path,
      WebSocket:
        WS ??
        (class {
          constructor() {
            throw new TypeError("no WebSocket: pass options.WebSocket (e.g. the ws package's) in Node before 22");
          }
        } as unknown as WebSocketCtor),
      timers,
      codec: options.codec,
      ticket: async () => (await this.api("post", "/api/ws/ticket")).url,
      accessToken: () => this.session.accessToken(),
      tokenExpiresAt: () => this.session.expiresAt,
      messagesAfter: async (conv, seq) => (await this.messages(conv, { after: seq, limit: 200 })).messages,
      backoffMinMs: options.backoff?.minMs ?? 500,
      backoffMaxMs: options.backoff?.maxMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      reauthMarginMs: 60_000,
      onState: (next, prev) => this.events.emit("state", next, prev),
      onEvent: (event) => this.onEvent(event),
      onMessage: (message) => {
        void this.local?.putMessages([message], this.cacheMessages).catch((e) => this.events.emit("error", e));
        this.events.emit("message", message);
        this.noteReceived(message);
      },
      onRewound: (conv, lastSeq) => {
        void this.local?.dropMessagesAfter(conv, lastSeq);
        this.events.emit("rewound", conv, lastSeq);
      },
      onSubscribed: () => this.pump(),
      onUnauthorized: (reason) => this.events.emit("session.ended", reason),
      onError: (e) => this.events.emit("error", e),
    });
  }

  // --- events and state ------------------------------------------------

  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  get state(): ConnectionState {
    return this.live.state;
  }

  get user(): User | null {
    return this.session.user;
  }

  // --- collaboration documents (y-websocket) --------------------------------

  /** The y-websocket server URL: new WebsocketProvider(client.collabUrl, name, doc, { params }). */
  get collabUrl(): string {
    return this.baseUrl.replace(/^http/, "ws") + "/collab";
  }

  /** A valid access token for a provider's ?token= (see keepCollabTokenFresh). */
  collabToken(): Promise<string> {
    return this.session.accessToken();
  }

  /** When the current access token expires (ms since the epoch; 0 if none). */
  get tokenExpiresAt(): number {
    return this.session.expiresAt;
  }

  /** Sends not yet acknowledged, oldest first. */
  get outbox(): readonly OutboxItem[] {
    return this.outboxItems;
  }

  // --- sessions ----------------------------------------------------------

  async register(username: string, password: string, displayName?: string): Promise<User> {
    const user = await this.session.register(username, password, displayName);
    await this.openLocal(user.id);
    return user;
  }

  async login(username: string, password: string): Promise<User> {
    const user = await this.session.login(username, password);
    await this.openLocal(user.id);
    return user;
  }

  /** Picks up the login of an earlier page or run; null if there is none. */
  async resume(): Promise<User | null> {
    const user = await this.session.resume();
    if (user) await this.openLocal(user.id);
    return user;
  }

  /**
   * Opens the local cache and outbox of a user without the network (an app
   * started offline shows what it has; sends queue until it is back).
   */
  async openOffline(userId: string): Promise<void> {
    await this.openLocal(userId);
  }

  async logout(): Promise<void> {
    this.live.stop();
    try {
      await this.session.logout();
    } finally {
      const userId = this.localFor;
      this.local?.close();
      this.local = null;
      this.localFor = null;
      this.outboxItems = [];
      // What this browser kept of the account goes with the login.
      if (userId && typeof indexedDB !== "undefined") await IndexedDbStore.destroy(`parley-${userId}`).catch(() => {});
    }
  }

  // --- REST ----------------------------------------------------------------

  /** Any route of docs/openapi.yaml, typed from it. Throws ParleyError. */
  async api<P extends keyof paths, M extends Method>(method: M, path: P, options: CallOptions<Op<P, M>> = {}): Promise<Response<P, M>> {
    const url = expandPath(path as string, options.path as Record<string, unknown> | undefined) +
      queryString(options.query as Record<string, unknown> | undefined);
    const res = await this.session.authorized(method.toUpperCase(), url, options.body, options.headers, options.signal);
    if (res.status >= 400) throw await errorFrom(res);
    return parseBody<Response<P, M>>(res);
  }

  /** My conversations, most recent first (and into the local cache). */
  async conversations(limit = 200): Promise<Conversation[]> {
    const out: Conversation[] = [];
    let cursor: string | null | undefined;
    do {
      const query: { limit: number; cursor?: string } = { limit: Math.min(limit - out.length, 200) };
      if (cursor) query.cursor = cursor;
      const page = await this.api("get", "/api/conversations", { query });
      out.push(...page.conversations);
      cursor = page.next_cursor;
    } while (cursor && out.length < limit);
    await this.local?.putConversations(out).catch((e) => this.events.emit("error", e));
    return out;
  }

  /** Conversations and messages this client has cached (works offline). */
  async cachedConversations(): Promise<Conversation[]> {
    return (await this.local?.conversations()) ?? [];
  }
  async cachedMessages(conv: string, limit = 50): Promise<Message[]> {
    return (await this.local?.messages(conv, limit)) ?? [];
  }

  /** A page of messages (REST): `after` ascending, otherwise newest first before `before`. */
  async messages(conv: string, query: { after?: number; before?: number; limit?: number } = {}) {
    const page = await this.api("get", "/api/conversations/{id}/messages", { path: { id: conv }, query });
    await this.local?.putMessages(page.messages, this.cacheMessages).catch(() => {});
    return page;
  }

  // --- live ----------------------------------------------------------------

  /** Connects (and stays connected, reconnecting, until disconnect()). */
  connect(): void {
    this.live.start();
  }

  disconnect(): void {
    this.live.stop();
  }

  /** The network is back (a browser's `online` event): reconnect now. */
  reconnectNow(): void {
    this.live.nudge();
  }

  /** Simulates a network failure (the connection drops and is resumed). */
  dropConnection(): void {
    this.live.drop();
  }

  /**
   * Delivers a conversation's messages after seq `since` (omit: from now) as
   * `message` events, once each, in order, across reconnects.
   */
  follow(conv: string, since?: number): void {
    this.live.follow(conv, since ?? null);
  }

  unfollow(conv: string): void {
    this.live.unfollow(conv);
  }

  /** The highest seq of conv delivered so far. */
  lastSeq(conv: string): number | null {
    return this.live.cursor(conv);
  }

  /**
   * Sends a message. It is kept in the outbox (IndexedDB in browsers) with its
   * client_id and sent, again after any reconnect or reload, until the server
   * acknowledges it: once, in order per conversation. With `replyTo` (a seq)
   * it is a reply in that message's thread; `broadcast` also shows the reply
   * in the conversation.
   */
  async send(conv: string, body: string, opts: { replyTo?: number; broadcast?: boolean; mentions?: Partial<Mentions>; poll?: PollInput } = {}): Promise<OutboxItem> {
    if (!this.local) throw new ParleyError(401, "unauthorized", "sign in (or openOffline) first");
    const item: OutboxItem = { client_id: randomId(), conv, body, created_at: Date.now(), state: "pending" };
    if (opts.replyTo) item.reply_to = opts.replyTo;
    if (opts.broadcast) item.broadcast = true;
    if (opts.poll) item.poll = opts.poll;
    if (opts.mentions && ((opts.mentions.user_ids?.length ?? 0) > 0 || opts.mentions.here || opts.mentions.all)) item.mentions = opts.mentions;
    // Distinct, increasing created_at keeps the order of sends made in one millisecond.
    const last = this.outboxItems[this.outboxItems.length - 1];
    if (last && item.created_at <= last.created_at) item.created_at = last.created_at + 1;
    await this.local.putOutbox(item);
    this.outboxItems.push(item);
    this.events.emit("outbox", this.outboxItems);
    this.pump();
    return item;
  }

  /** Sends a failed item again. */
  async retry(clientId: string): Promise<void> {
    const item = this.outboxItems.find((i) => i.client_id === clientId);
    if (!item || !this.local) return;
    item.state = "pending";
    delete item.error;
    await this.local.putOutbox(item);
    this.events.emit("outbox", this.outboxItems);
    this.pump();
  }

  /** Gives up on an unsent item. */
  async discard(clientId: string): Promise<void> {
    this.outboxItems = this.outboxItems.filter((i) => i.client_id !== clientId);
    await this.local?.removeOutbox(clientId);
    this.events.emit("outbox", this.outboxItems);
  }

  async edit(conv: string, seq: number, body: string): Promise<void> {
    await this.api("patch", "/api/conversations/{id}/messages/{seq}", { path: { id: conv, seq }, body: { body } });
  }

  async deleteMessage(conv: string, seq: number): Promise<void> {
    await this.api("delete", "/api/conversations/{id}/messages/{seq}", { path: { id: conv, seq } });
  }

  /**
   * A thread: its root (with its summary) and replies after `after`, ascending.
   * Any seq of the thread names it; page on with `next_after`.
   */
  async thread(conv: string, seq: number, opts: { after?: number; limit?: number } = {}): Promise<ThreadPage> {
    return this.api("get", "/api/conversations/{id}/messages/{seq}/thread", {
      path: { id: conv, seq },
      query: opts,
    });
  }

  /**
   * Searches the messages of my conversations: words, "phrases", -excluded,
   * from:, in:, has:, is:, before:/after:/on:. Each hit has a `snippet` whose
   * parts mark the matches.
   */
  async search(q: string, opts: { limit?: number; offset?: number; sort?: "recent" | "relevance" } = {}) {
    return this.api("get", "/api/search/messages", { query: { q, ...opts } });
  }

  /** A poll's state with my votes. */
  async poll(conv: string, seq: number): Promise<Poll> {
    return this.api("get", "/api/conversations/{id}/messages/{seq}/poll", { path: { id: conv, seq } });
  }

  /** Sets my votes on a poll, replacing any ([] retracts). */
  async vote(conv: string, seq: number, optionIds: number[]): Promise<Poll> {
    return this.api("put", "/api/conversations/{id}/messages/{seq}/poll/votes", { path: { id: conv, seq }, body: { option_ids: optionIds } });
  }

  async addPollOption(conv: string, seq: number, text: string): Promise<Poll> {
    return this.api("post", "/api/conversations/{id}/messages/{seq}/poll/options", { path: { id: conv, seq }, body: { text } });
  }

  async closePoll(conv: string, seq: number): Promise<Poll> {
    return this.api("post", "/api/conversations/{id}/messages/{seq}/poll/close", { path: { id: conv, seq } });
  }

  // Moderation (owners and admins of the conversation; reports by any member, resolved by server admins).

  /** Mutes a member for `seconds` (0 unmutes); their sends are refused meanwhile. */
  async mute(conv: string, userId: string, seconds: number): Promise<Member> {
    return this.api("post", "/api/conversations/{id}/members/{user_id}/mute", { path: { id: conv, user_id: userId }, body: { seconds } });
  }

  /** Bans a user: removed if a member, and kept out until unbanned. */
  async ban(conv: string, userId: string, reason = ""): Promise<void> {
    await this.api("post", "/api/conversations/{id}/bans", { path: { id: conv }, body: { user_id: userId, reason } });
  }

  async unban(conv: string, userId: string): Promise<void> {
    await this.api("delete", "/api/conversations/{id}/bans/{user_id}", { path: { id: conv, user_id: userId } });
  }

  /** Slow mode: members send one message per `seconds` (0 turns it off). */
  async setSlowMode(conv: string, seconds: number): Promise<Conversation> {
    return this.api("patch", "/api/conversations/{id}", { path: { id: conv }, body: { slow_mode_s: seconds } });
  }

  /** Reports a message to the server's admins. */
  async report(conv: string, seq: number, reason: string): Promise<Report> {
    return this.api("post", "/api/conversations/{id}/messages/{seq}/reports", { path: { id: conv, seq }, body: { reason } });
  }

  /** Server admins: open reports (or all), newest first. */
  async reports(opts: { status?: "open" | "all"; before?: number; limit?: number } = {}) {
    return this.api("get", "/api/admin/reports", { query: opts });
  }

  async resolveReport(id: string, action: "dismiss" | "delete_message"): Promise<Report> {
    return this.api("post", "/api/admin/reports/{id}/resolve", { path: { id }, body: { action } });
  }

  /** Pins a message (idempotent); members hear a `pin` event. */
  async pin(conv: string, seq: number): Promise<void> {
    await this.api("put", "/api/conversations/{id}/pins/{seq}", { path: { id: conv, seq } });
  }

  async unpin(conv: string, seq: number): Promise<void> {
    await this.api("delete", "/api/conversations/{id}/pins/{seq}", { path: { id: conv, seq } });
  }

  /** Pinned messages, newest seq first; page on with `before` (the last seq of a page). */
  async pins(conv: string, opts: { before?: number; limit?: number } = {}) {
    return this.api("get", "/api/conversations/{id}/pins", { path: { id: conv }, query: opts });
  }

  /** Adds my reaction (an emoji or a :short_code:) to a message; idempotent. */
  async react(conv: string, seq: number, reaction: string): Promise<Reacted> {
    const live = await this.reactLive(conv, seq, reaction, false);
    if (live) return live;
    return this.api("post", "/api/conversations/{id}/messages/{seq}/reactions", {
      path: { id: conv, seq },
      body: { reaction },
    });
  }

  /** Takes my reaction back; idempotent. */
  async unreact(conv: string, seq: number, reaction: string): Promise<Reacted> {
    const live = await this.reactLive(conv, seq, reaction, true);
    if (live) return live;
    return this.api("delete", "/api/conversations/{id}/messages/{seq}/reactions", {
      path: { id: conv, seq },
      query: { reaction },
    });
  }

  // Over the live connection when there is one; null: use REST.
  private async reactLive(conv: string, seq: number, reaction: string, remove: boolean): Promise<Reacted | null> {
    if (this.live.state !== "connected") return null;
    try {
      return (await this.live.request("react", { conv, seq, reaction, remove })) as unknown as Reacted;
    } catch (e) {
      if (!(e instanceof ParleyError) || e.status !== 0) throw e;
      return null;
    }
  }

  /** Moves my read marker to seq (over the live connection when there is one). */
  async markRead(conv: string, seq: number): Promise<{ last_read_seq: number; unread: number }> {
    if (this.live.state === "connected") {
      try {
        return (await this.live.request("read", { conv, seq })) as { last_read_seq: number; unread: number };
      } catch (e) {
        if (!(e instanceof ParleyError) || e.status !== 0) throw e;
      }
    }
    return this.api("post", "/api/conversations/{id}/read", { path: { id: conv }, body: { seq } });
  }

  /** Tells the others I am typing (throttled by the server; needs the live connection). */
  async typing(conv: string): Promise<void> {
    if (this.live.state !== "connected") return;
    await this.live.request("typing", { conv }).catch(() => {});
  }

  async presence(users: string[]): Promise<PresenceEntry[]> {
    const result = await this.live.request("presence", { users });
    return result.users as PresenceEntry[];
  }

  // --- internals -------------------------------------------------------------

  private async openLocal(userId: string): Promise<void> {
    if (this.localFor === userId && this.local) return;
    this.local?.close();
    this.local = await this.storeFactory(userId);
    this.localFor = userId;
    this.outboxItems = await this.local.outbox();
    this.events.emit("outbox", this.outboxItems);
  }

  private onEvent(event: import("./types.js").ServerEvent): void {
    this.events.emit("event", event);
    switch (event.type) {
      case "message.updated":
      case "message.deleted":
        void this.local?.putMessages([event.message], this.cacheMessages).catch(() => {});
        this.events.emit(event.type, event.message);
        break;
      case "read":
      case "typing":
      case "presence":
      case "reaction":
      case "mention":
      case "pin":
      case "poll":
      case "delivered":
      case "member.joined":
      case "member.left":
      case "conversation.updated":
      case "conversation.added":
        (this.events.emit as (e: string, ev: unknown) => void)(event.type, event);
        break;
      default:
        break;
    }
  }

  private noteReceived(m: Message): void {
    if (!this.deliveryReceipts || m.sender_id === this.user?.id) return;
    if ((this.received.get(m.conversation_id) ?? 0) >= m.seq) return;
    this.received.set(m.conversation_id, m.seq);
    if (this.ackTimer === null) this.ackTimer = this.timers.setTimeout(() => void this.ackDelivered(), this.deliveryAckMs);
  }

  // One `delivered` per conversation with news since the last; what fails waits for the next message.
  private async ackDelivered(): Promise<void> {
    this.ackTimer = null;
    if (this.live.state !== "connected") return;
    for (const [conv, seq] of this.received) {
      if ((this.acked.get(conv) ?? 0) >= seq) continue;
      this.acked.set(conv, seq);
      await this.live.request("delivered", { conv, seq }).catch(() => this.acked.delete(conv));
    }
  }

  // Sends what the outbox holds: one request in flight per conversation, so
  // each conversation's sends commit in the order they were made.
  private pump(): void {
    if (this.live.state !== "connected") return;
    for (const item of this.outboxItems) {
      if (item.state !== "pending" || this.inflight.has(item.conv)) continue;
      this.inflight.add(item.conv);
      void this.transmit(item);
    }
  }

  private async transmit(item: OutboxItem): Promise<void> {
    try {
      const req: Record<string, unknown> = { conv: item.conv, client_id: item.client_id, body: item.body };
      if (item.reply_to) req.reply_to = item.reply_to;
      if (item.broadcast) req.broadcast = true;
      if (item.mentions) req.mentions = item.mentions;
      if (item.poll) req.poll = item.poll;
      const ack = (await this.live.request("send", req)) as unknown as SendAck;
      this.outboxItems = this.outboxItems.filter((i) => i.client_id !== item.client_id);
      await this.local?.removeOutbox(item.client_id);
      this.events.emit("sent", item, ack);
      this.events.emit("outbox", this.outboxItems);
    } catch (e) {
      const err = e instanceof ParleyError ? e : ParleyError.network(String(e));
      if (!err.retryable) {
        item.state = "failed";
        item.error = err.detail || err.type;
        await this.local?.putOutbox(item).catch(() => {});
        this.events.emit("send.failed", item);
        this.events.emit("outbox", this.outboxItems);
      } else if (err.status !== 0 && this.live.state === "connected") {
        // Overloaded or rate limited: wait as asked, then go on.
        const wait = (err.retryAfter ?? 1) * 1000;
        await new Promise((r) => setTimeout(r, wait));
      }
      // Network errors: the next connection's pump() sends it again.
    } finally {
      this.inflight.delete(item.conv);
    }
    this.pump();
  }
}
