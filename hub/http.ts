/**
 * A small router over node:http: exact segment patterns, percent-decoding per segment (so an
 * encoded "/" can never become a path separator), bounded bodies, and Notehub-shaped errors
 * `{err, code, status}` on every non-2xx answer.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Hub, HubError, type Principal } from './hub';
import type { ProjectRecord } from './store/types';

export const JSON_LIMIT = 1024 * 1024;
export const FIRMWARE_LIMIT = 16 * 1024 * 1024;
/** After answering, at most this much of an unread body is read and dropped; then the connection is cut. */
const DRAIN_LIMIT = 64 * 1024 * 1024;
const MAX_LIST = 100;

export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; text: string; type?: string; headers?: Record<string, string> }
  | { status?: number; bytes: Uint8Array; type?: string; headers?: Record<string, string> };

export class Ctx {
  readonly req: IncomingMessage;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly hub: Hub;
  principal!: Principal;
  project!: ProjectRecord;
  readonly #limit: number;

  constructor(hub: Hub, req: IncomingMessage, params: Record<string, string>, query: URLSearchParams, limit: number) {
    this.hub = hub; this.req = req; this.params = params; this.query = query; this.#limit = limit;
  }

  raw(): Promise<Buffer> { return readBody(this.req, this.#limit); }

  /** The JSON body as an object; an empty body reads as {}. */
  async body(): Promise<Record<string, unknown>> {
    const buf = await this.raw();
    if (!buf.length) return {};
    let v: unknown;
    try { v = JSON.parse(buf.toString('utf8')); } catch { throw new HubError(400, 'malformed JSON body'); }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HubError(400, 'the body must be a JSON object');
    return v as Record<string, unknown>;
  }

  str(name: string): string | undefined {
    const v = this.query.get(name);
    return v === null || v === '' ? undefined : v;
  }

  /** A repeated query argument (?tag=a&tag=b); `commas` also splits a=1,2. */
  list(name: string, commas = false): string[] | undefined {
    let vals = this.query.getAll(name).filter((v) => v !== '');
    if (commas) vals = vals.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
    if (vals.length > MAX_LIST) throw new HubError(400, `at most ${MAX_LIST} values for ${name}`);
    return vals.length ? vals : undefined;
  }

  int(name: string, dflt: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return dflt;
    if (!/^-?\d+$/.test(v)) throw new HubError(400, `${name} must be an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new HubError(400, `${name} must be between ${min} and ${max}`);
    return n;
  }

  bool(name: string): boolean {
    const v = this.str(name);
    return v === 'true' || v === '1';
  }
}

export type Handler = (ctx: Ctx) => Promise<Reply>;
/** 'none': public; 'token': any valid token; 'project': valid token that reaches params.project. */
export type Access = 'none' | 'token' | 'project';
interface Route { method: string; segs: string[]; access: Access; limit: number; handler: Handler }

export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, access: Access, handler: Handler, limit = JSON_LIMIT): this {
    this.#routes.push({ method, segs: pattern.split('/').filter(Boolean), access, limit, handler });
    return this;
  }

  /** The table, for tests that must cover every route. */
  list(): { method: string; pattern: string; access: Access }[] {
    return this.#routes.map((r) => ({ method: r.method, pattern: `/${r.segs.join('/')}`, access: r.access }));
  }

  /** Every route whose pattern fits the path, in table order (literal routes are added first). */
  #match(segs: string[]): { route: Route; params: Record<string, string> }[] {
    const out: { route: Route; params: Record<string, string> }[] = [];
    for (const r of this.#routes) {
      if (r.segs.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = r.segs[i];
        if (p.startsWith(':')) params[p.slice(1)] = segs[i];
        else ok = p === segs[i];
      }
      if (ok) out.push({ route: r, params });
    }
    return out;
  }

  /** `log` is startHub's log option: a failure the caller only sees as a 500 is told there. */
  async handle(hub: Hub, req: IncomingMessage, res: ServerResponse, log: (line: string) => void): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#dispatch(hub, req);
    } catch (e) {
      reply = e instanceof HubError ? errorReply(e.status, e.message) : errorReply(500, 'internal error');
      if (!(e instanceof HubError)) log(`hub: request failed: ${describe(e)}`);
      if (e instanceof HubError && e.retryAfter !== undefined) reply.headers = { 'Retry-After': String(e.retryAfter) };
    }
    send(req, res, reply);
  }

  async #dispatch(hub: Hub, req: IncomingMessage): Promise<Reply> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const qs = q < 0 ? '' : url.slice(q + 1);
    let segs: string[];
    try { segs = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s)); } catch { throw new HubError(400, 'malformed percent-encoding in path'); }
    // URLSearchParams would keep a bad escape as text: refuse it, as for the path
    try { decodeURIComponent(qs.replace(/\+/g, ' ')); } catch { throw new HubError(400, 'malformed percent-encoding in query string'); }
    const query = new URLSearchParams(qs);
    const v1 = segs[0] === 'v1';
    // /v1 answers 401 before anything else, so unauthenticated callers learn nothing about routes
    const principal = v1 ? await hub.accounts.authenticate(bearer(req)) : undefined;
    const matches = this.#match(segs);
    if (!matches.length) throw new HubError(404, `no such route: ${req.method} ${path}`);
    const m = matches.find((x) => x.route.method === req.method);
    if (!m) {
      const allow = [...new Set(matches.map((x) => x.route.method))].join(', ');
      return { ...errorReply(405, `method ${req.method} not allowed; use ${allow}`), headers: { Allow: allow } };
    }
    const route = m.route;
    const ctx = new Ctx(hub, req, m.params, query, route.limit);
    if (route.access !== 'none') {
      ctx.principal = principal ?? await hub.accounts.authenticate(bearer(req));
      const wait = hub.accounts.rateLimit(ctx.principal);
      if (wait > 0) throw new RateError(wait);
      if (route.access === 'project') ctx.project = await hub.projects.authorize(ctx.principal, m.params.project);
    }
    return route.handler(ctx);
  }
}

export class RateError extends HubError {
  override name = 'RateError';
  constructor(retryAfter: number) { super(429, 'rate limit exceeded', retryAfter); }
}

function bearer(req: IncomingMessage): string | undefined {
  const a = req.headers.authorization;
  if (a) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(a);
    return m ? m[1] : undefined;
  }
  const s = req.headers['x-session-token'];
  return typeof s === 'string' && s ? s : undefined;
}

export function errorReply(code: number, err: string): Reply & { headers?: Record<string, string> } {
  return { status: code, json: { err, code, status: STATUS_CODES[code] ?? 'Error' } };
}

function send(req: IncomingMessage, res: ServerResponse, r: Reply): void {
  const status = r.status ?? 200;
  let data: string | Uint8Array;
  let type: string;
  if ('json' in r) { data = JSON.stringify(r.json); type = 'application/json'; }
  else if ('text' in r) { data = r.text; type = r.type ?? 'application/json'; }
  else { data = r.bytes; type = r.type ?? 'application/octet-stream'; }
  const headers: Record<string, string | number> = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(data), ...r.headers };
  // Answered before the body was read (401, 404, 413...): read the rest and drop it, so the
  // client, maybe still sending, gets this answer instead of a reset. Node's parser keeps the
  // framing, so the connection stays usable; a client that sends on and on is cut off.
  if (!req.complete) discard(req);
  res.writeHead(status, headers);
  res.end(data);
}

function discard(req: IncomingMessage): void {
  let n = 0;
  req.on('data', (c: Buffer) => { if ((n += c.length) > DRAIN_LIMIT) req.destroy(); });
  req.resume();
}

/**
 * The whole body, at most `limit` bytes. A body declared larger is refused before any of it is
 * read, one that grows past the limit as soon as it does (413); send() drains what follows.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) return reject(new HubError(413, `body larger than ${limit} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (e: Error): void => { if (!settled) { settled = true; req.off('data', onData); reject(e); } };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) return fail(new HubError(413, `body larger than ${limit} bytes`));
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', fail);
    req.on('close', () => fail(new HubError(400, 'request body cut short')));
  });
}

/**
 * Node answers requests it cannot parse itself ('clientError'), with an empty body; answer in
 * the documented JSON instead: 400 malformed, 431 headers too large, 408 too slow.
 */
export function clientError(err: Error & { code?: string }, socket: Duplex): void {
  const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || busy) { socket.destroy(); return; }
  const [code, text] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'request headers too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request not received in time']
      : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW' ? [413, 'chunk extensions too large'] : [400, 'malformed HTTP request'];
  const body = JSON.stringify((errorReply(code, text) as { json: unknown }).json);
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** An error for a log line: its stack when it has one. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.stack ?? String(e) : String(e);
}
