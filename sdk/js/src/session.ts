// The login: access token in memory, refreshed shortly before it expires and
// once more on a 401, with one refresh in flight however many calls race
// (and, in browsers, one across tabs: Web Locks). Two ways to hold the
// refresh token:
//  - "cookie" (browsers, same origin): the server keeps it in an HttpOnly
//    cookie; page scripts never see it. A reload resumes with resume().
//  - "token" (Node, bots, other origins): it is kept here, and handed to
//    `onTokens` so the caller can store it if it wants the login to outlive
//    the process.
import { ParleyError } from "./errors.js";
import { errorFrom, parseBody, type Transport } from "./rest.js";
import type { Session, User } from "./types.js";

export interface StoredTokens {
  refreshToken: string;
  deviceToken?: string;
}

export interface SessionOptions {
  baseUrl: string;
  transport: Transport;
  mode: "cookie" | "token";
  now: () => number;
  /** Refresh this long before the access token expires. */
  refreshMarginMs: number;
  /** Tokens from an earlier run (token mode). */
  tokens?: StoredTokens;
  onTokens?: (tokens: StoredTokens | null) => void;
  onSession?: (user: User) => void;
  onEnded?: (reason: string) => void;
}

interface LockManager {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function webLocks(): LockManager | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManager } }).navigator;
  return nav?.locks;
}

export class SessionManager {
  private access: string | null = null;
  private accessExpiresAt = 0;
  private refreshToken: string | null;
  private deviceToken: string | null;
  private refreshing: Promise<string> | null = null;
  private currentUser: User | null = null;
  private ended = false;

  constructor(private readonly opts: SessionOptions) {
    this.refreshToken = opts.tokens?.refreshToken ?? null;
    this.deviceToken = opts.tokens?.deviceToken ?? null;
  }

  get user(): User | null {
    return this.currentUser;
  }

  /** Whether a login is held (an access token, or a way to get one). */
  get signedIn(): boolean {
    return this.currentUser !== null;
  }

  async register(username: string, password: string, displayName?: string): Promise<User> {
    const body: Record<string, string> = { username, password };
    if (displayName) body.display_name = displayName;
    return this.adopt(await this.post<Session>("/api/auth/register", body));
  }

  async login(username: string, password: string): Promise<User> {
    const body: Record<string, string> = { username, password };
    if (this.deviceToken && this.opts.mode === "token") body.device_token = this.deviceToken;
    return this.adopt(await this.post<Session>("/api/auth/login", body));
  }

  /** Picks up an existing login (the cookie, or stored tokens); null if there is none. */
  async resume(): Promise<User | null> {
    if (this.opts.mode === "token" && !this.refreshToken) return null;
    try {
      await this.refresh();
      return this.currentUser;
    } catch (e) {
      if (e instanceof ParleyError && (e.status === 401 || e.status === 400)) return null;
      throw e;
    }
  }

  async logout(): Promise<void> {
    const body: Record<string, string> = {};
    if (this.opts.mode === "token") {
      if (!this.refreshToken) return this.end("logged out");
      body.refresh_token = this.refreshToken;
    }
    try {
      await this.post<void>("/api/auth/logout", body);
    } finally {
      this.end("logged out");
    }
  }

  /** A valid access token, refreshed first if it expires within the margin. */
  async accessToken(): Promise<string> {
    if (this.ended && !this.access) throw new ParleyError(401, "unauthorized", "not signed in");
    if (this.access && this.opts.now() < this.accessExpiresAt - this.opts.refreshMarginMs) return this.access;
    return this.refresh();
  }

  /** When the current access token expires (ms since the epoch; 0 if none). */
  get expiresAt(): number {
    return this.accessExpiresAt;
  }

  /** Refreshes now; concurrent callers share one refresh. */
  refresh(): Promise<string> {
    if (!this.refreshing) {
      const run = () => this.doRefresh();
      const locks = this.opts.mode === "cookie" ? webLocks() : undefined;
      this.refreshing = (locks ? locks.request("parley-refresh", run) : run()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Calls the API with the access token; on a 401, refreshes once and tries again. */
  async authorized(method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>, signal?: AbortSignal) {
    const send = async (token: string) => {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, ...extraHeaders };
      let payload: string | undefined;
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      return this.fetch(method, path, headers, payload, signal);
    };
    let res = await send(await this.accessToken());
    if (res.status === 401 && !this.ended) {
      res = await send(await this.refresh());
    }
    return res;
  }

  private async doRefresh(): Promise<string> {
    const before = this.accessExpiresAt;
    // Another tab (cookie mode) may have refreshed while we waited for the lock;
    // its new cookie is ours too, so refreshing again is safe either way.
    const body: Record<string, string> = {};
    if (this.opts.mode === "token") {
      if (!this.refreshToken) throw new ParleyError(401, "unauthorized", "not signed in");
      body.refresh_token = this.refreshToken;
    }
    let session: Session;
    try {
      session = await this.post<Session>("/api/auth/refresh", body);
    } catch (e) {
      if (e instanceof ParleyError && e.status === 401) {
        if (before !== 0 || this.currentUser) this.end(e.detail || "session revoked");
      }
      throw e;
    }
    this.adopt(session);
    return this.access as string;
  }

  private adopt(session: Session): User {
    this.ended = false;
    this.access = session.access_token;
    this.accessExpiresAt = this.opts.now() + session.expires_in * 1000;
    if (session.refresh_token) this.refreshToken = session.refresh_token;
    if (session.device_token) this.deviceToken = session.device_token;
    this.currentUser = session.user;
    if (this.opts.mode === "token" && this.refreshToken) {
      const tokens: StoredTokens = { refreshToken: this.refreshToken };
      if (this.deviceToken) tokens.deviceToken = this.deviceToken;
      this.opts.onTokens?.(tokens);
    }
    this.opts.onSession?.(session.user);
    return session.user;
  }

  private end(reason: string): void {
    const had = this.currentUser !== null;
    this.access = null;
    this.accessExpiresAt = 0;
    this.refreshToken = null;
    this.currentUser = null;
    this.ended = true;
    // The device token stays: it is what keeps this client from being locked out.
    this.opts.onTokens?.(this.deviceToken ? { refreshToken: "", deviceToken: this.deviceToken } : null);
    if (had) this.opts.onEnded?.(reason);
  }

  private async post<T>(path: string, body: Record<string, string>): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.opts.mode === "cookie") headers["X-Parley-Session"] = "cookie";
    const res = await this.fetch("POST", path, headers, JSON.stringify(body));
    if (res.status >= 400) throw await errorFrom(res);
    return parseBody<T>(res);
  }

  private async fetch(method: string, path: string, headers: Record<string, string>, body?: string, signal?: AbortSignal) {
    try {
      const init: { headers: Record<string, string>; body?: string; signal?: AbortSignal } = { headers };
      if (body !== undefined) init.body = body;
      if (signal) init.signal = signal;
      return await this.opts.transport(method, this.opts.baseUrl + path, init);
    } catch (e) {
      if (e instanceof ParleyError) throw e;
      throw ParleyError.network(e instanceof Error ? e.message : String(e));
    }
  }
}
