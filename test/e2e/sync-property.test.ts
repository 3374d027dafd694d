// A property test of the one set of rules (src/rules): card-legal edge cases (the longest names and
// IDs, every allowed character, reserved forms, unicode, the deepest and widest bodies, the largest
// payloads, templates at their limits) go through the real card (its serial session), the real
// sync engine and the real hub over loopback. Whatever the card accepts must reach the hub exactly
// once and unchanged; whatever it refuses must be refused with a tag, never with an internal error.
// Seeded and deterministic: PROPERTY_SEED=<n> replays another run.
import { Card } from '../../src/card';
import { SerialSession } from '../../src/wire/session';
import { cobsEncode } from '../../src/wire/cobs';
import { md5Hex } from '../../src/util/md5';
import { MAX_NOTEFILE_NAME, MAX_USER_NOTE_ID } from '../../src/rules/names';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
type Data = Record<string, any>;

const SEED = Number(process.env.PROPERTY_SEED ?? 20251110);
const OPS = 600;
const SYNC_EVERY = 60;

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const rnd = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const bytesOf = (s: string): number => Buffer.byteLength(s, 'utf8');

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.';
const ALNUM = NAME_CHARS.slice(0, 62);
/** Text of every width in UTF-8 (1 to 4 bytes), controls and JSON's own specials included. */
const TEXT = ['a', 'Z', '0', ' ', '"', '\\', '/', '?', '#', '%', '&', '+', ',', ':', '\t', '\u0001', '\u007f', 'é', 'ß', 'Ω', 'ж', '中', '文', '€', '\u2028', '\ufeff', '😀', '🎉', '𝄞'];
const ID_TEXT = TEXT.filter((c) => c !== '!');

function text(maxBytes: number, pool = TEXT): string {
  let s = '';
  const target = int(0, maxBytes);
  for (;;) {
    const c = pick(pool);
    if (bytesOf(s + c) > target) return s;
    s += c;
  }
}

/** A name of exactly `length` bytes (extension included), first character a letter or digit. */
function notefileName(length: number, ext: string, chars = NAME_CHARS): string {
  let base = pick([...ALNUM]);
  while (base.length < length - ext.length - 1) base += pick([...chars]);
  return `${base}.${ext}`;
}

/** An ID filled with `pool` up to exactly `bytes` bytes when it can (ASCII pads the end). */
function noteId(bytes: number): string {
  let s = text(bytes, ID_TEXT);
  while (bytesOf(s) < bytes) s += pick([...ALNUM]);
  return s;
}

function number(): number {
  switch (int(0, 6)) {
    case 0: return int(-128, 127);
    case 1: return pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 63, -(2 ** 31), 1e21, 5e-324, 1.7976931348623157e308]);
    case 2: return int(-1e6, 1e6) / 10 ** int(1, 6);
    case 3: return (rnd() - 0.5) * 10 ** int(-300, 300);
    case 4: return Number(`${int(1, 9)}e${int(21, 300)}`);
    default: return int(-(2 ** 31), 2 ** 31);
  }
}

function value(depth: number, maxDepth: number): Json {
  const r = int(0, 9);
  if (depth < maxDepth && r === 0) return Array.from({ length: int(0, 4) }, () => value(depth + 1, maxDepth));
  if (depth < maxDepth && r === 1) return object(depth + 1, maxDepth, int(0, 4));
  if (r === 2) return pick([null, true, false]);
  if (r < 6) return number();
  return rnd() < 0.05 ? text(1200) : text(24);
}

function object(depth: number, maxDepth: number, width: number): Obj {
  const o: Obj = {};
  for (let i = 0; i < width; i++) {
    const key = rnd() < 0.05 ? pick(['', '__proto__', 'constructor', 'k']) : text(12) + i;
    // an own member even when it is named __proto__ (JSON.parse makes those too)
    if (key !== 'k') Object.defineProperty(o, key, { value: value(depth, maxDepth), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

/** A body of one of the shapes at the edges: deep, wide, long strings, many numbers, unicode keys. */
function body(k: number): Obj {
  let b: Obj;
  switch (int(0, 7)) {
    case 0: { // deepest: a chain of containers around the marker's sibling
      let v: Json = number();
      for (let d = int(10, 20); d > 0; d--) v = rnd() < 0.5 ? [v] : { [text(6) || 'x']: v };
      b = { deep: v };
      break;
    }
    case 1: case 7: { // widest (a block holds 256 distinct keys)
      b = {};
      for (let i = int(100, 300); i > 0; i--) b[text(6) + i] = pick([int(0, 127), true, null, text(3)]);
      break;
    }
    case 2: b = { s: text(int(1000, 4400)) }; break; // around the frame and flash limits
    case 3: b = { n: Array.from({ length: int(50, 500) }, number) }; break;
    case 4: b = {}; break;
    default: b = object(0, int(1, 5), int(1, 12));
  }
  b.k = k;
  return b;
}

function payload(max: number): Buffer | undefined {
  if (rnd() < 0.5) return undefined;
  const n = rnd() < 0.3 ? pick([max, max + 1, max - 1]) : int(1, max);
  return Buffer.from(Array.from({ length: Math.max(1, n) }, () => int(0, 255)));
}

interface Sent { file: string; k: number; id?: string; body: Obj; payload?: string }

let running: RunningHub;
let card: Card;
let serial: SerialSession;
const output: Buffer[] = [];

/** One request line through the card's serial session, as a host library sends it. */
function send(req: object): Data {
  output.length = 0;
  serial.receive(Buffer.from(JSON.stringify(req) + '\n'));
  const text = Buffer.concat(output).toString('utf8');
  return JSON.parse(text.slice(0, text.indexOf('\r\n')));
}

async function sync(): Promise<Data> {
  send({ req: 'hub.sync' });
  for (let i = 0; i < 4000 && card.engine!.running; i++) await sleep(2);
  return send({ req: 'hub.sync.status' });
}

beforeAll(async () => {
  running = await startHub({ dataDir: tempDir('opencard-property-'), port: 0, devicePort: 0, log: () => {} });
  const host = { ...nodeHost({ flash: new RamFlash({ size: 1024 * 1024 }), logLevel: 'silent', trustSystemClock: true, binaryMax: 16384 }), net: nodeNet };
  card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  serial = new SerialSession(card, (b) => { output.push(Buffer.from(b)); });
  expect(send({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' })).toEqual({});
});
afterAll(async () => {
  await running?.close();
});

it(`every note the card accepts reaches the hub exactly once, unchanged (seed ${SEED})`, async () => {
  const sent: Sent[] = [];
  const refusals = new Map<string, number>();
  const refused = (what: string, reply: Data): void => {
    // refused with a tag naming why; never an internal error
    expect([what, reply.err]).toEqual([what, expect.stringMatching(/\{(notefile-bad-name|bad-arg|too-big|template-incompatible|syntax)\}/)]);
    const tag = /\{([a-z-]+)\}/.exec(reply.err)![1];
    refusals.set(`${what} ${tag}`, (refusals.get(`${what} ${tag}`) ?? 0) + 1);
  };

  // Notefiles: every allowed character, the longest names, secure kinds, queues and databases.
  const files: string[] = [];
  for (let i = 0; i < NAME_CHARS.length; i += 40) files.push(`${pick([...ALNUM])}${NAME_CHARS.slice(i, i + 40)}.${pick(['qo', 'db'])}`);
  for (const ext of ['qo', 'qos', 'db', 'dbs']) files.push(notefileName(MAX_NOTEFILE_NAME, ext), notefileName(ext.length + 2, ext));
  // Names the rules refuse are refused up front.
  for (const bad of [notefileName(MAX_NOTEFILE_NAME + 1, 'qo'), 'my data.qo', 'é.qo', '_sys.qo', '-a.qo', 'a.txt']) {
    refused('name', send({ req: 'note.add', file: bad, body: { k: -1 } }));
  }

  // Templates at their limits: as many fields as a notefile keeps, the largest payload a frame carries.
  const templated: { file: string; hints: Obj; length: number }[] = [];
  for (const ext of ['qo', 'db', 'qos']) {
    const file = notefileName(int(8, MAX_NOTEFILE_NAME), ext);
    const hints: Obj = { k: 14, i8: 11, u32: 24, i64: 18, d: 18.1, f: 14.1, h: 12.1, b: true, s: 'text', o: { x: 12, y: '8' }, a: [22] };
    let accepted = { ...hints };
    for (let n = 0; ; n++) {
      const more = { ...accepted, [`field_${n}_${'w'.repeat(int(10, 60))}`]: pick([11, 22, 14.1, true, 'text']) };
      const r = send({ req: 'note.template', file, body: more });
      if (r.err) { refused('template width', r); break; }
      accepted = more;
    }
    let lo = 0, hi = 8192; // the largest `length` note.template accepts here
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const r = send({ req: 'note.template', file, body: accepted, length: mid });
      if (r.err) { refused('template length', r); hi = mid - 1; } else lo = mid;
    }
    expect(send({ req: 'note.template', file, body: accepted, length: lo })).toMatchObject({ bytes: expect.any(Number) });
    templated.push({ file, hints: accepted, length: lo });
  }

  const ids = new Set<string>();
  let k = 0;
  const fresh = (fn: () => string): string => {
    for (;;) {
      const id = fn();
      if (!ids.has(id)) { ids.add(id); return id; }
    }
  };
  for (let op = 0; op < OPS; op++) {
    const choice = int(0, 9);
    k++;
    if (choice <= 5) { // a JSON note into a queue or a database (now and then the same file as the last)
      const last = sent[sent.length - 1]?.file;
      const file = rnd() < 0.3 && last && files.includes(last) ? last : pick(files);
      const db = file.endsWith('.db') || file.endsWith('.dbs');
      const id = db ? fresh(() => (rnd() < 0.3 ? noteId(MAX_USER_NOTE_ID) : rnd() < 0.1 ? noteId(MAX_USER_NOTE_ID + 1) : noteId(int(1, 40)))) : undefined;
      const b = body(k);
      const p = payload(250);
      const r = send({ req: 'note.add', file, note: id, body: b, payload: p?.toString('base64') });
      if (r.err) refused('note', r);
      else sent.push({ file, k, id, body: JSON.parse(JSON.stringify(b)), payload: p?.toString('base64') });
    } else if (choice === 6) { // a reserved ID
      refused('reserved id', send({ req: 'note.add', file: files.find((f) => f.endsWith('.db'))!, note: `${noteId(int(1, 20))}!${pick(['c', 'h'])}${int(1, 99)}`, body: { k } }));
    } else if (choice <= 8) { // a templated note, every field set (full), payload up to the template's length
      const t = pick(templated);
      const b: Obj = {
        k, i8: int(-128, 127), u32: int(0, 2 ** 32 - 1), i64: pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, int(-1e9, 1e9)]),
        d: number(), f: int(-4000, 4000) / 8, h: int(-2000, 2000) / 2, b: rnd() < 0.5, s: text(pick([10, 300, 1500])),
        o: { x: int(-32768, 32767), y: text(8, ['a', 'é', '中']) }, a: Array.from({ length: int(0, 30) }, () => int(0, 65535)),
      };
      for (const [key, hint] of Object.entries(t.hints)) if (!(key in b)) b[key] = hint === true ? rnd() < 0.5 : typeof hint === 'string' ? text(20) : hint === 14.1 ? int(-64, 64) / 4 : int(0, 100);
      // (floats read back as the shortest decimal of their stored bits: these values are exact)
      const db = !t.file.endsWith('.qo') && !t.file.endsWith('.qos');
      const id = db ? fresh(() => noteId(int(1, MAX_USER_NOTE_ID))) : undefined;
      const p = payload(t.length);
      const r = send({ req: 'note.add', file: t.file, note: id, body: b, payload: p?.toString('base64'), full: true });
      if (r.err) refused('templated note', r);
      else {
        expect(r.template).toBe(true);
        sent.push({ file: t.file, k, id, body: JSON.parse(JSON.stringify(b)), payload: p?.toString('base64') });
      }
    } else { // the binary buffer as a note's payload: the largest payloads
      const data = Buffer.from(Array.from({ length: pick([1, int(100, 3000), int(3900, 4100), 6000]) }, () => int(0, 255)));
      const cobs = Buffer.from(cobsEncode(data));
      expect(send({ req: 'card.binary', delete: true })).toMatchObject({ length: 0 });
      expect(send({ req: 'card.binary.put', cobs: cobs.length, status: md5Hex(data) })).toEqual({});
      serial.receive(Buffer.concat([cobs, Buffer.from('\n')]));
      expect(send({ req: 'card.binary' })).toMatchObject({ length: data.length });
      const file = pick(files.filter((f) => f.endsWith('.qo') || f.endsWith('.qos')));
      const r = send({ req: 'note.add', file, binary: true, live: true, body: { k } });
      if (r.err) refused('binary note', r);
      else sent.push({ file, k, body: { k }, payload: data.toString('base64') });
    }
    if ((op + 1) % SYNC_EVERY === 0) {
      const s = await sync();
      expect([op, s.status, s.skipped]).toEqual([op, expect.stringContaining('{sync-end}'), undefined]);
    }
  }
  for (let i = 0; i < 3 && (send({ req: 'file.changes.pending' }).changes ?? 0) > 0; i++) {
    const s = await sync();
    expect([s.status, s.skipped]).toEqual([expect.stringContaining('{sync-end}'), undefined]);
  }
  expect(send({ req: 'file.changes.pending' })).toEqual({ changes: 0, total: 0 });

  // Every event of the device, from the hub's store.
  const events: Data[] = [];
  for (let after: number | undefined; ;) {
    const page = await running.hub.store.events({ projectUID: running.bootstrap!.projectUID, deviceUIDs: [card.deviceUID], limit: 500, afterSeq: after });
    events.push(...page.json.map((j) => JSON.parse(j) as Data));
    if (!page.hasMore) break;
    after = page.seqs[page.seqs.length - 1];
  }
  const key = (file: string, idOrK: string | number): string => `${file} ${idOrK}`;
  const arrived = new Map<string, Data[]>();
  for (const e of events) {
    const kk = key(e.file, e.note ?? e.body?.k);
    arrived.set(kk, [...(arrived.get(kk) ?? []), e]);
  }
  const wrong: string[] = [];
  for (const s of sent) {
    const got = arrived.get(key(s.file, s.id ?? s.k)) ?? [];
    if (got.length !== 1) { wrong.push(`${s.file} k=${s.k}: arrived ${got.length} times`); continue; }
    try {
      expect(got[0].body).toEqual(s.body);
      expect(got[0].payload).toEqual(s.payload);
    } catch (e) {
      wrong.push(`${s.file} k=${s.k}: ${(e as Error).message.slice(0, 600)}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(events).toHaveLength(sent.length); // nothing refused arrived
  // the run covered the edges: many notes accepted, and refusals of each kind
  if (process.env.PROPERTY_DEBUG) console.log(sent.length, refusals);
  expect(sent.length).toBeGreaterThan(OPS / 2);
  expect([...refusals.keys()].sort()).toEqual(expect.arrayContaining(['name notefile-bad-name', 'reserved id bad-arg', 'note too-big', 'template width too-big', 'template length too-big', 'binary note too-big']));
}, 120_000);
