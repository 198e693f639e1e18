// Local state that outlives a connection: the outbox (sends not yet
// acknowledged) and a cache of conversations and recent messages, so an app
// opens with history while offline and a reload loses no send. Two
// implementations of one interface: IndexedDB in browsers, memory elsewhere
// (or for tests); pass your own to the client to store it somewhere else.
import type { Conversation, Message, OutboxItem } from "./types.js";

export interface LocalStore {
  outbox(): Promise<OutboxItem[]>;
  putOutbox(item: OutboxItem): Promise<void>;
  removeOutbox(clientId: string): Promise<void>;
  conversations(): Promise<Conversation[]>;
  putConversations(list: Conversation[]): Promise<void>;
  /** The newest `limit` cached messages of a conversation, in seq order. */
  messages(conv: string, limit: number): Promise<Message[]>;
  /** Stores messages; keeps at most `keep` per conversation (the newest). */
  putMessages(list: Message[], keep: number): Promise<void>;
  /** Forgets cached messages after seq (a server restored from a backup). */
  dropMessagesAfter(conv: string, seq: number): Promise<void>;
  close(): void;
}

function bySeq(a: Message, b: Message) {
  return a.seq - b.seq;
}

export class MemoryStore implements LocalStore {
  private out = new Map<string, OutboxItem>();
  private convs = new Map<string, Conversation>();
  private msgs = new Map<string, Map<number, Message>>();

  async outbox() {
    return [...this.out.values()].sort((a, b) => a.created_at - b.created_at);
  }
  async putOutbox(item: OutboxItem) {
    this.out.set(item.client_id, { ...item });
  }
  async removeOutbox(clientId: string) {
    this.out.delete(clientId);
  }
  async conversations() {
    return [...this.convs.values()];
  }
  async putConversations(list: Conversation[]) {
    for (const c of list) this.convs.set(c.id, c);
  }
  async messages(conv: string, limit: number) {
    const all = [...(this.msgs.get(conv)?.values() ?? [])].sort(bySeq);
    return all.slice(Math.max(0, all.length - limit));
  }
  async putMessages(list: Message[], keep: number) {
    for (const m of list) {
      let map = this.msgs.get(m.conversation_id);
      if (!map) this.msgs.set(m.conversation_id, (map = new Map()));
      map.set(m.seq, m);
      if (map.size > keep) {
        const seqs = [...map.keys()].sort((a, b) => a - b);
        for (const s of seqs.slice(0, map.size - keep)) map.delete(s);
      }
    }
  }
  async dropMessagesAfter(conv: string, seq: number) {
    const map = this.msgs.get(conv);
    if (!map) return;
    for (const s of [...map.keys()]) if (s > seq) map.delete(s);
  }
  close() {}
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

/** IndexedDB, one database per user ("parley-<user id>"). */
export class IndexedDbStore implements LocalStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(name: string, factory: IDBFactory = indexedDB): Promise<IndexedDbStore> {
    const req = factory.open(name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("outbox", { keyPath: "client_id" });
      db.createObjectStore("conversations", { keyPath: "id" });
      db.createObjectStore("messages", { keyPath: ["conversation_id", "seq"] });
    };
    return new IndexedDbStore(await request(req));
  }

  static async destroy(name: string, factory: IDBFactory = indexedDB): Promise<void> {
    await request(factory.deleteDatabase(name));
  }

  async outbox() {
    const items = await request(this.db.transaction("outbox").objectStore("outbox").getAll());
    return (items as OutboxItem[]).sort((a, b) => a.created_at - b.created_at);
  }
  async putOutbox(item: OutboxItem) {
    const tx = this.db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put(item);
    await done(tx);
  }
  async removeOutbox(clientId: string) {
    const tx = this.db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").delete(clientId);
    await done(tx);
  }
  async conversations() {
    return (await request(this.db.transaction("conversations").objectStore("conversations").getAll())) as Conversation[];
  }
  async putConversations(list: Conversation[]) {
    const tx = this.db.transaction("conversations", "readwrite");
    const store = tx.objectStore("conversations");
    for (const c of list) store.put(c);
    await done(tx);
  }
  async messages(conv: string, limit: number) {
    const range = IDBKeyRange.bound([conv, 0], [conv, Number.MAX_SAFE_INTEGER]);
    const store = this.db.transaction("messages").objectStore("messages");
    const out: Message[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = store.openCursor(range, "prev");
      req.onerror = () => reject(req.error);
      req.onsuccess = () => {
        const cursor = req.result;
        if (!cursor || out.length >= limit) return resolve();
        out.push(cursor.value as Message);
        cursor.continue();
      };
    });
    return out.reverse();
  }
  async putMessages(list: Message[], keep: number) {
    if (!list.length) return;
    const tx = this.db.transaction("messages", "readwrite");
    const store = tx.objectStore("messages");
    const convs = new Set<string>();
    for (const m of list) {
      store.put(m);
      convs.add(m.conversation_id);
    }
    // Trim each touched conversation to its newest `keep`.
    for (const conv of convs) {
      const range = IDBKeyRange.bound([conv, 0], [conv, Number.MAX_SAFE_INTEGER]);
      let seen = 0;
      const req = store.openCursor(range, "prev");
      req.onsuccess = () => {
        const cursor = req.result;
        if (!cursor) return;
        if (++seen > keep) cursor.delete();
        cursor.continue();
      };
    }
    await done(tx);
  }
  async dropMessagesAfter(conv: string, seq: number) {
    const tx = this.db.transaction("messages", "readwrite");
    tx.objectStore("messages").delete(IDBKeyRange.bound([conv, seq + 1], [conv, Number.MAX_SAFE_INTEGER]));
    await done(tx);
  }
  close() {
    this.db.close();
  }
}
