// Collaboration documents: the y-websocket provider's token, kept fresh.
//
// The npm y-websocket client sends its `params` (here `?token=`) on every
// reconnect, and Parley refuses an expired access token with 4401, which
// y-websocket 3.1 treats as final. An open connection outlives its token, so
// what matters is the token the provider holds when it next reconnects:
// keepCollabTokenFresh replaces it shortly before it expires, and again
// whenever the connection closes, for as long as the session lasts.
import type { Timers } from "./live.js";
import { realTimers } from "./live.js";

/** What keepCollabTokenFresh needs of a y-websocket WebsocketProvider. */
export interface CollabProviderLike {
  params: Record<string, string>;
  on?(event: "connection-close", listener: (...args: unknown[]) => void): void;
  off?(event: "connection-close", listener: (...args: unknown[]) => void): void;
}

/** What it needs of the client (ParleyClient has both). */
export interface CollabTokenSource {
  collabToken(): Promise<string>;
  readonly tokenExpiresAt: number;
}

export interface KeepFreshOptions {
  /** Refresh this long before the token expires (default 60 s). */
  marginMs?: number;
  timers?: Timers;
  onError?: (e: unknown) => void;
}

/**
 * Puts a valid access token in provider.params.token now (await it before
 * connecting the provider), and keeps it valid. Returns a stop function.
 */
export async function keepCollabTokenFresh(
  source: CollabTokenSource,
  provider: CollabProviderLike,
  options: KeepFreshOptions = {},
): Promise<() => void> {
  const timers = options.timers ?? realTimers;
  const margin = options.marginMs ?? 60_000;
  let stopped = false;
  let timer: unknown = null;

  const schedule = () => {
    if (stopped) return;
    if (timer !== null) timers.clearTimeout(timer);
    const due = source.tokenExpiresAt - margin - timers.now();
    timer = timers.setTimeout(() => void renew(), Math.max(1_000, due));
  };
  const renew = async () => {
    if (stopped) return;
    try {
      provider.params.token = await source.collabToken();
    } catch (e) {
      options.onError?.(e); // the session ended: nothing to renew
      return;
    }
    schedule();
  };
  const onClose = () => void renew();

  provider.params.token = await source.collabToken();
  schedule();
  provider.on?.("connection-close", onClose);
  return () => {
    stopped = true;
    if (timer !== null) timers.clearTimeout(timer);
    provider.off?.("connection-close", onClose);
  };
}
