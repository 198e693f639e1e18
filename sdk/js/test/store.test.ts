// The IndexedDB store (fake-indexeddb in Node): what a reload must find again.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { test } from "node:test";
import { IndexedDbStore, MemoryStore, type LocalStore } from "../src/store.js";
import type { Message } from "../src/types.js";

function msg(conv: string, seq: number): Message {
  return { id: `m${seq}`, conversation_id: conv, seq, sender_id: "u", client_id: `c${seq}`, body: `b${seq}`, created_at: seq, edited_at: null, deleted: false, deleted_at: null };
}

async function exercise(open: () => Promise<LocalStore>) {
  let store = await open();
  await store.putOutbox({ client_id: "c-2", conv: "a", body: "second", created_at: 2, state: "pending" });
  await store.putOutbox({ client_id: "c-1", conv: "a", body: "first", created_at: 1, state: "pending" });
  await store.putMessages([1, 2, 3, 4, 5, 6, 7].map((s) => msg("a", s)), 5);
  await store.putMessages([msg("b", 1)], 5);
  await store.putConversations([{ id: "a", kind: "group", title: "A", created_by: "u", created_at: 1, updated_at: 1, last_seq: 7, activity_at: 7 }]);
  store.close();
  store = await open(); // a reload
  assert.deepEqual((await store.outbox()).map((i) => i.client_id), ["c-1", "c-2"]);
  assert.deepEqual((await store.messages("a", 10)).map((m) => m.seq), [3, 4, 5, 6, 7], "kept the newest 5");
  assert.deepEqual((await store.messages("a", 2)).map((m) => m.seq), [6, 7]);
  assert.deepEqual((await store.messages("b", 10)).map((m) => m.seq), [1]);
  await store.dropMessagesAfter("a", 4);
  assert.deepEqual((await store.messages("a", 10)).map((m) => m.seq), [3, 4]);
  await store.removeOutbox("c-1");
  assert.deepEqual((await store.outbox()).map((i) => i.client_id), ["c-2"]);
  assert.equal((await store.conversations())[0]?.title, "A");
  store.close();
}

test("IndexedDB store keeps the outbox and the newest messages across a reload", async () => {
  await exercise(() => IndexedDbStore.open("parley-test-user"));
  await IndexedDbStore.destroy("parley-test-user");
  const fresh = await IndexedDbStore.open("parley-test-user");
  assert.equal((await fresh.outbox()).length, 0, "destroy removes everything");
  fresh.close();
});

test("memory store behaves the same", async () => {
  const mem = new MemoryStore();
  await exercise(async () => mem);
});
