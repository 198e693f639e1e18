// LiveConnection with a fake WebSocket and fake clock: ordering, duplicates,
// gap filling, rewound conversations, backoff with full jitter, stop codes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LiveConnection, type LiveOptions, type WebSocketLike } from "../src/live.js";
import type { ConnectionState, Message } from "../src/types.js";

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string, readonly protocol: string | string[]) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  lastRequest(op: string) {
    return [...this.sent].reverse().find((f) => f.op === op) as { id: string; conversations?: { conv: string; since?: number }[] };
  }
}

class FakeTimers {
  t = 1_000_000;
  queue: { at: number; fn: () => void; id: number }[] = [];
  next = 1;
  delays: number[] = [];
  randomValue = 0.5;
  now = () => this.t;
  random = () => this.randomValue;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.queue.push({ at: this.t + ms, fn, id });
    this.delays.push(ms);
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.queue = this.queue.filter((q) => q.id !== h);
  };
  async advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const first = this.queue[0];
      if (!first || first.at > end) break;
      this.queue.shift();
      this.t = first.at;
      first.fn();
      await flush();
    }
    this.t = end;
  }
}

const flush = () => new Promise((r) => setImmediate(r));

function msg(conv: string, seq: number): Message {
  return { id: `m${seq}`, conversation_id: conv, seq, sender_id: "u1", client_id: `c${seq}`, body: `b${seq}`, created_at: seq, edited_at: null, deleted: false, deleted_at: null };
}

function setup(history: Message[] = []) {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const delivered: Message[] = [];
  const states: ConnectionState[] = [];
  const rewound: [string, number][] = [];
  const restCalls: number[] = [];
  let unauthorized = "";
  const opts: LiveOptions = {
    wsUrl: (p) => "ws://x" + p,
    WebSocket: FakeSocket,
    timers,
    ticket: async () => "/ws?ticket=t",
    accessToken: async () => "token",
    tokenExpiresAt: () => timers.t + 900_000,
    messagesAfter: async (_conv, seq) => {
      restCalls.push(seq);
      return history.filter((m) => m.seq > seq).slice(0, 3);
    },
    backoffMinMs: 100,
    backoffMaxMs: 1000,
    requestTimeoutMs: 5000,
    reauthMarginMs: 60_000,
    onState: (s) => states.push(s),
    onEvent: () => {},
    onMessage: (m) => delivered.push(m),
    onRewound: (c, s) => rewound.push([c, s]),
    onSubscribed: () => {},
    onUnauthorized: (r) => {
      unauthorized = r;
    },
    onError: () => {},
  };
  const live = new LiveConnection(opts);
  return { live, timers, delivered, states, rewound, restCalls, unauthorized: () => unauthorized };
}

async function connected(live: LiveConnection) {
  live.start();
  await flush();
  const ws = FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket;
  ws.open();
  return ws;
}

function replySubscribe(ws: FakeSocket, conv: string, lastSeq: number, extra: Record<string, unknown> = {}) {
  const req = ws.lastRequest("subscribe");
  ws.push({ id: req.id, ok: true, result: { subscribed: [{ conv, last_seq: lastSeq, replayed: 0, truncated: false, rewound: false, ...extra }], errors: [] } });
}

test("delivers in seq order, drops duplicates, holds later seqs until the gap is filled", async () => {
  const history = [1, 2, 3, 4, 5, 6].map((s) => msg("c", s));
  const { live, delivered, restCalls } = setup(history);
  live.follow("c", 0);
  const ws = await connected(live);
  assert.equal(ws.protocol, "parley.v1");
  assert.deepEqual(ws.lastRequest("subscribe").conversations, [{ conv: "c", since: 0 }]);
  ws.push({ type: "message.new", conv: "c", seq: 1, message: msg("c", 1) });
  ws.push({ type: "message.new", conv: "c", seq: 1, message: msg("c", 1) });
  ws.push({ type: "message.new", conv: "c", seq: 5, message: msg("c", 5) });
  await flush();
  await flush();
  ws.push({ type: "message.new", conv: "c", seq: 6, message: msg("c", 6) });
  replySubscribe(ws, "c", 6);
  await flush();
  await flush();
  assert.deepEqual(delivered.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  assert.ok(restCalls.includes(1), "the gap after 1 was read from REST");
});

test("resubscribes with since = the highest seq delivered after a drop", async () => {
  const { live, timers, delivered } = setup();
  live.follow("c", 10);
  let ws = await connected(live);
  replySubscribe(ws, "c", 10);
  ws.push({ type: "message.new", conv: "c", seq: 11, message: msg("c", 11) });
  ws.push({ type: "message.new", conv: "c", seq: 12, message: msg("c", 12) });
  ws.close(1006, "");
  assert.equal(live.state, "disconnected");
  await timers.advance(1000);
  ws = FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket;
  ws.open();
  assert.deepEqual(ws.lastRequest("subscribe").conversations, [{ conv: "c", since: 12 }]);
  ws.push({ type: "message.new", conv: "c", seq: 12, message: msg("c", 12) }); // replayed twice: dropped
  ws.push({ type: "message.new", conv: "c", seq: 13, message: msg("c", 13) });
  assert.deepEqual(delivered.map((m) => m.seq), [11, 12, 13]);
});

test("a rewound conversation drops what came after last_seq", async () => {
  const { live, rewound, delivered } = setup();
  live.follow("c", 50);
  const ws = await connected(live);
  replySubscribe(ws, "c", 40, { rewound: true });
  await flush();
  assert.deepEqual(rewound, [["c", 40]]);
  assert.equal(live.cursor("c"), 40);
  ws.push({ type: "message.new", conv: "c", seq: 41, message: msg("c", 41) });
  assert.deepEqual(delivered.map((m) => m.seq), [41]);
});

test("following from now starts after the subscribe result's last_seq", async () => {
  const { live, delivered } = setup();
  live.follow("c", null);
  const ws = await connected(live);
  assert.deepEqual(ws.lastRequest("subscribe").conversations, [{ conv: "c" }]);
  ws.push({ type: "message.new", conv: "c", seq: 8, message: msg("c", 8) });
  replySubscribe(ws, "c", 7);
  await flush();
  assert.deepEqual(delivered.map((m) => m.seq), [8]);
});

test("reconnect delays use full jitter, grow exponentially and are capped", async () => {
  const { live, timers } = setup();
  live.start();
  await flush();
  const ceilings: number[] = [];
  timers.randomValue = 0.999;
  for (let i = 0; i < 6; i++) {
    const ws = FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket;
    timers.delays = [];
    ws.close(1006, "");
    ceilings.push(timers.delays[0] as number);
    await timers.advance(2000);
  }
  assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999]);
  timers.randomValue = 0;
  const ws = FakeSocket.all[FakeSocket.all.length - 1] as FakeSocket;
  timers.delays = [];
  ws.close(1006, "");
  assert.equal(timers.delays[0], 0, "full jitter: the delay can be zero");
});

test("close 4003 stops for good and reports the session", async () => {
  const s = setup();
  const ws = await connected(s.live);
  ws.close(4003, "forbidden");
  assert.equal(s.live.state, "closed");
  assert.equal(s.unauthorized(), "forbidden");
  const before = FakeSocket.all.length;
  await s.timers.advance(60_000);
  assert.equal(FakeSocket.all.length, before, "no reconnect after 4003");
});

test("re-authenticates with a fresh token before the connection's token expires", async () => {
  const { live, timers } = setup();
  const ws = await connected(live);
  await timers.advance(900_000 - 60_000 + 10);
  const auth = ws.lastRequest("auth") as unknown as { id: string; token: string };
  assert.ok(auth, "auth sent before expiry");
  assert.equal(auth.token, "token");
  ws.push({ id: auth.id, ok: true, result: { user_id: "u", expires_at: Math.floor((timers.t + 900_000) / 1000) } });
  await flush();
  assert.equal(live.state, "connected");
});
