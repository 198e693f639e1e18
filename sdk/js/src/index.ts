export { ParleyClient, type ParleyClientOptions } from "./client.js";
export { jsonCodec, type Codec } from "./codec.js";
export { keepCollabTokenFresh, type CollabProviderLike, type CollabTokenSource, type KeepFreshOptions } from "./collab.js";
export { ParleyError } from "./errors.js";
export { LiveConnection, realTimers, type Timers, type WebSocketCtor, type WebSocketLike } from "./live.js";
export { IndexedDbStore, MemoryStore, type LocalStore } from "./store.js";
export type { StoredTokens } from "./session.js";
export type { CallOptions, Method } from "./rest.js";
export * from "./types.js";
