// The SDK against the real binary: sessions, live delivery, resume after a
// SIGKILL restart, the outbox across an outage, typed errors.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { ParleyClient, ParleyError, type Message } from "../src/index.js";
import { BIN, TestServer, sleep, until } from "./server.js";

const PASSWORD = "correct horse battery";
const skip = BIN ? false : "PARLEY_BIN is not set (run through ctest)";

// Every client a test makes is disconnected after it, pass or fail, so a
// failed test cannot leave reconnect loops that keep the process alive.
const made: ParleyClient[] = [];

function client(server: TestServer, extra: Partial<ConstructorParameters<typeof ParleyClient>[0]> = {}) {
  return track(new ParleyClient({
    baseUrl: server.url,
    WebSocket: WebSocket as never,
    backoff: { minMs: 50, maxMs: 400 },
    ...extra,
  }));
}

function track(c: ParleyClient): ParleyClient {
  made.push(c);
  return c;
}

function collect(c: ParleyClient, conv: string): Message[] {
  const got: Message[] = [];
  c.on("message", (m) => {
    if (m.conversation_id === conv) got.push(m);
  });
  return got;
}

function assertGapless(got: Message[], from: number, to: number) {
  const seqs = got.map((m) => m.seq);
  const want = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  assert.deepEqual(seqs, want);
}

describe("the SDK against parley", { skip }, () => {
  const server = new TestServer({ "auth.login_ip_max_attempts": "1000" });
  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.cleanup();
  });
  afterEach(async () => {
    for (const c of made.splice(0)) c.disconnect();
    // A test that failed while the server was down must not take the others with it.
    if (!server.proc) await server.start();
  });

  test("two clients chat live, each message once and in order", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_sdk", PASSWORD);
    const bobUser = await bob.register("bob_sdk", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "group", title: "SDK", members: [bobUser.id] } });
    const got = collect(bob, conv.id);
    bob.follow(conv.id, 0);
    alice.connect();
    bob.connect();
    await until("both connected", () => alice.state === "connected" && bob.state === "connected");
    for (let i = 1; i <= 30; i++) await alice.send(conv.id, `hello ${i}`);
    await until("30 messages", () => got.length >= 30);
    assertGapless(got, 1, 30);
    assert.equal(got[29]?.body, "hello 30");
    await until("outbox empty", () => alice.outbox.length === 0);
    alice.disconnect();
    bob.disconnect();
  });

  test("reactions: react and unreact, heard live by the other member, counted on the message", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_react", PASSWORD);
    const bobUser = await bob.register("bob_react", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "group", title: "R", members: [bobUser.id] } });
    const heard: { reaction: string; action: string; count: number }[] = [];
    bob.on("reaction", (e) => heard.push({ reaction: e.reaction, action: e.action, count: e.count }));
    bob.follow(conv.id, 0);
    alice.connect();
    bob.connect();
    await until("both connected", () => alice.state === "connected" && bob.state === "connected");
    const got = collect(bob, conv.id);
    await alice.send(conv.id, "react to this");
    await until("the message", () => got.length === 1);
    const added = await bob.react(conv.id, 1, "🎉");
    assert.deepEqual([added.count, added.me], [1, true]);
    await alice.react(conv.id, 1, "🎉");
    await until("two reaction events", () => heard.length === 2);
    assert.deepEqual(heard[1], { reaction: "🎉", action: "added", count: 2 });
    const page = await alice.api("get", "/api/conversations/{id}/messages", { path: { id: conv.id } });
    assert.deepEqual(page.messages[0]?.reactions, [{ reaction: "🎉", count: 2, me: true }]);
    const removed = await alice.unreact(conv.id, 1, "🎉");
    assert.deepEqual([removed.count, removed.me], [1, false]);
    await until("the removal", () => heard.length === 3);
    assert.equal(heard[2]?.action, "removed");
    await assert.rejects(alice.react(conv.id, 1, "not an emoji"), (e: unknown) => e instanceof ParleyError && e.status === 400);
  });

  test("threads: replies sent with replyTo join the root's thread, live and over REST", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_thread", PASSWORD);
    const bobUser = await bob.register("bob_thread", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "group", title: "T", members: [bobUser.id] } });
    alice.follow(conv.id, 0);
    alice.connect();
    bob.connect();
    await until("both connected", () => alice.state === "connected" && bob.state === "connected");
    const got = collect(alice, conv.id);
    const acks: { reply_to?: number }[] = [];
    bob.on("sent", (_item, ack) => acks.push(ack));
    await alice.send(conv.id, "root");
    await until("the root", () => got.length === 1);
    await bob.send(conv.id, "first reply", { replyTo: 1 });
    await until("the reply", () => got.length === 2);
    // A reply to a reply joins the root's thread; broadcast shows it in the conversation too.
    await bob.send(conv.id, "reply to the reply", { replyTo: 2, broadcast: true });
    await until("both replies", () => got.length === 3);
    assert.deepEqual(got.map((m) => [m.seq, m.reply_to, m.broadcast]), [[1, undefined, undefined], [2, 1, false], [3, 1, true]]);
    await until("acks", () => acks.length === 2);
    assert.deepEqual(acks.map((a) => a.reply_to), [1, 1]);
    const t = await alice.thread(conv.id, 3);
    assert.equal(t.root.seq, 1);
    assert.deepEqual(t.replies.map((m) => m.body), ["first reply", "reply to the reply"]);
    assert.deepEqual(t.root.thread?.participants, [bobUser.id]);
    assert.equal(t.root.thread?.reply_count, 2);
    const one = await alice.thread(conv.id, 1, { limit: 1 });
    assert.equal(one.has_more, true);
    const next = await alice.thread(conv.id, 1, { after: one.next_after ?? 0 });
    assert.deepEqual(next.replies.map((m) => m.seq), [3]);
    await assert.rejects(
      alice.api("post", "/api/conversations/{id}/messages", { path: { id: conv.id }, body: { client_id: "t-bad", body: "x", reply_to: 99 } }),
      (e: unknown) => e instanceof ParleyError && e.status === 400,
    );
    alice.disconnect();
    bob.disconnect();
  });

  test("mentions: sent with the message, heard by the mentioned member without following, counted unread", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_mention", PASSWORD);
    const bobUser = await bob.register("bob_mention", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "group", title: "M", members: [bobUser.id] } });
    const heard: { seq: number; kind: string; sender_id: string }[] = [];
    bob.on("mention", (e) => heard.push({ seq: e.seq, kind: e.kind, sender_id: e.sender_id }));
    alice.connect();
    bob.connect();
    await until("both connected", () => alice.state === "connected" && bob.state === "connected");
    await alice.send(conv.id, "hi @bob", { mentions: { user_ids: [bobUser.id] } });
    await until("the mention", () => heard.length === 1);
    assert.deepEqual(heard[0], { seq: 1, kind: "user", sender_id: alice.user!.id });
    const list = await bob.conversations();
    assert.equal(list.find((c) => c.id === conv.id)?.unread_mentions, 1);
    const page = await bob.messages(conv.id);
    assert.deepEqual(page.messages[0]?.mentions, { user_ids: [bobUser.id], here: false, all: false });
    alice.disconnect();
    bob.disconnect();
  });

  test("delivery receipts: what a device receives is acknowledged, and the sender hears it", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_delivery", PASSWORD);
    const bobUser = await bob.register("bob_delivery", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "direct", members: [bobUser.id] } });
    const heard: { user_id: string; seq: number }[] = [];
    alice.on("delivered", (e) => heard.push({ user_id: e.user_id, seq: e.seq }));
    alice.follow(conv.id, 0);
    bob.follow(conv.id, 0);
    alice.connect();
    bob.connect();
    await until("both connected", () => alice.state === "connected" && bob.state === "connected");
    for (let i = 1; i <= 3; i++) await alice.send(conv.id, `d ${i}`);
    await until("bob's device acknowledged all three", () => heard.some((h) => h.seq === 3));
    assert.ok(heard.every((h) => h.user_id === bobUser.id));
    assert.ok(heard.length <= 3, "debounced: at most one per message");
    const { members } = await alice.api("get", "/api/conversations/{id}/members", { path: { id: conv.id } });
    assert.equal(members.find((m) => m.user_id === bobUser.id)?.delivered_seq, 3);
    alice.disconnect();
    bob.disconnect();
  });

  test("moderation: a muted member's send fails for good with the reason; a ban keeps them out", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_moderate", PASSWORD);
    const bobUser = await bob.register("bob_moderate", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "group", title: "Mod", members: [bobUser.id] } });
    const muted = await alice.mute(conv.id, bobUser.id, 60);
    assert.ok((muted.muted_until ?? 0) > Date.now());
    const failed: string[] = [];
    bob.on("send.failed", (item) => failed.push(item.error ?? ""));
    bob.connect();
    await until("bob connected", () => bob.state === "connected");
    await bob.send(conv.id, "may I?");
    await until("the refusal", () => failed.length === 1);
    assert.match(failed[0] ?? "", /muted/);
    await alice.mute(conv.id, bobUser.id, 0);
    await bob.discard(bob.outbox[0]!.client_id);
    await bob.send(conv.id, "thanks");
    await until("sent", () => bob.outbox.length === 0);
    const report = await bob.report(conv.id, 1, "testing");
    assert.equal(report.reason, "testing");
    await alice.ban(conv.id, bobUser.id, "enough");
    await assert.rejects(bob.api("get", "/api/conversations/{id}", { path: { id: conv.id } }), (e: unknown) => e instanceof ParleyError && e.status === 404);
    await assert.rejects(
      alice.api("post", "/api/conversations/{id}/members", { path: { id: conv.id }, body: { user_id: bobUser.id } }),
      (e: unknown) => e instanceof ParleyError && e.status === 403,
    );
    await alice.unban(conv.id, bobUser.id);
    bob.disconnect();
  });

  test("resumes without gap or duplicate after the server is killed and restarted", async () => {
    const alice = client(server);
    const bob = client(server);
    await alice.register("alice_kill", PASSWORD);
    const bobUser = await bob.register("bob_kill", PASSWORD);
    const conv = await alice.api("post", "/api/conversations", { body: { kind: "direct", members: [bobUser.id] } });
    const got = collect(bob, conv.id);
    bob.follow(conv.id, 0);
    bob.connect();
    alice.connect();
    await until("connected", () => alice.state === "connected" && bob.state === "connected");
    for (let i = 1; i <= 20; i++) await alice.send(conv.id, `before ${i}`);
    await until("20 delivered", () => got.length >= 20);
    await until("20 acknowledged", () => alice.outbox.length === 0);
    await server.kill();
    await until("both see the outage", () => alice.state !== "connected" && bob.state !== "connected");
    // Sent while the server is down: kept in the outbox.
    for (let i = 1; i <= 10; i++) await alice.send(conv.id, `during ${i}`);
    assert.equal(alice.outbox.length, 10);
    await server.start();
    await until("40 delivered", () => got.length >= 30, 30_000);
    for (let i = 1; i <= 10; i++) await alice.send(conv.id, `after ${i}`);
    await until("all delivered", () => got.length >= 40, 30_000);
    await sleep(300); // any duplicate would have arrived by now
    assertGapless(got, 1, 40);
    assert.deepEqual(got.slice(20, 30).map((m) => m.body), Array.from({ length: 10 }, (_, i) => `during ${i + 1}`));
    // Exactly once on the server too.
    const page = await bob.api("get", "/api/conversations/{id}/messages", { path: { id: conv.id }, query: { after: 0, limit: 200 } });
    assert.equal(page.messages.length, 40);
    alice.disconnect();
    bob.disconnect();
  });

  test("a reader that missed more than the replay limit gets the rest from REST, in order", async () => {
    const small = new TestServer({ "ws.replay_limit": "5" });
    await small.start();
    try {
      const alice = client(small);
      const bob = client(small);
      await alice.register("alice_trunc", PASSWORD);
      const bobUser = await bob.register("bob_trunc", PASSWORD);
      const conv = await alice.api("post", "/api/conversations", { body: { kind: "direct", members: [bobUser.id] } });
      for (let i = 1; i <= 37; i++) {
        await alice.api("post", "/api/conversations/{id}/messages", { path: { id: conv.id }, body: { client_id: `t-${i}`, body: `m${i}` } });
      }
      const got = collect(bob, conv.id);
      bob.follow(conv.id, 3);
      bob.connect();
      await until("34 delivered", () => got.length >= 34);
      await sleep(200);
      assertGapless(got, 4, 37);
      bob.disconnect();
    } finally {
      await small.cleanup();
    }
  });

  test("concurrent calls with an expired access token refresh once", async () => {
    let refreshes = 0;
    const counting: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/api/auth/refresh")) refreshes++;
      return fetch(input, init);
    };
    let offset = 0;
    const timers = { now: () => Date.now() + offset, setTimeout: (f: () => void, ms: number) => setTimeout(f, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout), random: Math.random };
    const c = client(server, { fetch: counting, timers });
    await c.register("carol_sdk", PASSWORD);
    offset = 16 * 60 * 1000; // past the 15-minute access token
    const results = await Promise.all(Array.from({ length: 10 }, () => c.api("get", "/api/auth/me")));
    assert.equal(refreshes, 1);
    assert.ok(results.every((u) => u.username === "carol_sdk"));
  });

  test("a revoked login ends the session with an event", async () => {
    let saved: string | undefined;
    const a = client(server, { onTokens: (t) => { saved = t?.refreshToken; } });
    await a.register("dave_sdk", PASSWORD);
    assert.ok(saved);
    const first = saved as string;
    // Someone replays the refresh token after it was rotated: the family is revoked.
    await a.api("get", "/api/auth/me");
    const b = client(server, { tokens: { refreshToken: first } });
    const ended: string[] = [];
    a.on("session.ended", (r) => ended.push(r));
    await b.resume(); // rotates `first`
    const thief = client(server, { tokens: { refreshToken: first } });
    assert.equal(await thief.resume(), null); // reuse detected: family revoked
    await assert.rejects(a.api("get", "/api/auth/me").then(async () => {
      // a's access token is still valid until it expires; force the refresh path.
      return (a as unknown as { session: { refresh(): Promise<string> } }).session.refresh();
    }), (e: unknown) => e instanceof ParleyError && e.status === 401);
    assert.equal(ended.length, 1);
  });

  test("the README's ten-line echo bot answers", async () => {
    await client(server).register("echo-bot", PASSWORD);
    const human = client(server);
    const me = await human.register("human_sdk", PASSWORD);
    // The README's bot, as written there (baseUrl and WebSocket as in Node 20).
    const bot = track(new ParleyClient({ baseUrl: server.url, WebSocket: WebSocket as never }));
    await bot.login("echo-bot", "correct horse battery");
    const conv = await human.api("post", "/api/conversations", { body: { kind: "direct", members: [bot.user!.id] } });
    for (const c of await bot.conversations()) bot.follow(c.id, c.last_seq);
    bot.on("message", (m) => {
      if (m.sender_id !== bot.user!.id) void bot.send(m.conversation_id, `you said: ${m.body}`);
    });
    bot.connect();
    const got = collect(human, conv.id);
    human.follow(conv.id, 0);
    human.connect();
    await until("both connected", () => bot.state === "connected" && human.state === "connected");
    await human.send(conv.id, "ping");
    await until("the echo", () => got.some((m) => m.body === "you said: ping"));
    assert.equal(got.find((m) => m.body === "you said: ping")?.sender_id !== me.id, true);
    bot.disconnect();
    human.disconnect();
  });

  test("errors are ParleyError with status, detail and request id", async () => {
    const c = client(server);
    await c.register("erin_sdk", PASSWORD);
    await assert.rejects(c.api("get", "/api/conversations/{id}", { path: { id: "123" } }), (e: unknown) => {
      assert.ok(e instanceof ParleyError);
      assert.equal(e.status, 404);
      assert.match(e.detail, /conversation/);
      assert.ok(e.requestId && e.requestId.length > 5);
      return true;
    });
    await assert.rejects(c.login("erin_sdk", "wrong password"), (e: unknown) => e instanceof ParleyError && e.status === 401);
  });

  test("a send the server refuses for good is marked failed, not retried forever", async () => {
    const c = client(server);
    await c.register("fay_sdk", PASSWORD);
    c.connect();
    await until("connected", () => c.state === "connected");
    const failed: string[] = [];
    c.on("send.failed", (item) => failed.push(item.error ?? ""));
    await c.send("999999", "to nowhere");
    await until("refused", () => failed.length === 1);
    assert.equal(c.outbox[0]?.state, "failed");
    c.disconnect();
  });
});
