// What a person typing requests can ask for: every request in the table (index.ts) with the
// arguments its handler reads, and the values worth offering for some of them. Terminals (the
// notecard-cli, the dashboard's web terminal) complete from it; the card never loads it.
// test/requests-catalog.test.ts checks that it names exactly the requests index.ts answers.
import { HUB_BOOL_FIELDS, HUB_MINUTE_FIELDS, HUB_MODES, HUB_STRING_FIELDS } from '../settings';

export const REQUEST_ARGS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'card.version': [],
  'card.status': [],
  'card.time': [],
  'card.random': ['mode', 'count'],
  'card.wifi': ['ssid', 'password', 'text', 'start'],
  'card.restart': [],
  'card.restore': ['delete'],
  'card.binary': ['delete', 'reset'],
  'card.binary.put': ['cobs', 'offset', 'status'],
  'card.binary.get': ['offset', 'length'],
  'hub.set': ['mode', ...HUB_STRING_FIELDS, ...HUB_MINUTE_FIELDS, ...HUB_BOOL_FIELDS, 'sync', 'body'],
  'hub.sync': [],
  'hub.sync.status': [],
  'hub.status': [],
  'hub.get': [],
  'note.add': ['file', 'note', 'body', 'payload', 'sync', 'full', 'binary', 'live', 'verify', 'key'],
  'note.get': ['file', 'note', 'delete', 'deleted', 'decrypt'],
  'note.update': ['file', 'note', 'body', 'payload', 'verify'],
  'note.delete': ['file', 'note', 'verify'],
  'note.changes': ['file', 'tracker', 'start', 'reset', 'stop', 'delete', 'deleted', 'max'],
  'note.template': ['file', 'body', 'length', 'port', 'format', 'verify', 'delete'],
  'file.changes': ['files', 'tracker'],
  'file.changes.pending': [],
  'file.delete': ['files'],
  'file.stats': ['file'],
  'file.clear': ['file'],
  'var.set': ['name', 'file', 'text', 'value', 'flag', 'sync'],
  'var.get': ['name', 'file'],
  'var.delete': ['name', 'file', 'sync'],
  'env.get': ['name', 'names', 'time'],
  'env.set': ['name', 'text'],
  'env.default': ['name', 'text', 'sync'],
  'env.modified': ['time'],
  echo: ['text', 'body'],
  'hub.log': ['text', 'alert', 'sync'],
  'env.template': ['body'],
  'card.trace': ['mode'],
  'card.carrier': ['mode'],
  'card.contact': ['name', 'org', 'role', 'email'],
  'card.monitor': ['mode', 'count', 'usb'],
  'card.led': ['mode', 'on', 'off'],
  'card.sleep': ['on', 'seconds', 'mode', 'off'],
  'card.triangulate': ['mode', 'on', 'usb', 'set', 'minutes', 'text', 'time'],
  'card.io': ['i2c', 'mode'],
  'card.aux.serial': ['mode', 'minutes', 'duration', 'rate', 'max', 'ms', 'limit'],
  'card.aux': ['mode', 'usage', 'seconds', 'max', 'start', 'ms', 'sync', 'file', 'connected', 'count', 'offset', 'sensitivity', 'gps', 'limit', 'rate'],
  'card.illumination': [],
  'card.power': ['hours', 'minutes', 'reset'],
  'card.usage.get': ['mode', 'offset'],
  'card.usage.test': ['days', 'megabytes', 'hours'],
  'ntn.gps': ['on', 'off'],
  'ntn.status': [],
  'ntn.reset': [],
  'web.get': ['route', 'name', 'binary', 'offset', 'max'],
  'web.post': ['route', 'name', 'body', 'payload', 'content', 'seconds'],
  'web.put': ['route', 'name', 'body'],
  'web.delete': ['route', 'name'],
  'web': ['method', 'route', 'name', 'body'],
  'hub.signal': ['seconds'],
  'dfu.status': ['name', 'on', 'vvalue', 'off', 'version', 'stop', 'status', 'err'],
  'dfu.get': ['length', 'offset', 'binary'],
  'card.dfu': ['name', 'on', 'seconds', 'mode', 'start', 'off', 'stop'],
  'card.location': [],
  'card.location.mode': ['mode', 'seconds', 'lat', 'lon', 'vseconds', 'threshold'],
  'card.location.track': ['start', 'heartbeat', 'hours', 'sync', 'stop'],
  'card.motion': ['minutes'],
  'card.motion.mode': ['start', 'sensitivity', 'seconds', 'stop'],
  'card.motion.sync': ['start', 'minutes', 'count', 'threshold', 'stop'],
  'card.motion.track': ['start', 'minutes', 'count', 'threshold', 'file', 'now', 'stop'],
  'card.voltage': ['hours', 'mode', 'calibration', 'usb', 'alert', 'sync', 'offset', 'vmax', 'vmin'],
  'card.temp': ['minutes', 'status'],
  'card.attn': ['mode', 'files', 'seconds', 'payload'],
  'card.wireless': ['mode', 'apn', 'method', 'hours'],
  'card.wireless.penalty': ['set', 'reset', 'rate', 'add', 'max', 'min'],
  'card.transport': ['method', 'seconds'],
});

/** Values offered after `"arg":`, by "request arg" (or "* arg" for every request). */
export const ARG_VALUES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'hub.set mode': HUB_MODES,
  'card.random mode': ['priv'],
  'note.template format': ['compact'],
  '* file': ['data.qo', 'data.qi'],
});

/** A completion: replace `line.slice(from)` (up to the cursor) with one of `options`. */
export interface Completion {
  from: number;
  options: string[];
}

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Completion for a request line typed up to the cursor: a bare word completes to a request name
 * (terminals send `name` as `{"req":"name"}`); inside `{...}` a key completes to `req`/`cmd` or
 * the request's arguments not yet given, the value of `req`/`cmd` to a request name, and some
 * arguments' values to their choices. Only the top-level object is looked into.
 */
export function completeRequest(line: string): Completion {
  let start = 0;
  while (start < line.length && line.charCodeAt(start) <= 32) start++;
  if (line.charCodeAt(start) !== 123 /* { */) {
    if (hasSpace(line, start)) return { from: line.length, options: [] };
    return { from: start, options: startingWith(Object.keys(REQUEST_ARGS), line.slice(start)) };
  }
  // Walk the object: depth, the last top-level key, whether a key or a value comes next.
  let depth = 0;
  let expectKey = true;
  let key = '';
  let name = '';
  const seen: string[] = [];
  let openAt = -1; // where an unterminated top-level string starts
  for (let i = start; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      while (j < line.length && line.charCodeAt(j) !== QUOTE) j += line.charCodeAt(j) === BACKSLASH ? 2 : 1;
      if (j >= line.length) { if (depth === 1) openAt = i; break; }
      if (depth === 1) {
        const text = line.slice(i + 1, j);
        if (expectKey) { key = text; seen.push(text); } else if (key === 'req' || key === 'cmd') name = text;
      }
      i = j;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
    else if (depth === 1 && c === 58 /* : */) expectKey = false;
    else if (depth === 1 && c === 44 /* , */) expectKey = true;
  }
  if (depth !== 1) return { from: line.length, options: [] };
  const typed = openAt < 0 ? '' : line.slice(openAt);
  const from = openAt < 0 ? line.length : openAt;
  if (openAt < 0 && !afterSeparator(line)) return { from, options: [] };
  if (expectKey) {
    const keys = name === '' ? ['req', 'cmd'] : (REQUEST_ARGS[name] ?? []);
    const fresh = keys.filter((k) => !seen.includes(k));
    return { from, options: startingWith(fresh.map((k) => `"${k}":`), typed) };
  }
  const values = key === 'req' || key === 'cmd' ? Object.keys(REQUEST_ARGS)
    : ARG_VALUES[`${name} ${key}`] ?? ARG_VALUES[`* ${key}`] ?? [];
  return { from, options: startingWith(values.map((v) => `"${v}"`), typed) };
}

function startingWith(options: string[], prefix: string): string[] {
  return options.filter((o) => o.startsWith(prefix));
}

function hasSpace(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) <= 32) return true;
  return false;
}

/** True when the last non-blank character is `{`, `,` or `:` (a key or a value may start here). */
function afterSeparator(s: string): boolean {
  let i = s.length - 1;
  while (i >= 0 && s.charCodeAt(i) <= 32) i--;
  const c = s.charCodeAt(i);
  return c === 123 || c === 44 || c === 58;
}
