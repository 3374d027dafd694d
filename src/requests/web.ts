// web.get, web.post, web.put, web.delete and web (any method): an HTTP request through a proxy
// route of the hub, carried by the live (continuous) session; and hub.signal, what the hub sent.
// The host waits for the answer as for any request: the reply comes when the hub's does.
import { CardError, fail } from '../errors';
import { isObject, type JsonObject } from '../json';
import type { WebAnswer, WebCall, WebControl } from '../sync/control';
import { WEB_MAX_NAME, WEB_MAX_REPLY, WEB_MAX_REQUEST, WEB_MAX_ROUTE, WEB_METHODS } from '../sync/web';
import { base64Encode } from '../util/base64';
import { every, isHex } from '../util/chars';
import { md5Hex } from '../util/md5';
import { utf8Decode, utf8Encode } from '../util/utf8';
import { cobsEncode } from '../wire/cobs';
import type { Args } from './args';
import type { Exchange, RequestContext } from './context';
import type { HandlerTable } from './handler';
import { payloadArg } from './note';

/** What the Notecard waits for an answer unless `seconds` says otherwise. */
export const WEB_DEFAULT_SECONDS = 90;
const JSON_CONTENT = 'application/json';

function webRequest(method: string | undefined, card: RequestContext, args: Args, exchange: Exchange): JsonObject {
  if (method === undefined) {
    const m = args.string('method');
    if (m === undefined) fail('method: required (GET, PUT, POST, DELETE, ...)', 'bad-arg');
    method = m.toUpperCase();
    if (!WEB_METHODS.includes(method)) fail(`method: must be one of ${WEB_METHODS.join(', ')}`, 'bad-arg');
  }
  const engine = card.engine;
  if (!engine) fail('this card has no network for web requests', 'not-supported');
  const route = args.string('route');
  if (!route) fail('route: the alias of a proxy route on the hub is required', 'bad-arg');
  if (utf8Encode(route).length > WEB_MAX_ROUTE) fail(`route: at most ${WEB_MAX_ROUTE} bytes`, 'bad-arg');
  const name = args.string('name', '');
  if (utf8Encode(name).length > WEB_MAX_NAME) fail(`name: at most ${WEB_MAX_NAME} bytes`, 'bad-arg');
  const content = args.string('content', JSON_CONTENT);
  const seconds = args.int('seconds', 1, 3600, WEB_DEFAULT_SECONDS);
  const binary = args.bool('binary');
  const sends = method === 'POST' || method === 'PUT' || method === 'PATCH';
  const body = args.object('body');
  const payload = payloadArg(args);
  if (body && payload) fail('a web request may have a body or a payload, not both', 'bad-arg');
  let bytes: Uint8Array = new Uint8Array(0);
  if (binary && sends) {
    if (body || payload) fail('binary: the data comes from the binary buffer, not from body or payload', 'bad-arg');
    if (card.binary.length === 0) fail('binary buffer is empty', 'bad-bin');
    bytes = card.binary.bytes();
  } else if (payload) bytes = payload;
  else if (body) bytes = utf8Encode(JSON.stringify(body));
  if (bytes.length > WEB_MAX_REQUEST) fail(`a web request carries at most ${WEB_MAX_REQUEST} bytes`, 'too-big');
  const offset = args.int('offset', 0, 0x7fffffff, 0);
  const total = args.int('total', 0, 0x7fffffff, 0);
  const max = args.int('max', 0, 0x7fffffff, 0);
  if (total && offset + bytes.length > total) fail('offset: the fragment ends beyond total', 'bad-arg');
  // status: the md5 of what is sent, checked here (corruption between host and card) and by the hub
  let status = args.string('status', '').toLowerCase();
  if (status && (status.length !== 32 || !every(status, isHex))) fail('status: must be a 32-digit hex md5', 'bad-arg');
  if (status && status !== md5Hex(bytes)) fail('status: does not match the md5 of the data sent', 'bad-bin');
  if (!status && args.bool('verify') && bytes.length) status = md5Hex(bytes);
  const async = args.bool('async');
  const file = args.string('file');
  if (file !== undefined && !file.endsWith('.dbx')) fail('file: the answer is kept in a local database (.dbx)', 'notefile-bad-name');
  if (file !== undefined) card.notefiles.kind(file);
  const noteId = args.string('note');
  const why = engine.webUnavailable();
  if (why !== undefined) throw new CardError(why);
  const call: WebCall = { method, route, name, content, seconds, offset, total, max, status, body: bytes.slice() };
  const keep = (a: WebAnswer): void => {
    if (file === undefined) return;
    const kept = a.ok ? answerMembers(a, false) : { result: a.result, err: a.error };
    try {
      if (noteId !== undefined && card.notefiles.has(file, noteId)) card.notefiles.update(file, noteId, { body: kept });
      else card.notefiles.add(file, { id: noteId ?? '?', body: kept });
    } catch {
      // the answer had nowhere to go (store full): it is dropped, as the Notecard drops it without `file`
    }
  };
  if (async) {
    // Control returns to the host now; the answer, when it comes, goes to `file` (or nowhere).
    engine.web(call, keep);
    return {};
  }
  exchange.later = (answer) =>
    engine.web(call, (a) => {
      keep(a);
      answer(() => {
        if (!a.ok) throw new CardError(a.error);
        if (binary && !sends) return binaryAnswer(card, a.result, a.body);
        return answerMembers(a, true);
      });
    });
  return {};
}

/** {result, body} for a JSON object answer, else {result, payload, status}. */
function answerMembers(a: { result: number; content: string; body: Uint8Array }, withStatus: boolean): JsonObject {
  const out: JsonObject = { result: a.result };
  if (a.body.length === 0) return out;
  if (a.body.length > WEB_MAX_REPLY) fail(`the answer is longer than the ${WEB_MAX_REPLY} bytes a reply carries`, 'too-big');
  if (a.content.indexOf('json') >= 0) {
    try {
      const v: unknown = JSON.parse(utf8Decode(a.body));
      if (isObject(v)) {
        out.body = v;
        return out;
      }
    } catch {
      // not JSON after all: it goes as a payload
    }
  }
  out.payload = base64Encode(a.body);
  if (withStatus) out.status = md5Hex(a.body);
  return out;
}

/** web.get binary:true: the answer goes to the binary buffer; the reply says how to read it. */
function binaryAnswer(card: RequestContext, result: number, body: Uint8Array): JsonObject {
  card.binary.fill(body);
  return { result, length: body.length, cobs: body.length ? cobsEncode(body).length : 0, status: md5Hex(body) };
}

export const webRequests: HandlerTable = Object.freeze({
  'web.get': (card, args, exchange) => webRequest('GET', card, args, exchange),
  'web.post': (card, args, exchange) => webRequest('POST', card, args, exchange),
  'web.put': (card, args, exchange) => webRequest('PUT', card, args, exchange),
  'web.delete': (card, args, exchange) => webRequest('DELETE', card, args, exchange),
  web: (card, args, exchange) => webRequest(undefined, card, args, exchange),

  // The oldest signal the hub sent, removed ({} when none); `signals` = how many are left.
  // With `seconds`, a card with none waits that long for one.
  'hub.signal': (card, args, exchange) => {
    const engine = card.engine;
    if (!engine) fail('this card has no network to receive signals over', 'not-supported');
    const seconds = args.int('seconds', 0, 3600, 0);
    if (seconds > 0 && engine.connected && !engine.pendingSignals()) {
      exchange.later = (answer) => engine.awaitSignal(seconds * 1000, () => answer(() => readSignal(engine)));
      return {};
    }
    return readSignal(engine);
  },
});

function readSignal(engine: WebControl): JsonObject {
  const { signal, left } = engine.nextSignal();
  const out: JsonObject = {};
  if (signal !== undefined) {
    try {
      const v: unknown = JSON.parse(signal);
      if (isObject(v)) {
        if (isObject(v.body)) out.body = v.body;
        if (typeof v.payload === 'string') out.payload = v.payload;
      }
    } catch {
      // a signal that is not JSON is dropped
    }
  }
  out.connected = engine.connected;
  if (left) out.signals = left;
  return out;
}
