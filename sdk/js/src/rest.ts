// REST calls typed by the generated `paths` of docs/openapi.yaml: the path,
// its parameters, the body and the answer all come from the document, so a
// route the server does not have, or a wrong field, does not compile.
import { ParleyError } from "./errors.js";
import type { paths } from "./types.js";

export type Method = "get" | "post" | "put" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;

type PathParams<O> = O extends { parameters: { path: infer X } } ? (X extends undefined ? never : X) : never;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type JsonBody<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B
    : never;
type Content<R> = R extends { content: { "application/json": infer C } } ? C : void;
type Ok<O> = O extends { responses: infer R }
  ? 200 extends keyof R ? Content<R[200]> : 201 extends keyof R ? Content<R[201]> : 204 extends keyof R ? void : unknown
  : never;

/** The paths that have method M. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, infer O> ? (O extends undefined | never ? never : P) : never;
}[keyof paths];

export interface CallOptions<O> {
  path?: PathParams<O> extends never ? never : PathParams<O>;
  query?: QueryParams<O>;
  body?: JsonBody<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}
export type Response<P extends keyof paths, M extends Method> = Ok<Op<P, M>>;

export interface Transport {
  /** Sends one request; the access token (if any) is added by the caller. */
  (method: string, url: string, init: { headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<{
    status: number;
    headers: { get(name: string): string | null };
    text(): Promise<string>;
  }>;
}

/** Fills {placeholders} of a path template with encoded values. */
export function expandPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter '${name}'`);
    return encodeURIComponent(String(value));
  });
}

export function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Turns a non-2xx answer into a ParleyError (problem+json when it is one). */
export async function errorFrom(res: { status: number; headers: { get(name: string): string | null }; text(): Promise<string> }): Promise<ParleyError> {
  const retry = Number(res.headers.get("retry-after") ?? "");
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  const text = await res.text().catch(() => "");
  try {
    const problem = JSON.parse(text) as Record<string, unknown>;
    if (problem && typeof problem === "object") return ParleyError.fromProblem(problem, res.status, retryAfter);
  } catch {
    // not JSON: fall through
  }
  return new ParleyError(res.status, "about:blank", text.slice(0, 200) || `HTTP ${res.status}`,
    res.headers.get("x-request-id") ?? undefined, retryAfter);
}

export async function parseBody<T>(res: { status: number; text(): Promise<string> }): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw ParleyError.network(`the server answered ${res.status} with a body that is not JSON`);
  }
}

export type { Op };
