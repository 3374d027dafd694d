/**
 * A small router over node:http: exact segment patterns, percent-decoding per segment (so an
 * encoded "/" can never become a path separator), bounded bodies, and Notehub-shaped errors
 * `{err, code, status}` on every non-2xx answer.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { Hub, HubError, type Principal } from './hub';
import type { ProjectRecord } from './store/types';

export const JSON_LIMIT = 1024 * 1024;
export const FIRMWARE_LIMIT = 16 * 1024 * 1024;
/** Past this much of an oversized body we stop reading it and drop the connection. */
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

  async handle(hub: Hub, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#dispatch(hub, req);
    } catch (e) {
      reply = e instanceof HubError ? errorReply(e.status, e.message) : errorReply(500, 'internal error');
      if (!(e instanceof HubError)) console.error('hub: request failed:', e);
      if (e instanceof HubError && e.status === 429) reply.headers = { 'Retry-After': String((e as RateError).retryAfter) };
    }
    send(req, res, reply);
  }

  async #dispatch(hub: Hub, req: IncomingMessage): Promise<Reply> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    let segs: string[];
    try { segs = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s)); } catch { throw new HubError(400, 'malformed percent-encoding in path'); }
    const v1 = segs[0] === 'v1';
    // /v1 answers 401 before anything else, so unauthenticated callers learn nothing about routes
    const principal = v1 ? await hub.authenticate(bearer(req)) : undefined;
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
      ctx.principal = principal ?? await hub.authenticate(bearer(req));
      const wait = hub.rateLimit(ctx.principal);
      if (wait > 0) throw new RateError(wait);
      if (route.access === 'project') ctx.project = await hub.authorize(ctx.principal, m.params.project);
    }
    return route.handler(ctx);
  }
}

export class RateError extends HubError {
  override name = 'RateError';
  readonly retryAfter: number;
  constructor(retryAfter: number) { super(429, 'rate limit exceeded'); this.retryAfter = retryAfter; }
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
  // an unread request body would be parsed as the next request: close such connections
  if (!req.complete) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(data);
}

/**
 * The whole body, at most `limit` bytes. Past the limit the rest is read and thrown away (so
 * the client, still sending, can read our 413), up to DRAIN_LIMIT, then the socket is cut.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > limit;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      if (over) {
        if (size > DRAIN_LIMIT) req.destroy();
        return;
      }
      chunks.push(c);
    });
    let settled = false;
    const fail = (e: Error): void => { if (!settled) { settled = true; reject(e); } };
    req.on('end', () => {
      if (over) return fail(new HubError(413, `body larger than ${limit} bytes`));
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', fail);
    req.on('close', () => { if (!settled) fail(new HubError(over ? 413 : 400, 'request body cut short')); });
  });
}
