/**
 * The hub's HTTP layer on Fastify. The route table (hub/api.ts) is built with Router.add; build()
 * turns it into a Fastify app that keeps what clients rely on: 401 before 404/405 under /v1, 405
 * with Allow, 413 past the body limit, percent-decoded path segments (an encoded "/" never becomes
 * a separator), repeated query arguments as arrays, and `{err, code, status}` on every non-2xx,
 * including what Fastify and Node answer themselves.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import Ajv, { type ValidateFunction } from 'ajv';
import fastJsonStringify from 'fast-json-stringify';
import type { TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { Hub, HubError, type Principal } from './hub';
import type { ProjectRecord } from './store/types';
import { ErrorJ } from './schemas';

export const JSON_LIMIT = 1024 * 1024;
export const FIRMWARE_LIMIT = 16 * 1024 * 1024;
/** After answering, at most this much of an unread body is read and dropped; then the connection is cut. */
const DRAIN_LIMIT = 64 * 1024 * 1024;
const MAX_LIST = 100;
/** The OpenAPI document generated from the route table's schemas. */
export const OPENAPI_PATH = '/openapi.json';

export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; text: string; type?: string; headers?: Record<string, string> }
  | { status?: number; bytes: Uint8Array; type?: string; headers?: Record<string, string> }
  /** a long-lived response the handler writes itself (server-sent events) */
  | { stream: (res: ServerResponse) => void };

/** A route's schemas; `response` is the 200 reply (errors are documented as ErrorJ). */
export interface Schema {
  params?: TSchema; querystring?: TSchema; body?: TSchema; response?: TSchema;
  /** the @blues-inc/notehub-js operation this route serves (checked by test/hub/openapi.test) */
  operationId?: string; summary?: string;
}
/** json: a JSON object whatever the Content-Type (curl -d sends a form type); form: urlencoded; raw: bytes. */
export type BodyKind = 'json' | 'form' | 'raw';
export interface RouteOptions { limit?: number; body?: BodyKind }

/** What a handler sees: the validated params, query and body, and who asks. */
export class Ctx {
  readonly req: IncomingMessage;
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly hub: Hub;
  principal!: Principal;
  project!: ProjectRecord;
  readonly #body: unknown;

  constructor(hub: Hub, request: FastifyRequest) {
    this.hub = hub;
    this.req = request.raw;
    this.params = (request.params ?? {}) as Record<string, string>;
    this.query = (request.query ?? {}) as Record<string, unknown>;
    this.#body = request.body;
  }

  /** The body's bytes (routes added with body: 'raw'). */
  async raw(): Promise<Buffer> { return Buffer.isBuffer(this.#body) ? this.#body : Buffer.alloc(0); }

  /** The JSON body as an object (already checked against the route's schema); an empty body reads as {}. */
  async body(): Promise<Record<string, unknown>> { return (this.#body ?? {}) as Record<string, unknown>; }

  str(name: string): string | undefined {
    const v = this.query[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  }

  /** A repeated query argument (?tag=a&tag=b); `commas` also splits a=1,2. */
  list(name: string, commas = false): string[] | undefined {
    const v = this.query[name];
    let vals = (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String).filter((x) => x !== '');
    if (commas) vals = vals.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
    if (vals.length > MAX_LIST) throw new HubError(400, `at most ${MAX_LIST} values for ${name}`);
    return vals.length ? vals : undefined;
  }

  /** An integer argument; the schema has converted and range-checked it, this keeps a table entry without one safe. */
  int(name: string, dflt: number, min: number, max: number): number {
    const v = this.query[name];
    if (v === undefined || v === '') return dflt;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isSafeInteger(n)) throw new HubError(400, `${name} must be an integer`);
    if (n < min || n > max) throw new HubError(400, `${name} must be between ${min} and ${max}`);
    return n;
  }

  bool(name: string): boolean {
    const v = this.query[name];
    return v === true || v === 'true' || v === '1';
  }
}

export type Handler = (ctx: Ctx) => Promise<Reply>;
/** 'none': public; 'token': any valid token; 'project': valid token that reaches params.project. */
export type Access = 'none' | 'token' | 'project';
interface Route { method: string; pattern: string; segs: string[]; access: Access; schema: Schema; handler: Handler; limit: number; body: BodyKind }
interface RouteConfig { access?: Access }

export interface BuildOptions {
  logger: Logger;
  /** serve HTTPS with this certificate and key (PEM) */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export class Router {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, access: Access, schema: Schema, handler: Handler, opts: RouteOptions = {}): this {
    this.#routes.push({
      method, pattern, segs: pattern.split('/').filter(Boolean), access, schema, handler, limit: opts.limit ?? JSON_LIMIT, body: opts.body ?? 'json',
    });
    return this;
  }

  /** The table, for tests that must cover every route. */
  list(): { method: string; pattern: string; access: Access; operationId?: string }[] {
    return this.#routes.map((r) => ({ method: r.method, pattern: r.pattern, access: r.access, operationId: r.schema.operationId }));
  }

  /** The methods of the routes whose pattern fits these (decoded) segments: for 405 and Allow. */
  #methods(segs: string[]): string[] {
    const out = new Set<string>();
    for (const r of this.#routes) {
      if (r.segs.length === segs.length && r.segs.every((p, i) => p.startsWith(':') || p === segs[i])) out.add(r.method);
    }
    return [...out];
  }

  /** The Fastify app serving this table for `hub` (not listening yet). */
  async build(hub: Hub, opts: BuildOptions): Promise<FastifyInstance> {
    const app = Fastify({
      loggerInstance: opts.logger,
      logController: new LogController({ disableRequestLogging: true }), // one access line per request instead, in onResponse
      https: opts.tls ? { cert: opts.tls.cert, key: opts.tls.key } : null,
      keepAliveTimeout: 65_000,
      requestTimeout: 300_000, // Node's default, which Fastify turns off: a whole request within 5 minutes (408)
      forceCloseConnections: true,
      exposeHeadRoutes: false, // HEAD is 405, as before
      bodyLimit: JSON_LIMIT,
      routerOptions: { maxParamLength: 2048, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, querystringParser: parseQuery },
      clientErrorHandler: clientError,
      frameworkErrors: (err, _request, reply) => {
        // a bad escape in the path (400), a path parameter over 2 KiB (414)
        if (err.code === 'FST_ERR_BAD_URL') void sendError(reply, 400, 'malformed percent-encoding in path');
        else void sendError(reply, err.statusCode ?? 400, err.message);
      },
    }) as unknown as FastifyInstance;

    // Query and path arguments arrive as text: convert them ('5' -> 5, one value -> [value] for a
    // list). A JSON body says what it means: no conversion ("label": 7 is not a label).
    const ajv = { text: new Ajv({ coerceTypes: 'array', useDefaults: true, strict: false }), json: new Ajv({ useDefaults: true, strict: false }) };
    app.setValidatorCompiler(({ schema, httpPart }) => {
      const compiler = httpPart === 'body' ? ajv.json : ajv.text;
      let v: ValidateFunction | undefined;
      // compiled on first use: ~50 routes' schemas compiled up front tripled the start-up time
      const check = Object.assign((data: unknown): boolean => {
        v ??= compiler.compile(schema);
        const ok = v(data);
        check.errors = v.errors;
        return ok;
      }, { errors: null as ValidateFunction['errors'] });
      return check;
    });
    app.setSerializerCompiler(({ schema }) => {
      let f: ((data: unknown) => string) | undefined;
      return (data: unknown) => (f ??= fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]))(data);
    });

    // one parser for every Content-Type: the bytes, bounded by the route's limit; each route's
    // preValidation turns them into what it reads (decodeBody)
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, data, done) => done(null, data));

    app.addHook('onRequest', async (request) => {
      const { segs } = splitUrl(request.url);
      const cfg = request.routeOptions.config as RouteConfig;
      // /v1 answers 401 before anything else, so unauthenticated callers learn nothing about routes
      if (cfg.access === undefined || cfg.access === 'none') {
        if (segs[0] === 'v1') await hub.accounts.authenticate(bearer(request.raw));
        return;
      }
      const principal = await hub.accounts.authenticate(bearer(request.raw));
      const wait = hub.accounts.rateLimit(principal);
      if (wait > 0) throw new RateError(wait);
      const project = cfg.access === 'project' ? await hub.projects.authorize(principal, (request.params as Record<string, string>).project) : undefined;
      who.set(request, { principal, project });
    });
    // Answered before the body was read (401, 404, 413...): read the rest and drop it, so the
    // client, maybe still sending, gets this answer instead of a reset
    app.addHook('onSend', async (request) => { if (!request.raw.complete) discard(request.raw); });
    app.addHook('onResponse', async (request, reply) => {
      request.log.info({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    });

    app.setErrorHandler((e: FastifyError | HubError, request, reply) => {
      if (e instanceof HubError) {
        if (e.retryAfter !== undefined) reply.header('Retry-After', String(e.retryAfter));
        return sendError(reply, e.status, e.message);
      }
      const status = (e as FastifyError).statusCode;
      if ((e as FastifyError).validation) return sendError(reply, 400, e.message);
      if (typeof status === 'number' && status >= 400 && status < 500) {
        // Fastify closes after a body error; over the limit we drain instead (onSend), as the client may still be sending
        if (status === 413) reply.removeHeader('connection');
        return sendError(reply, status, e.message);
      }
      request.log.error({ err: e }, 'hub: request failed');
      if (storeUnavailable(e)) { reply.header('Retry-After', '5'); return sendError(reply, 503, 'database unavailable'); }
      return sendError(reply, 500, 'internal error');
    });

    app.setNotFoundHandler(async (request, reply) => {
      const { path, segs } = splitUrl(request.url);
      const allow = this.#methods(segs);
      if (!allow.length) return sendError(reply, 404, `no such route: ${request.method} ${path}`);
      reply.header('Allow', allow.join(', '));
      return sendError(reply, 405, `method ${request.method} not allowed; use ${allow.join(', ')}`);
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'notehub-lite', description: 'The opencard hub: a Notehub-compatible HTTP API', version: '1' },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer' },
            api_key: { type: 'apiKey', in: 'header', name: 'X-Session-Token' },
          },
        },
      },
    });

    for (const r of this.#routes) {
      const s = r.schema;
      app.route({
        method: r.method as 'GET', url: r.pattern, bodyLimit: r.limit, config: { access: r.access } satisfies RouteConfig,
        schema: defined({
          params: s.params, querystring: s.querystring, body: r.body === 'raw' ? undefined : s.body,
          response: defined({ 200: s.response, '4xx': ErrorJ, '5xx': ErrorJ }), // no 200 schema: JSON.stringify
          operationId: s.operationId, summary: s.summary,
          security: r.access === 'none' ? [] : [{ bearer: [] }, { api_key: [] }] as Record<string, string[]>[],
        }),
        preValidation: async (request) => { request.body = decodeBody(r.body, request); },
        handler: async (request, reply) => {
          const ctx = new Ctx(hub, request);
          const w = who.get(request);
          if (w) { ctx.principal = w.principal; if (w.project) ctx.project = w.project; }
          return sendReply(reply, await r.handler(ctx));
        },
      });
    }
    app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
    await app.ready();
    return app;
  }
}

/**
 * The database cannot answer at all (as opposed to a failed query): closed, locked past its busy
 * timeout, unreadable, or a PostgreSQL server gone or refusing connections. A store may also throw
 * an error named 'StoreUnavailable'.
 */
export function storeUnavailable(e: unknown): boolean {
  // no instanceof: a native addon's errors may come from another realm
  if (typeof e !== 'object' || e === null) return false;
  const { name, message } = e as { name?: unknown; message?: unknown };
  if (name === 'StoreUnavailable' || message === 'The database connection is not open') return true;
  const code = String((e as { code?: unknown }).code ?? '');
  return ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_CORRUPT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300'].includes(code)
    || code.startsWith('SQLITE_IOERR') || code.startsWith('08');
}

/** Without the undefined keys (Fastify warns about a schema key given as undefined). */
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const who = new WeakMap<FastifyRequest, { principal: Principal; project?: ProjectRecord }>();

export class RateError extends HubError {
  override name = 'RateError';
  constructor(retryAfter: number) { super(429, 'rate limit exceeded', retryAfter); }
}

/** The path and its percent-decoded segments; a bad escape in the path or the query is a 400. */
function splitUrl(url: string): { path: string; segs: string[] } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let segs: string[];
  try { segs = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s)); } catch { throw new HubError(400, 'malformed percent-encoding in path'); }
  // URLSearchParams would keep a bad escape as text: refuse it, as for the path
  if (q >= 0) {
    try { decodeURIComponent(url.slice(q + 1).replace(/\+/g, ' ')); } catch { throw new HubError(400, 'malformed percent-encoding in query string'); }
  }
  return { path, segs };
}

/** ?a=1&a=2&b= -> {a: ['1', '2']}: repeated names become arrays, empty values read as absent. */
function parseQuery(qs: string): Record<string, unknown> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of new URLSearchParams(qs)) {
    if (v === '') continue;
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

function decodeBody(kind: BodyKind, request: FastifyRequest): unknown {
  const buf = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  if (kind === 'raw') return buf;
  if (kind === 'form') {
    if (!/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')) {
      throw new HubError(400, 'send the token request as application/x-www-form-urlencoded');
    }
    return Object.fromEntries(new URLSearchParams(buf.toString('utf8')));
  }
  if (!buf.length) return {};
  let v: unknown;
  try { v = JSON.parse(buf.toString('utf8')); } catch { throw new HubError(400, 'malformed JSON body'); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HubError(400, 'the body must be a JSON object');
  return v;
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

/** Every non-2xx body: Notehub's `err` and `status`, and thingsHub's `error` (same text) beside `code`. */
export function errorReply(code: number, err: string): Reply & { headers?: Record<string, string> } {
  return { status: code, json: { err, code, status: STATUS_CODES[code] ?? 'Error', error: err } };
}

function sendError(reply: FastifyReply, code: number, err: string): FastifyReply {
  return reply.code(code).type('application/json').send({ err, code, status: STATUS_CODES[code] ?? 'Error', error: err });
}

function sendReply(reply: FastifyReply, r: Reply): FastifyReply {
  if ('stream' in r) { reply.hijack(); r.stream(reply.raw); return reply; }
  reply.code(r.status ?? 200);
  if (r.headers) reply.headers(r.headers);
  if ('json' in r) return reply.send(r.json); // serialized with the route's response schema
  // pre-serialized JSON (event pages): sent as it is
  if ('text' in r) return reply.type(r.type ?? 'application/json').send(r.text);
  return reply.type(r.type ?? 'application/octet-stream').send(Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
}

function discard(req: IncomingMessage): void {
  let n = 0;
  req.on('data', (c: Buffer) => { if ((n += c.length) > DRAIN_LIMIT) req.destroy(); });
  req.resume();
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

export type HubServer = Server | HttpsServer;
