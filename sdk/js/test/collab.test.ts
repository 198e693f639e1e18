// keepCollabTokenFresh with a fake clock and provider, then with the npm
// y-websocket provider against the real binary.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocket } from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { ParleyClient, keepCollabTokenFresh, type Timers } from "../src/index.js";
import { BIN, TestServer, until } from "./server.js";

class FakeTimers implements Timers {
  t = 1_000_000;
  queue: { at: number; fn: () => void; id: number }[] = [];
  next = 1;
  now = () => this.t;
  random = () => 0.5;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.queue.push({ at: this.t + ms, fn, id });
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
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }
}

class FakeProvider {
  params: Record<string, string> = {};
  listeners: (() => void)[] = [];
  on(_e: "connection-close", l: () => void) {
    this.listeners.push(l);
  }
  off(_e: "connection-close", l: () => void) {
    this.listeners = this.listeners.filter((x) => x !== l);
  }
}

test("the provider's token is replaced before it expires and after a close", async () => {
  const timers = new FakeTimers();
  let issued = 0;
  const source = {
    tokenExpiresAt: 0,
    async collabToken() {
      issued++;
      source.tokenExpiresAt = timers.now() + 900_000;
      return `t${issued}`;
    },
  };
  const provider = new FakeProvider();
  const stop = await keepCollabTokenFresh(source, provider, { timers, marginMs: 60_000 });
  assert.equal(provider.params.token, "t1");
  await timers.advance(839_000);
  assert.equal(provider.params.token, "t1", "not yet: 61 s before expiry");
  await timers.advance(2_000);
  assert.equal(provider.params.token, "t2", "renewed 60 s before expiry");
  provider.listeners.forEach((l) => l());
  await new Promise((r) => setImmediate(r));
  assert.equal(provider.params.token, "t3", "renewed when the connection closed");
  stop();
  assert.equal(provider.listeners.length, 0);
  await timers.advance(2_000_000);
  assert.equal(provider.params.token, "t3", "nothing after stop");
});

test("a session that ended leaves the token as it was and reports it", async () => {
  const timers = new FakeTimers();
  let fail = false;
  const source = {
    tokenExpiresAt: timers.now() + 120_000,
    async collabToken() {
      if (fail) throw new Error("session ended");
      return "t";
    },
  };
  const errors: unknown[] = [];
  const provider = new FakeProvider();
  await keepCollabTokenFresh(source, provider, { timers, onError: (e) => errors.push(e) });
  fail = true;
  await timers.advance(120_000);
  assert.equal(provider.params.token, "t");
  assert.equal(errors.length, 1);
});

describe("a y-websocket provider against parley", { skip: BIN ? false : "PARLEY_BIN is not set (run through ctest)" }, () => {
  test("reconnects with a renewed token and syncs", async () => {
    const server = await new TestServer({ "auth.access_ttl_s": "60" }).start();
    const client = new ParleyClient({ baseUrl: server.url, WebSocket: WebSocket as never });
    try {
      await client.register("collab_sdk", "correct horse battery");
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(client.collabUrl, "sdk-notes", doc, {
        WebSocketPolyfill: WebSocket as never,
        connect: false,
        disableBc: true,
      });
      // A 55 s margin on a 60 s token: renewed about 5 s from now.
      const stop = await keepCollabTokenFresh(client, provider, { marginMs: 55_000 });
      const first = provider.params.token;
      provider.connect();
      await until("sync", () => provider.synced, 10_000);
      doc.getText("t").insert(0, "kept");
      await until("a renewed token", () => provider.params.token !== first, 15_000);
      // The server drops the connection (a restart, a proxy): the provider
      // comes back with the new token and its document is still there.
      provider.ws?.close();
      await until("sync again", () => provider.synced, 10_000);
      const other = new Y.Doc();
      const reader = new WebsocketProvider(client.collabUrl, "sdk-notes", other, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
        params: { token: await client.collabToken() },
      });
      await until("the reader", () => other.getText("t").toString() === "kept", 10_000);
      stop();
      reader.destroy();
      provider.destroy();
      // Each Y.Doc's awareness runs a timer until the document is destroyed.
      other.destroy();
      doc.destroy();
    } finally {
      client.disconnect();
      await server.cleanup();
    }
  });
});
