// Every request the card knows, fed through the real serial line (SerialSession) with the shapes of
// test/fixtures/requests/samples.json, each reply validated (ajv) against the reply members of
// test/fixtures/requests/replies.json. Both written from the Notecard documentation; Blues' own
// schemas may not be committed (bench/schema-check.ts checks against them from a local checkout).
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ValidateFunction } from 'ajv';
import { REQUESTS } from '../../src/requests/index';
import { serialCard } from '../support/serial-card';

type Obj = Record<string, any>;
const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/requests');
const load = (name: string): Obj => {
  const all = JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Obj;
  delete all.$comment;
  return all;
};
const SAMPLES = load('samples.json') as Record<string, Obj[]>;
const REPLIES = load('replies.json');

/** The requests of the Notecard API (Blues' schema set, 74). */
const DOCUMENTED = [
  'card.attn', 'card.aux', 'card.aux.serial', 'card.binary', 'card.binary.get', 'card.binary.put', 'card.carrier',
  'card.contact', 'card.dfu', 'card.illumination', 'card.io', 'card.led', 'card.location', 'card.location.mode',
  'card.location.track', 'card.monitor', 'card.motion', 'card.motion.mode', 'card.motion.sync', 'card.motion.track',
  'card.power', 'card.random', 'card.restart', 'card.restore', 'card.sleep', 'card.status', 'card.temp', 'card.time',
  'card.trace', 'card.transport', 'card.triangulate', 'card.usage.get', 'card.usage.test', 'card.version',
  'card.voltage', 'card.wifi', 'card.wireless', 'card.wireless.penalty', 'dfu.get', 'dfu.status', 'env.default',
  'env.get', 'env.modified', 'env.set', 'env.template', 'file.changes', 'file.changes.pending', 'file.clear',
  'file.delete', 'file.stats', 'hub.get', 'hub.log', 'hub.set', 'hub.signal', 'hub.status', 'hub.sync',
  'hub.sync.status', 'note.add', 'note.changes', 'note.delete', 'note.get', 'note.template', 'note.update', 'ntn.gps',
  'ntn.reset', 'ntn.status', 'var.delete', 'var.get', 'var.set', 'web', 'web.delete', 'web.get', 'web.post', 'web.put',
];

/** Documented requests other work answers: when one lands, move it from here to the fixtures. */
const PENDING: string[] = [
];
/** Answered only by a card with a cellular modem (test/net/modem.test.ts, test/e2e/modem-*.test.ts); this test card has none. */
const NEEDS_MODEM = ['card.wireless', 'card.wireless.penalty'];

/** A reply description of replies.json as a JSON Schema that refuses unlisted members. */
function toSchema(d: Obj | string): Obj {
  if (typeof d === 'string') return d.endsWith('[]') ? { type: 'array', items: { type: d.slice(0, -2) } } : { type: d };
  if (d.array) return { type: 'array', items: toSchema(d.array) };
  if (d.map) return { type: 'object', additionalProperties: toSchema(d.map) };
  const properties: Obj = {};
  for (const [k, v] of Object.entries(d.members as Obj)) properties[k] = toSchema(v as Obj | string);
  return { type: 'object', properties, required: d.required ?? [], additionalProperties: d.open === true };
}

const ajv = new Ajv({ allErrors: true });
const validators = new Map<string, ValidateFunction>();
function validator(name: string): ValidateFunction {
  let v = validators.get(name);
  if (!v) validators.set(name, (v = ajv.compile(toSchema(REPLIES[name]))));
  return v;
}

describe('the request set', () => {
  const known = Object.keys(REQUESTS).sort();

  it('every documented request is answered or pending, never both', () => {
    expect(DOCUMENTED.filter((n) => !known.includes(n) && !PENDING.includes(n))).toEqual([]);
    expect(PENDING.filter((n) => known.includes(n))).toEqual([]);
  });

  it('every request the card knows has samples and a reply description, and nothing else does', () => {
    expect(known.filter((n) => !NEEDS_MODEM.includes(n) && (!SAMPLES[n]?.length || !REPLIES[n]))).toEqual([]);
    expect([...Object.keys(SAMPLES), ...Object.keys(REPLIES)].filter((n) => !known.includes(n))).toEqual([]);
  });

  it('the reply descriptions refuse members they do not list and wrong types', () => {
    expect(validator('card.status')({ status: '{normal}', usb: true })).toBe(true);
    expect(validator('card.status')({ status: '{normal}', usb: true, uptime: 5 })).toBe(false);
    expect(validator('card.status')({ status: '{normal}' })).toBe(false);
    expect(validator('card.aux')({ mode: 'gpio', state: [{ count: [1.5] }] })).toBe(false);
    expect(validator('env.get')({ body: { a: 1 } })).toBe(false);
  });
});

describe('every sample through the serial line, every reply valid', () => {
  const cases = Object.entries(SAMPLES).flatMap(([name, list]) => list.map((s, i) => [`${name} #${i + 1}`, name, s] as const));
  it.each(cases)('%s', (_label, name, sample) => {
    const c = serialCard();
    for (const r of (sample._setup ?? []) as Obj[]) {
      const setupReply = c.ask(r, r.req === 'card.binary.put' ? Buffer.from(sample._binary, 'base64') : undefined);
      expect([r, setupReply.err]).toEqual([r, undefined]);
    }
    if (sample._inbound) c.card.notefiles.applyFromHub(sample._inbound.file, [{ body: sample._inbound.body, time: 1_700_000_000 }]);
    const request: Obj = {};
    for (const [k, v] of Object.entries(sample)) if (!k.startsWith('_')) request[k] = v;
    const binary = name === 'card.binary.put' && sample._binary ? Buffer.from(sample._binary, 'base64') : undefined;
    const reply = c.ask(request, binary);
    // An error only where the reply documents one, and never {not-supported}.
    if (typeof reply.err === 'string') {
      expect(reply.err).not.toContain('{not-supported}');
      expect([request, REPLIES[name].members.err, reply.err]).toEqual([request, 'string', reply.err]);
    }
    const valid = validator(name);
    expect([request, reply, valid(reply) ? 'valid' : ajv.errorsText(valid.errors)]).toEqual([request, reply, 'valid']);
  });
});
