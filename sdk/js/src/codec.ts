// How protocol v1 frames are written and read. The JSON form (subprotocol
// parley.v1) is built in and the default; the Protocol Buffers form
// (parley.v1.proto) is `protobufCodec` from "@parley/sdk/proto", kept in its
// own entry so an app that does not choose it carries none of its code.
// Either way the rest of the SDK sees the JSON shapes of docs/protocol.md.

export interface Codec {
  /** The WebSocket subprotocol to offer. */
  readonly subprotocol: string;
  /** "arraybuffer" for binary encodings: how the socket should hand over frames. */
  readonly binaryType?: "arraybuffer";
  /** One request frame. */
  encodeRequest(id: string, op: string, fields: Record<string, unknown>): string | Uint8Array;
  /** One frame from the server as its JSON shape (a reply or an event), or null if unreadable. */
  decode(data: unknown): Record<string, unknown> | null;
}

export const jsonCodec: Codec = {
  subprotocol: "parley.v1",
  encodeRequest: (id, op, fields) => JSON.stringify({ id, op, ...fields }),
  decode(data) {
    if (typeof data !== "string") return null;
    try {
      const v: unknown = JSON.parse(data);
      return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  },
};
