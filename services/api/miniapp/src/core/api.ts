// The one way the page talks to the API: `Authorization: tma <initData>` on every call (never in a
// URL), `X-Community-Id` when the user belongs to several communities, `Idempotency-Key` on money
// writes, `If-Match` on edits and deletes. Errors carry the API's problem+json `detail`.

export const API = "/api/payments";

export class ApiError extends Error {
  constructor(
    public status: number,
    detail: string,
  ) {
    super(detail);
  }
}

export interface Session {
  initData: string;
  communityId: string | null;
}

let session: Session = { initData: "", communityId: null };

export function setSession(s: Session): void {
  session = s;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  idempotencyKey?: string;
  ifMatch?: number;
  wait?: number; // Prefer: wait=N (jobs)
  base?: string; // "/api" for jobs and communities
}

function headers(opts: CallOptions): Record<string, string> {
  const h: Record<string, string> = { Authorization: "tma " + session.initData };
  if (session.communityId) h["X-Community-Id"] = session.communityId;
  if (opts.body !== undefined) h["Content-Type"] = "application/json";
  if (opts.idempotencyKey) h["Idempotency-Key"] = opts.idempotencyKey;
  if (opts.ifMatch !== undefined) h["If-Match"] = `"${opts.ifMatch}"`;
  if (opts.wait) h["Prefer"] = `wait=${opts.wait}`;
  return h;
}

async function send(path: string, opts: CallOptions, accept: string): Promise<Response> {
  const h = headers(opts);
  h["Accept"] = accept;
  try {
    return await fetch((opts.base ?? API) + path, {
      method: opts.method ?? "GET",
      headers: h,
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "");
  }
}

async function fail(response: Response): Promise<never> {
  let detail = "";
  try {
    const data = await response.json();
    detail = data.detail || data.title || "";
  } catch {
    /* not JSON */
  }
  throw new ApiError(response.status, detail);
}

export async function api<T = any>(path: string, opts: CallOptions = {}): Promise<T> {
  const response = await send(path, opts, "application/json");
  if (!response.ok) return fail(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Every page of a collection (follows `after` until a short page). */
export async function all<T extends { id?: number; owner_id?: number }>(
  path: string,
  key: (row: T) => number,
): Promise<T[]> {
  const out: T[] = [];
  let after: number | null = null;
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page: T[] = await api(path + sep + "limit=500" + (after !== null ? "&after=" + after : ""));
    out.push(...page);
    if (page.length < 500) return out;
    after = key(page[page.length - 1]);
  }
}

/** A file (CSV, XLSX, PDF) fetched with the same credentials and saved by the browser. */
export async function download(path: string, fallbackName: string): Promise<string> {
  const response = await send(path, {}, "*/*");
  if (!response.ok) return fail(response);
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const m = /filename="?([^";]+)"?/.exec(disposition);
  const name = m ? m[1] : fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** A multipart upload (a bank statement): the same credentials, the browser sets the boundary. */
export async function upload<T = any>(path: string, form: FormData, opts: CallOptions = {}): Promise<T> {
  const h = headers(opts);
  h["Accept"] = "application/json";
  let response: Response;
  try {
    response = await fetch((opts.base ?? API) + path, { method: "POST", headers: h, body: form, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "");
  }
  if (!response.ok) return fail(response);
  return (await response.json()) as T;
}

/** An image the API draws (a payment QR code) as a data: URL (the CSP allows data: images). */
export async function imageUrl(path: string): Promise<string> {
  const response = await send(path, {}, "image/*");
  if (!response.ok) return fail(response);
  const blob = await response.blob();
  return await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new ApiError(0, ""));
    reader.readAsDataURL(blob);
  });
}

/** A new Idempotency-Key. */
export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One key per intended write: the same form submitted again with the same content (a double tap,
 * a retry after a lost answer) reuses the key, so the server books it once.
 */
export class IdempotentForm {
  private fingerprint = "";
  private key = "";
  keyFor(content: unknown): string {
    const f = JSON.stringify(content);
    if (f !== this.fingerprint) {
      this.fingerprint = f;
      this.key = newKey();
    }
    return this.key;
  }
  /** After a success, or an answer that says this content will never be accepted. */
  done(): void {
    this.fingerprint = "";
    this.key = "";
  }
  settle(err: unknown): void {
    // a network failure, a 409 (still in flight) or a 5xx may have been booked: keep the key
    if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 409) {
      this.done();
    }
  }
}

export interface Job {
  id: number;
  kind: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED";
  result: Record<string, unknown> | null;
  error: string | null;
}

/** Follows a job until it ends, telling `onProgress` each status it sees. */
export async function followJob(job: Job, onProgress: (j: Job) => void): Promise<Job> {
  let current = job;
  onProgress(current);
  while (current.status === "PENDING" || current.status === "RUNNING") {
    current = await api<Job>("/jobs/" + current.id, { base: "/api", wait: 5 });
    onProgress(current);
  }
  return current;
}
