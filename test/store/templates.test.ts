// Templated notefiles end to end through card.request: note.template, templated note.add /
// note.get / note.changes / note.update, versions across template changes and restarts.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card } from '../../src/card';
import { testCard, testHost } from '../support/host';

type Req = (r: object) => Record<string, any>;

function fresh(flash?: RamFlash): { req: Req; card: Card; flash: RamFlash; restart: () => { req: Req; card: Card } } {
  const host = testHost(flash);
  const { card, req } = testCard(host);
  return { req, card, flash: host.flash, restart: () => testCard(testHost(host.flash)) };
}

const b64 = (bytes: number[] | Buffer) => Buffer.from(bytes).toString('base64');
const sensorHints = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };

/** Everything a reader could see of a file, plus its bytes on flash: must not move on a rejection. */
function snapshot(card: Card, req: Req, file: string): string {
  return JSON.stringify([card.store.file(file)?.info, req({ req: 'note.changes', file, deleted: true }), card.store.stats().usedBytes]);
}

describe('note.template on the card', () => {
  it('sets, verifies, removes; the template and port survive a restart', () => {
    const { req, restart } = fresh();
    expect(req({ req: 'note.template', file: 's.qo', body: sensorHints, port: 9 })).toEqual({ bytes: 17 });
    expect(req({ req: 'note.template', file: 's.qo', verify: true })).toEqual({ template: true, body: sensorHints, port: 9, bytes: 17 });
    const again = restart();
    expect(again.req({ req: 'note.template', file: 's.qo', verify: true })).toEqual({ template: true, body: sensorHints, port: 9, bytes: 17 });
    expect(again.req({ req: 'note.template', file: 's.qo' })).toEqual({});
    expect(again.req({ req: 'note.template', file: 's.qo', verify: true })).toEqual({});
    expect(restart().req({ req: 'note.template', file: 's.qo', verify: true })).toEqual({});
    expect(again.req({ req: 'note.add', file: 's.qo', body: { x: 'anything' } })).toEqual({ total: 1 });
  });

  it('removing a template from a file that has none changes nothing on flash', () => {
    const { req, card } = fresh();
    const before = card.store.stats().usedBytes;
    expect(req({ req: 'note.template', file: 'none.qo' })).toEqual({});
    expect(card.store.file('none.qo')).toBeUndefined();
    expect(card.store.stats().usedBytes).toBe(before);
  });

  it('keeps ports unique per card, across restarts and file deletion', () => {
    const { req, restart } = fresh();
    req({ req: 'note.template', file: 'a.qo', body: { v: 11 }, port: 5 });
    expect(req({ req: 'note.template', file: 'b.qo', body: { v: 11 }, port: 5 }).err).toMatch(/port: 5 is already used.*\{bad-arg\}/);
    expect(req({ req: 'note.template', file: 'b.qo', verify: true })).toEqual({});
    expect(req({ req: 'note.template', file: 'a.qo', body: { v: 12 }, port: 5 })).toEqual({ bytes: 3 }); // its own port
    const again = restart();
    expect(again.req({ req: 'note.template', file: 'c.db', body: { v: 11 }, port: 5 }).err).toMatch(/\{bad-arg\}/);
    again.req({ req: 'file.delete', files: ['a.qo'] });
    expect(again.req({ req: 'note.template', file: 'c.db', body: { v: 11 }, port: 5 })).toEqual({ bytes: 2 });
    // Removing the template frees the port too.
    again.req({ req: 'note.template', file: 'c.db' });
    expect(again.req({ req: 'note.template', file: 'd.qo', body: { v: 11 }, port: 5 })).toEqual({ bytes: 2 });
  });

  it('checks its arguments', () => {
    const { req } = fresh();
    expect(req({ req: 'note.template', file: 'x.txt', body: { v: 11 } }).err).toMatch(/\{notefile-bad-name\}/);
    expect(req({ req: 'note.template', file: 'a.qo', body: { v: 7 } }).err).toMatch(/v: 7 is not a type hint.*\{bad-arg\}/);
    expect(req({ req: 'note.template', file: 'a.qo', body: { v: 11 }, port: 101 }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'note.template', file: 'a.qo', body: { v: 11 }, delete: 'yes' }).err).toMatch(/delete.*\{bad-arg\}/);
    expect(req({ req: 'note.template', file: 'a.qo', body: { v: 11 }, delete: true })).toEqual({ bytes: 2 });
  });
});

describe('templated notes', () => {
  it('note.add answers template:true and stores the packed record, {bytes} long', () => {
    const { req, card } = fresh();
    const { bytes } = req({ req: 'note.template', file: 's.qo', body: sensorHints });
    const body = { temp: 14.5, humidity: 40, pressure: 1013.25, battery: 3.71, motion: true, status: 'ok' };
    expect(req({ req: 'note.add', file: 's.qo', body })).toEqual({ total: 1, template: true });
    const f = card.store.file('s.qo')!;
    const stored = card.store.readQueued(f, f.queued.next(0))!;
    expect(stored.format).toBe(1);
    expect(stored.body!.length).toBe(bytes);
    expect(req({ req: 'note.changes', file: 's.qo' }).notes['1']).toEqual({ body, time: 1_700_000_000 });
  });

  it.each<[string, unknown, unknown[], unknown[]]>([
    ['11', 11, [-128, 127], [-129, 128, 1.5]],
    ['12', 12, [-32768, 32767], [-32769, 32768]],
    ['13', 13, [-8388608, 8388607], [-8388609, 8388608]],
    ['14', 14, [-2147483648, 2147483647], [-2147483649, 2147483648]],
    ['18', 18, [-(2 ** 63), 2 ** 63 - 1024, Number.MAX_SAFE_INTEGER], [2 ** 63, 0.5]],
    ['21', 21, [0, 255], [-1, 256]],
    ['22', 22, [0, 65535], [-1, 65536]],
    ['23', 23, [0, 16777215], [-1, 16777216]],
    ['24', 24, [0, 4294967295], [-1, 4294967296]],
    ['12.1', 12.1, [65504, -65504, 6e-8, 0.5, 3.71], [65520, 'x']], // 6e-8: the smallest subnormal
    ['14.1', 14.1, [3.4028234663852886e38, -1e-45, 23.45], [3.5e38, true]],
    ['18.1', 18.1, [Number.MAX_VALUE, 5e-324, -0.1], ['1']],
    ['true', true, [true], [1, 'true']],
    ['string', 'text', ['', 'héllo wörld', 'x'.repeat(1000)], [5, false]],
  ])('hint %s: range edges round-trip through note.add/note.get; beyond them nothing is stored', (_name, hint, good, bad) => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'h.db', body: { v: hint } });
    good.forEach((v, i) => {
      expect(req({ req: 'note.add', file: 'h.db', note: `n${i}`, body: { v }, full: true })).toEqual({ total: i + 1, template: true });
      expect(req({ req: 'note.get', file: 'h.db', note: `n${i}` }).body).toEqual({ v });
    });
    const before = snapshot(card, req, 'h.db');
    for (const v of bad) {
      expect(req({ req: 'note.add', file: 'h.db', note: 'bad', body: { v } }).err).toMatch(/^v: .*\{template-incompatible\}$/);
    }
    expect(snapshot(card, req, 'h.db')).toBe(before);
  });

  it('a "N" string hint truncates longer strings to N bytes, before a partial character', () => {
    const { req } = fresh();
    req({ req: 'note.template', file: 's.db', body: { s: '5' } });
    req({ req: 'note.add', file: 's.db', note: 'a', body: { s: 'abcdefgh' } });
    req({ req: 'note.add', file: 's.db', note: 'b', body: { s: 'abcdé' } });
    expect(req({ req: 'note.get', file: 's.db', note: 'a' }).body).toEqual({ s: 'abcde' });
    expect(req({ req: 'note.get', file: 's.db', note: 'b' }).body).toEqual({ s: 'abcd' });
  });

  it('rejects fields absent from the template and wrong types, naming the field; nothing is stored', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'r.qo', body: { a: 11, o: { b: 12 }, l: [14] } });
    req({ req: 'note.add', file: 'r.qo', body: { a: 1 } });
    const before = snapshot(card, req, 'r.qo');
    const cases: [object, RegExp][] = [
      [{ a: 1, extra: 2 }, /^extra: not in the template \{template-incompatible\}$/],
      [{ o: { b: 1, c: 2 } }, /^o\.c: not in the template/],
      [{ o: 5 }, /^o: expected an object/],
      [{ l: [1, 'x'] }, /^l\[1\]: expected an integer/],
      [{ a: 2.5 }, /^a: 2\.5 is not an integer/],
    ];
    for (const [body, err] of cases) expect(req({ req: 'note.add', file: 'r.qo', body }).err).toMatch(err);
    expect(snapshot(card, req, 'r.qo')).toBe(before);
    // A rejected first note does not even create the file.
    req({ req: 'note.template', file: 'new.db', body: { a: 11 } });
    expect(req({ req: 'note.add', file: 'new.db', note: 'x', body: { a: 300 } }).err).toMatch(/\{template-incompatible\}/);
    expect(req({ req: 'file.changes', files: ['new.db'] }).info['new.db']).toEqual({ total: 0 });
  });

  it('omitempty drops null, 0, false and "" unless the note was added with full', () => {
    const { req, restart } = fresh();
    req({ req: 'note.template', file: 'e.qo', body: { i: 14, f: 14.1, b: true, s: 'x', o: { n: 11 }, l: [12] } });
    const empty = { i: 0, f: 0, b: false, s: '', o: { n: 0 }, l: [] };
    req({ req: 'note.add', file: 'e.qo', body: empty });
    req({ req: 'note.add', file: 'e.qo', body: empty, full: true });
    req({ req: 'note.add', file: 'e.qo', body: { i: null, s: 'kept' } });
    const read = (r: Req) => Object.values(r({ req: 'note.changes', file: 'e.qo' }).notes).map((n: any) => n.body);
    const expected = [undefined, empty, { s: 'kept' }];
    expect(read(req)).toEqual(expected);
    expect(read(restart().req)).toEqual(expected);
  });

  it('compact templates keep _time, _lat, _lon, _ltime in the body as given', () => {
    const { req } = fresh();
    const hints = { temp: 14.1, _time: 14, _lat: 18.1, _lon: 14.1, _ltime: 14, name: 'x' };
    expect(req({ req: 'note.template', file: 'c.qo', body: hints, format: 'compact', port: 50 })).toEqual({ bytes: 1 + 4 + 4 + 8 + 4 + 4 + 2 });
    expect(req({ req: 'note.template', file: 'c.qo', verify: true })).toMatchObject({ format: 'compact', port: 50 });
    const body = { temp: 21.5, _time: 1763700000, _lat: 42.3601234, _lon: -71.0589, _ltime: 1763699990, name: 'n'.repeat(300) };
    req({ req: 'note.add', file: 'c.qo', body });
    req({ req: 'note.add', file: 'c.qo', body: { temp: 1 } });
    req({ req: 'note.add', file: 'c.qo', body: { temp: 0 }, full: true });
    const notes = Object.values(req({ req: 'note.changes', file: 'c.qo' }).notes) as any[];
    expect(notes[0].body).toEqual({ ...body, _lon: Math.fround(-71.0589) === -71.0589 ? -71.0589 : expect.closeTo(-71.0589, 5), name: 'n'.repeat(255) });
    expect(notes[0].time).toBe(1_700_000_000); // the note's own time is kept beside the record
    expect(notes[1].body).toEqual({ temp: 1 });
    expect(notes[2].body).toEqual({ temp: 0, _time: 0, _lat: 0, _lon: 0, _ltime: 0, name: '' });
    expect(req({ req: 'note.add', file: 'c.qo', body: { _time: 2 ** 31 } }).err).toMatch(/^_time: .*\{template-incompatible\}/);
  });

  it('arrays (fixed and variable) and nested objects', () => {
    const { req, restart } = fresh();
    req({ req: 'note.template', file: 'n.db', body: { gps: { lat: 18.1, lon: 18.1, sats: { used: 21 } }, xyz: [12, 12, 12], samples: [12.1], tags: ['x'], grid: [[11]] } });
    const body = { gps: { lat: 42.123456789, lon: -71.5, sats: { used: 7 } }, xyz: [-1, 0, 32767], samples: [0.5, 3.71, 0], tags: ['a', 'éé'], grid: [[1, 2], [], [-128]] };
    req({ req: 'note.add', file: 'n.db', note: 'a', body, full: true });
    expect(req({ req: 'note.get', file: 'n.db', note: 'a' }).body).toEqual(body);
    expect(restart().req({ req: 'note.get', file: 'n.db', note: 'a' }).body).toEqual(body);
    expect(req({ req: 'note.add', file: 'n.db', note: 'b', body: { xyz: [1, 2, 3, 4] } }).err).toMatch(/^xyz: 4 values, the template holds 3 \{template-incompatible\}/);
  });

  it('payloads: up to length; any size when the template declares none; templated payloads may pass 250 bytes', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'p.qo', body: { v: 12 }, length: 300 });
    const payload = b64(Array.from({ length: 300 }, (_, i) => i & 0xff));
    expect(req({ req: 'note.add', file: 'p.qo', body: { v: 1 }, payload })).toEqual({ total: 1, template: true });
    expect(req({ req: 'note.add', file: 'p.qo', payload: b64([1, 2, 3]) })).toEqual({ total: 2, template: true });
    const before = snapshot(card, req, 'p.qo');
    expect(req({ req: 'note.add', file: 'p.qo', body: { v: 1 }, payload: b64(Array(301).fill(1)) }).err).toMatch(/payload: 301 bytes.*allows 300 \{template-incompatible\}/);
    expect(snapshot(card, req, 'p.qo')).toBe(before);
    const notes = Object.values(req({ req: 'note.changes', file: 'p.qo' }).notes) as any[];
    expect(notes[0]).toMatchObject({ body: { v: 1 }, payload });
    expect(notes[1]).toEqual({ payload: b64([1, 2, 3]), time: 1_700_000_000 });
    req({ req: 'note.template', file: 'free.qo', body: { v: 12 } });
    expect(req({ req: 'note.add', file: 'free.qo', payload: b64(Array(1000).fill(9)) }).total).toBe(1);
    expect(req({ req: 'note.add', file: 'plain.qo', payload: b64(Array(251).fill(9)) }).err).toMatch(/\{too-big\}/);
  });

  it('note.update on a templated database repacks with the active template', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'd.db', body: { a: 11 } });
    req({ req: 'note.add', file: 'd.db', note: 'k', body: { a: 1 } });
    req({ req: 'note.template', file: 'd.db', body: { a: 11, b: 12 } });
    const f = card.store.file('d.db')!;
    expect(card.templates.versions(f).map((v) => v.v)).toEqual([1, 2]);
    // Payload only: the body is read with version 1 and repacked with version 2, which frees version 1.
    expect(req({ req: 'note.update', file: 'd.db', note: 'k', payload: b64([7]) })).toEqual({});
    expect(card.store.readKeyed(f, 'k')!.format).toBe(2);
    expect(card.templates.versions(f).map((v) => v.v)).toEqual([2]);
    expect(req({ req: 'note.get', file: 'd.db', note: 'k' })).toMatchObject({ body: { a: 1 }, payload: b64([7]) });
    expect(req({ req: 'note.update', file: 'd.db', note: 'k', body: { a: 2, b: -300 } })).toEqual({});
    expect(req({ req: 'note.get', file: 'd.db', note: 'k' }).body).toEqual({ a: 2, b: -300 });
    const before = snapshot(card, req, 'd.db');
    expect(req({ req: 'note.update', file: 'd.db', note: 'k', body: { c: 1 } }).err).toMatch(/^c: not in the template \{template-incompatible\}/);
    expect(snapshot(card, req, 'd.db')).toBe(before);
    // Without a template, updates store JSON again; the templated note still reads.
    req({ req: 'note.template', file: 'd.db' });
    req({ req: 'note.add', file: 'd.db', note: 'j', body: { anything: 'goes' } });
    expect(req({ req: 'note.get', file: 'd.db', note: 'k' }).body).toEqual({ a: 2, b: -300 });
    req({ req: 'note.update', file: 'd.db', note: 'k', body: { c: 1 } });
    expect(card.store.readKeyed(f, 'k')!.format).toBe(0);
    expect(card.templates.versions(f)).toEqual([]);
  });
});

describe('template versions', () => {
  it('a template change keeps pending notes readable exactly as added, also after a restart', () => {
    const { req, card, restart } = fresh();
    req({ req: 'note.template', file: 'v.qo', body: { t: 12.1, s: 'x' } });
    req({ req: 'note.add', file: 'v.qo', body: { t: 3.71, s: 'one' } });
    req({ req: 'note.add', file: 'v.qo', body: { t: -2, s: 'two' }, full: true });
    req({ req: 'note.template', file: 'v.qo', body: { s: 'x', t: 24, extra: [11] } }); // same names, other layout
    req({ req: 'note.add', file: 'v.qo', body: { t: 4000000000, extra: [1, -1] } });
    expect(req({ req: 'note.add', file: 'v.qo', body: { t: 3.71 } }).err).toMatch(/\{template-incompatible\}/);
    req({ req: 'note.template', file: 'v.qo' });
    req({ req: 'note.add', file: 'v.qo', body: { free: 'json' } });
    const expected = [{ t: 3.71, s: 'one' }, { t: -2, s: 'two' }, { t: 4000000000, extra: [1, -1] }, { free: 'json' }];
    const read = (r: Req) => Object.values(r({ req: 'note.changes', file: 'v.qo' }).notes).map((n: any) => n.body);
    expect(read(req)).toEqual(expected);
    const again = restart();
    expect(read(again.req)).toEqual(expected);
    const f = () => again.card.store.file('v.qo')!;
    expect(again.card.templates.versions(f()).map((v) => [v.v, v.from, v.to])).toEqual([[1, 1, 3], [2, 3, 4]]);
    // Consuming the notes drops each version with its last note, in the same transaction.
    again.req({ req: 'note.changes', file: 'v.qo', max: 1, delete: true });
    expect(again.card.templates.versions(f()).map((v) => v.v)).toEqual([1, 2]);
    again.req({ req: 'note.changes', file: 'v.qo', max: 1, delete: true });
    expect(again.card.templates.versions(f()).map((v) => v.v)).toEqual([2]);
    again.req({ req: 'note.changes', file: 'v.qo', max: 1, delete: true });
    expect(again.card.templates.versions(f())).toEqual([]);
    expect(read(again.req)).toEqual([{ free: 'json' }]);
    expect(again.card.store.check()).toEqual([]);
  });

  it('re-setting the same template adds no version; ids are reused once free', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'q.qo', body: { a: 11 } });
    const used = card.store.stats().usedBytes;
    req({ req: 'note.template', file: 'q.qo', body: { a: 11 } });
    expect(card.store.stats().usedBytes).toBe(used);
    // Without notes, a replaced version is dropped at once (and its id is free again).
    req({ req: 'note.template', file: 'q.qo', body: { a: 12 } });
    expect(card.templates.versions(card.store.file('q.qo')!).map((v) => [v.v, v.template.body])).toEqual([[1, { a: 12 }]]);
    req({ req: 'note.add', file: 'q.qo', body: { a: 1 } });
    req({ req: 'note.template', file: 'q.qo', body: { a: 13 } });
    expect(card.templates.versions(card.store.file('q.qo')!).map((v) => v.v)).toEqual([1, 2]);
    req({ req: 'file.clear', file: 'q.qo' });
    expect(card.templates.versions(card.store.file('q.qo')!).map((v) => v.v)).toEqual([2]);
  });

  it('the sync reads notes of the version it sends as records without decoding their bodies', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'r.qo', body: { a: 11 } });
    req({ req: 'note.add', file: 'r.qo', body: { a: 5 } });
    req({ req: 'note.template', file: 'r.qo', body: { a: 11, b: 'xx' } });
    req({ req: 'note.add', file: 'r.qo', body: { a: 6, b: 'hi' } });
    const f = card.store.file('r.qo')!;
    const [older, newer] = card.notefiles.pending(f, 10, 2);
    expect([older.format, older.body]).toEqual([1, { a: 5 }]);
    expect([newer.format, newer.body, newer.record!.length > 0]).toEqual([2, undefined, true]);
  });

  it('database versions follow tombstones and inbound edits; the sync sees record and version', () => {
    const { req, card } = fresh();
    req({ req: 'note.template', file: 'x.db', body: { a: 11 } });
    req({ req: 'note.add', file: 'x.db', note: 'k', body: { a: 5 } });
    const f = card.store.file('x.db')!;
    const [pending] = card.notefiles.pending(f, 10);
    expect(pending.format).toBe(1);
    expect(Array.from(pending.record!)).toEqual([0, 5]);
    expect(card.templates.version(f, pending.format!)!.template.body).toEqual({ a: 11 });
    req({ req: 'note.template', file: 'x.db', body: { a: 12 } });
    card.notefiles.applyFromHub('x.db', [{ id: 'k', body: { a: 300 } }]);
    expect(card.store.readKeyed(f, 'k')!.format).toBe(2);
    expect(req({ req: 'note.get', file: 'x.db', note: 'k' }).body).toEqual({ a: 300 });
    // An inbound replacement leaves the unused version 1 to the file's next removal.
    expect(card.templates.versions(f).map((v) => v.v)).toEqual([1, 2]);
    req({ req: 'note.delete', file: 'x.db', note: 'k' });
    req({ req: 'note.template', file: 'x.db', body: { a: 14 } });
    expect(card.templates.versions(f).map((v) => v.template.body)).toEqual([{ a: 14 }]); // the tombstone needs no version
  });

  it('bounds the template metadata: a change that would keep too many versions is refused', () => {
    const { req, card } = fresh();
    let i = 0;
    let reply: Record<string, any> = {};
    for (; i < 100; i++) {
      reply = req({ req: 'note.template', file: 'm.qo', body: { [`field${i}`]: 14, label: 'some text' } });
      if (reply.err) break;
      req({ req: 'note.add', file: 'm.qo', body: { [`field${i}`]: i } });
    }
    expect(reply.err).toMatch(/older versions its notes still use.*2048 bytes.*\{too-big\}/);
    expect(i).toBeGreaterThan(5);
    const notes = Object.values(req({ req: 'note.changes', file: 'm.qo', max: 100 }).notes).map((n: any) => n.body);
    expect(notes).toEqual(Array.from({ length: i }, (_, k) => (k === 0 ? undefined : { [`field${k}`]: k })));
    expect(req({ req: 'note.template', file: 'm.qo', verify: true }).body).toEqual({ [`field${i - 1}`]: 14, label: 'some text' });
    // Once the old notes are gone, the change goes through.
    req({ req: 'note.changes', file: 'm.qo', max: 100, delete: true });
    expect(req({ req: 'note.template', file: 'm.qo', body: { [`field${i}`]: 14 } })).toEqual({ bytes: 5 });
    expect(card.templates.versions(card.store.file('m.qo')!)).toHaveLength(1);
  });
});
