// The Protocol Buffers codec against the golden vectors that the C++ codec is
// also checked against (tests/vectors/protocol_v1.json, made with Google's
// Python protobuf), and against the real binary.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { ParleyClient, type Message } from "../src/index.js";
import { decodeServerMessage, encodeRequest, protobufCodec } from "../src/proto.js";
import { BIN, TestServer, until } from "./server.js";

interface Vector { name: string; op?: string; json: Record<string, unknown>; proto_hex: string }
const vectors = JSON.parse(
  readFileSync(new URL("../../../../tests/vectors/protocol_v1.json", import.meta.url), "utf8"),
) as { events: Vector[]; requests: Vector[]; replies: Vector[] };

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

describe("golden vectors", () => {
  test("every event decodes to its JSON form", () => {
    assert.ok(vectors.events.length >= 11);
    for (const v of vectors.events) assert.deepEqual(decodeServerMessage(bytes(v.proto_hex)), v.json, v.name);
  });
  test("every request encodes to its golden bytes", () => {
    assert.ok(vectors.requests.length >= 11);
    for (const v of vectors.requests) {
      const { id, op, ...fields } = v.json as { id: string | number; op: string };
      assert.equal(hex(encodeRequest(id, op, fields)), v.proto_hex, v.name);
    }
  });
  test("every reply decodes to its JSON form", () => {
    assert.ok(vectors.replies.length >= 11);
    for (const v of vectors.replies) assert.deepEqual(decodeServerMessage(bytes(v.proto_hex)), v.json, v.name);
  });
  test("fields this SDK does not know are skipped; an unknown event type is no event", () => {
    const known = bytes(vectors.events[0]!.proto_hex);
    // Event field 900 (a newer server's event type) inside ServerMessage.event.
    const newer = new Uint8Array([0x12, 0x0c, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0xa2, 0x38, 0x00]);
    assert.equal(decodeServerMessage(newer), null);
    const withExtra = new Uint8Array([...known, 0xc8, 0x3e, 0x01]); // ServerMessage field 999
    assert.deepEqual(decodeServerMessage(withExtra), vectors.events[0]!.json);
    assert.equal(protobufCodec.decode("a text frame"), null);
  });
});

const skip = BIN ? false : "PARLEY_BIN is not set (run through ctest)";

describe("the binary encoding against parley", { skip }, () => {
  const server = new TestServer({});
  const made: ParleyClient[] = [];
  before(async () => {
    await server.start();
  });
  after(async () => {
    for (const c of made) c.disconnect();
    await server.cleanup();
  });

  test("a protobuf client and a JSON client chat, each message once and in order", async () => {
    const mk = (codec?: typeof protobufCodec) => {
      const c = new ParleyClient({ baseUrl: server.url, WebSocket: WebSocket as never, ...(codec ? { codec } : {}) });
      made.push(c);
      return c;
    };
    const pb = mk(protobufCodec);
    const js = mk();
    const pass = "correct horse battery";
    await pb.register("pb_user", pass);
    await js.register("js_user", pass);
    const conv = await pb.api("post", "/api/conversations", {
      body: { kind: "group", title: "codecs", members: [js.user!.id] },
    });
    const got: Record<string, Message[]> = { pb: [], js: [] };
    pb.on("message", (m) => got.pb!.push(m));
    js.on("message", (m) => got.js!.push(m));
    const typing: string[] = [];
    pb.on("typing", (e) => typing.push(e.user_id));
    pb.follow(conv.id, 0);
    js.follow(conv.id, 0);
    pb.connect();
    js.connect();
    await until("both connected", () => pb.state === "connected" && js.state === "connected");
    for (let i = 0; i < 5; i++) {
      pb.send(conv.id, `pb ${i} 你好`);
      js.send(conv.id, `js ${i}`);
    }
    await until("ten messages each", () => got.pb!.length === 10 && got.js!.length === 10);
    assert.deepEqual(got.pb!.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(got.pb, got.js); // the same messages, field for field
    assert.ok(got.pb!.some((m) => m.body === "pb 4 你好"));
    await js.typing(conv.id);
    await until("a typing event", () => typing.length === 1);
    assert.equal(typing[0], js.user!.id);
  });
});
