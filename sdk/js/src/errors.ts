// One error type for everything the server refuses: REST problem+json
// answers and WebSocket error replies alike.
import type { Problem, ReplyError } from "./types.js";

export class ParleyError extends Error {
  /** HTTP status (REST) or the reply's status (WebSocket); 0 for network failures. */
  readonly status: number;
  /** Problem type, e.g. "urn:parley:problem:not-found", or the reply code ("not_found"). */
  readonly type: string;
  readonly detail: string;
  /** The server's request id (X-Request-Id), to quote when reporting. */
  readonly requestId: string | undefined;
  /** Seconds the server asked to wait (Retry-After), if it did. */
  readonly retryAfter: number | undefined;

  constructor(status: number, type: string, detail: string, requestId?: string, retryAfter?: number) {
    super(detail ? `${status} ${detail}` : `${status} ${type}`);
    this.name = "ParleyError";
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  static fromProblem(problem: Partial<Problem>, status: number, retryAfter?: number): ParleyError {
    return new ParleyError(problem.status ?? status, problem.type ?? "about:blank",
      problem.detail ?? problem.title ?? "", problem.request_id, retryAfter);
  }

  static fromReply(error: ReplyError): ParleyError {
    return new ParleyError(error.status, error.code, error.message);
  }

  /** The network failed, or the server answered with something that is not ours. */
  static network(detail: string): ParleyError {
    return new ParleyError(0, "network", detail);
  }

  /** Worth retrying later: network trouble, overload, rate limits, restarts. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status === 503 || this.status === 502 ||
      this.status === 504 || this.status === 500;
  }
}
