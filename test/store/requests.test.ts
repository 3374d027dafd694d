import { RamFlash } from '../../hosts/node/ram-flash';
import { PendingSync } from '../../src/card';
import { testCard, testHost } from '../support/host';

type Req = (r: object) => Record<string, any>;

function fresh(): { req: Req; restart: () => Req; card: ReturnType<typeof testCard>['card']; flash: RamFlash } {
  const host = testHost();
  const { card, req } = testCard(host);
  return { req, card, flash: host.flash, restart: () => testCard(testHost(host.flash)).req };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('note.add', () => {
  it('adds to data.qo by default and reports the total', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', body: { temp: 21.5 } })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', body: { temp: 22 } })).toEqual({ total: 2 });
    expect(req({ req: 'file.changes' }).info['data.qo']).toEqual({ total: 2, changes: 2 });
  });

  it('accepts body and payload, rejects a note without either, a bad payload and a non-object body', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', file: 'p.qo', payload: b64('hello') })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', file: 'p.qo' }).err).toMatch(/body or a payload/);
    expect(req({ req: 'note.add', payload: '***' }).err).toMatch(/payload.*base64.*\{bad-arg\}/);
    expect(req({ req: 'note.add', body: [1, 2] }).err).toMatch(/body.*object/);
    expect(req({ req: 'note.add', body: 'x' }).err).toMatch(/body.*object/);
  });

  it('limits untemplated payloads to 250 bytes', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', payload: Buffer.alloc(250, 1).toString('base64') })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', payload: Buffer.alloc(251, 1).toString('base64') }).err).toMatch(/250.*\{too-big\}/);
  });

  it('checks notefile names', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', file: 'x.txt', body: {} }).err).toMatch(/x\.txt.*\{notefile-bad-name\}/);
    expect(req({ req: 'note.add', file: '_sys.qo', body: {} }).err).toMatch(/reserved.*\{notefile-bad-name\}/);
    expect(req({ req: 'note.add', file: 'a,b.qo', body: {} }).err).toMatch(/not ",".*\{notefile-bad-name\}/);
    expect(req({ req: 'note.add', file: 'in.qi', body: {} }).err).toMatch(/inbound.*\{notefile-bad-name\}/);
    for (const f of ['a.qo', 'a.qos', 'a.db', 'a.dbs', 'a.dbx']) expect(req({ req: 'note.add', file: f, note: f.includes('db') ? 'n' : undefined, body: {} }).total).toBe(1);
  });

  it('applies ID rules: queues reject note, databases require it, "?" generates one', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', file: 'q.qo', note: 'x', body: {} }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'note.add', file: 'd.db', body: {} }).err).toMatch(/needs a note ID/);
    expect(req({ req: 'note.add', file: 'd.db', note: 'one', body: { a: 1 } })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', file: 'd.db', note: 'one', body: { a: 2 } }).err).toMatch(/\{note-exists\}/);
    const gen = req({ req: 'note.add', file: 'd.db', note: '?', body: { a: 3 } });
    expect(gen.total).toBe(2);
    expect(gen.note).toMatch(/^[0-9a-f]{16}$/);
    expect(req({ req: 'note.get', file: 'd.db', note: gen.note }).body).toEqual({ a: 3 });
  });

  it('sync:true asks the sync hook, without pretending to sync', () => {
    const { req, card } = fresh();
    req({ req: 'note.add', file: 's.qo', body: { a: 1 }, sync: true });
    const sync = card.sync as PendingSync;
    expect(sync.requested).toBe(true);
    expect(req({ req: 'file.changes.pending' }).info['s.qo']).toEqual({ changes: 1, total: 1 });
  });

  it('binary+live takes the binary buffer as payload; key is refused honestly; verify and full are accepted', () => {
    const { req, card } = fresh();
    expect(req({ req: 'note.add', binary: true, live: true }).err).toMatch(/\{bad-bin\}/);
    expect(req({ req: 'note.add', binary: true, body: {} }).err).toMatch(/live/);
    card.binary.beginPut(5, 0, undefined);
    for (const b of [0x05 ^ 0x0a, 1 ^ 0x0a, 2 ^ 0x0a, 3 ^ 0x0a, 4 ^ 0x0a]) card.binary.receiveByte(b);
    card.binary.endPut();
    expect(card.binary.length).toBe(4);
    expect(req({ req: 'note.add', file: 'bin.qo', binary: true, live: true })).toEqual({ total: 1 });
    expect(req({ req: 'note.changes', file: 'bin.qo' }).notes['1'].payload).toBe(Buffer.from([1, 2, 3, 4]).toString('base64'));
    expect(req({ req: 'note.add', body: {}, key: 'pubkey' }).err).toMatch(/\{not-supported\}/);
    expect(req({ req: 'note.add', body: { a: 0 }, verify: true, full: true })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', body: {}, verify: 'yes' }).err).toMatch(/verify/);
  });

  it('stamps notes with the add time only when the clock is known', () => {
    const host = testHost();
    host.wallMs = undefined;
    const { req, card } = testCard(host);
    req({ req: 'note.add', file: 'd.db', note: 'a', body: {} });
    expect(req({ req: 'note.get', file: 'd.db', note: 'a' })).toEqual({ body: {} });
    card.setTime(1_750_000_000_000);
    req({ req: 'note.add', file: 'd.db', note: 'b', body: {} });
    expect(req({ req: 'note.get', file: 'd.db', note: 'b' })).toEqual({ body: {}, time: 1_750_000_000 });
  });
});

describe('note.get / note.update / note.delete', () => {
  it('reads inbound queues oldest first from data.qi, deleting with delete:true', () => {
    const { req, card } = fresh();
    expect(req({ req: 'note.get' }).err).toMatch(/data\.qi.*\{note-noexist\}/);
    card.notefiles.applyFromHub('data.qi', [{ body: { n: 1 } }]);
    card.notefiles.applyFromHub('data.qi', [{ body: { n: 2 }, payload: Uint8Array.of(9) }]);
    expect(req({ req: 'note.get' })).toMatchObject({ body: { n: 1 } });
    expect(req({ req: 'note.get', delete: true })).toMatchObject({ body: { n: 1 } });
    expect(req({ req: 'note.get', file: 'data.qi', delete: true })).toMatchObject({ body: { n: 2 }, payload: 'CQ==' });
    expect(req({ req: 'note.get' }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.get', note: 'x' }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'note.get', file: 'data.qo' }).err).toMatch(/outbound/);
  });

  it('reads, updates and deletes database notes; deleted:true shows the tombstone; decrypt is accepted', () => {
    const { req } = fresh();
    req({ req: 'note.add', file: 'c.db', note: 'k', body: { v: 1 }, payload: b64('p') });
    expect(req({ req: 'note.get', file: 'c.db' }).err).toMatch(/ID is required/);
    expect(req({ req: 'note.get', file: 'c.db', note: 'zz' }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.get', file: 'nofile.db', note: 'k' }).err).toMatch(/\{notefile-noexist\}/);
    expect(req({ req: 'note.update', file: 'c.db', note: 'k', body: { v: 2 } })).toEqual({});
    expect(req({ req: 'note.get', file: 'c.db', note: 'k', decrypt: true })).toMatchObject({ body: { v: 2 }, payload: b64('p') });
    expect(req({ req: 'note.update', file: 'c.db', note: 'k', payload: b64('q') })).toEqual({});
    expect(req({ req: 'note.get', file: 'c.db', note: 'k' })).toMatchObject({ body: { v: 2 }, payload: b64('q') });
    expect(req({ req: 'note.update', file: 'c.db', note: 'nope', body: {} }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.update', file: 'c.db', note: 'k' }).err).toMatch(/body or a payload/);
    expect(req({ req: 'note.delete', file: 'c.db', note: 'k', verify: true })).toEqual({});
    expect(req({ req: 'note.get', file: 'c.db', note: 'k' }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.get', file: 'c.db', note: 'k', deleted: true })).toEqual({ time: 1_700_000_000 });
    expect(req({ req: 'note.delete', file: 'c.db', note: 'k' }).err).toMatch(/\{note-noexist\}/);
    // A deleted ID can be added again.
    expect(req({ req: 'note.add', file: 'c.db', note: 'k', body: { v: 3 } })).toEqual({ total: 1 });
    expect(req({ req: 'note.get', file: 'c.db', note: 'k', delete: true })).toMatchObject({ body: { v: 3 } });
    expect(req({ req: 'note.get', file: 'c.db', note: 'k' }).err).toMatch(/\{note-noexist\}/);
  });

  it('refuses queue-only and database-only operations on the wrong kind', () => {
    const { req } = fresh();
    req({ req: 'note.add', file: 'q.qo', body: {} });
    expect(req({ req: 'note.update', file: 'q.qo', note: '1', body: {} }).err).toMatch(/\{notefile-queue-disallowed\}/);
    expect(req({ req: 'note.delete', file: 'q.qo', note: '1' }).err).toMatch(/\{notefile-queue-disallowed\}/);
  });
});

describe('note.changes and file.changes with trackers', () => {
  function seeded() {
    const f = fresh();
    for (const [id, v] of [['one', 1], ['two', 2], ['three', 3], ['four', 4]] as const) f.req({ req: 'note.add', file: 'set.db', note: id, body: { v } });
    return f;
  }

  it('without a tracker returns everything and advances nothing', () => {
    const { req } = seeded();
    const r = req({ req: 'note.changes', file: 'set.db' });
    expect(r.changes).toBe(4);
    expect(r.total).toBe(4);
    expect(Object.keys(r.notes)).toEqual(['one', 'two', 'three', 'four']);
    expect(r.notes.two).toEqual({ body: { v: 2 }, time: 1_700_000_000 });
    expect(req({ req: 'note.changes', file: 'set.db' }).changes).toBe(4);
  });

  it('a tracker sees each change once; max batches; start/reset rewind; stop deletes it', () => {
    const { req } = seeded();
    let r = req({ req: 'note.changes', file: 'set.db', tracker: 't', max: 3 });
    expect(Object.keys(r.notes)).toEqual(['one', 'two', 'three']);
    expect(r.changes).toBe(4);
    r = req({ req: 'note.changes', file: 'set.db', tracker: 't' });
    expect(Object.keys(r.notes)).toEqual(['four']);
    expect(req({ req: 'note.changes', file: 'set.db', tracker: 't' })).toEqual({ changes: 0, total: 4, notes: {} });
    req({ req: 'note.update', file: 'set.db', note: 'two', body: { v: 22 } });
    r = req({ req: 'note.changes', file: 'set.db', tracker: 't' });
    expect(r.notes).toEqual({ two: { body: { v: 22 }, time: 1_700_000_000 } });
    expect(Object.keys(req({ req: 'note.changes', file: 'set.db', tracker: 't', start: true }).notes)).toHaveLength(4);
    expect(Object.keys(req({ req: 'note.changes', file: 'set.db', tracker: 't', reset: true }).notes)).toHaveLength(4);
    expect(req({ req: 'note.changes', file: 'set.db', tracker: 't', stop: true }).changes).toBe(0);
    // Stopped: the next read starts from the beginning again.
    expect(Object.keys(req({ req: 'note.changes', file: 'set.db', tracker: 't' }).notes)).toHaveLength(4);
    expect(req({ req: 'note.changes', file: 'set.db', tracker: 't', max: 0 }).err).toMatch(/max/);
  });

  it('delete:true removes what it returns; deleted:true shows tombstones until trackers pass them', () => {
    const { req } = seeded();
    req({ req: 'note.changes', file: 'set.db', tracker: 'a' });
    const r = req({ req: 'note.changes', file: 'set.db', tracker: 'b', start: true, delete: true, max: 2 });
    expect(Object.keys(r.notes)).toEqual(['one', 'two']);
    expect(req({ req: 'note.changes', file: 'set.db' }).total).toBe(2);
    // Tracker a has not seen the deletions: it gets them as tombstones.
    const seen = req({ req: 'note.changes', file: 'set.db', tracker: 'a', deleted: true });
    expect(seen.notes).toEqual({ one: { time: 1_700_000_000, deleted: true }, two: { time: 1_700_000_000, deleted: true } });
    expect(req({ req: 'note.changes', file: 'set.db', tracker: 'a', deleted: true }).notes).toEqual({});
  });

  it('tombstones are purged once every tracker and the hub have passed them', () => {
    const { req, card } = seeded();
    req({ req: 'note.changes', file: 'set.db', tracker: 'a' });
    req({ req: 'note.delete', file: 'set.db', note: 'one' });
    const f = card.store.file('set.db')!;
    expect(f.keyed.has('one')).toBe(true);
    req({ req: 'note.changes', file: 'set.db', tracker: 'a' });
    expect(f.keyed.has('one')).toBe(true); // the hub has not seen it yet
    card.notefiles.acknowledge('set.db', f.counter);
    expect(f.keyed.has('one')).toBe(false);
    // A local-only database keeps a tombstone only for its trackers.
    req({ req: 'note.add', file: 'l.dbx', note: 'x', body: {} });
    req({ req: 'note.delete', file: 'l.dbx', note: 'x' });
    expect(card.store.file('l.dbx')!.keyed.has('x')).toBe(false);
  });

  it('queues: delete:true consumes, trackers work, deleted has no effect', () => {
    const { req, card } = fresh();
    for (let i = 1; i <= 5; i++) card.notefiles.applyFromHub('cmd.qi', [{ body: { i } }]);
    const r = req({ req: 'note.changes', file: 'cmd.qi', tracker: 'x', max: 2, delete: true, deleted: true });
    expect(Object.values(r.notes).map((n: any) => n.body.i)).toEqual([1, 2]);
    expect(r.total).toBe(3); // after the deletions
    expect(req({ req: 'note.changes', file: 'cmd.qi', tracker: 'x' })).toMatchObject({ changes: 3, total: 3 });
  });

  it('file.changes reports per file, against a shared tracker, for chosen files', () => {
    const { req } = seeded();
    req({ req: 'note.add', file: 'q.qo', body: {} });
    let r = req({ req: 'file.changes' });
    expect(r).toEqual({ changes: 5, total: 5, info: { 'set.db': { total: 4, changes: 4 }, 'q.qo': { total: 1, changes: 1 } } });
    req({ req: 'note.changes', file: 'set.db', tracker: 'shared', max: 3 });
    r = req({ req: 'file.changes', tracker: 'shared', files: ['set.db'] });
    expect(r).toEqual({ changes: 1, total: 4, info: { 'set.db': { total: 4, changes: 1 } } });
    expect(req({ req: 'file.changes', files: ['bad.name'] }).err).toMatch(/\{notefile-bad-name\}/);
  });
});

describe('file requests', () => {
  it('file.changes.pending and file.stats count what the hub has not seen; acknowledging clears .qo notes', () => {
    const { req, card } = fresh();
    expect(req({ req: 'file.changes.pending' })).toEqual({ changes: 0, total: 0 });
    req({ req: 'note.add', file: 'out.qo', body: { a: 1 } });
    req({ req: 'note.add', file: 'out.qo', body: { a: 2 } });
    req({ req: 'note.add', file: 'local.dbx', note: 'n', body: {} });
    expect(req({ req: 'file.changes.pending' })).toEqual({ pending: true, changes: 2, total: 2, info: { 'out.qo': { changes: 2, total: 2 } } });
    expect(req({ req: 'file.stats' })).toEqual({ total: 3, changes: 2, sync: true });
    expect(req({ req: 'file.stats', file: 'local.dbx' })).toEqual({ total: 1, changes: 0, sync: false });
    const pending = card.notefiles.pending(card.store.file('out.qo')!, 10);
    expect(pending.map((n) => n.body)).toEqual([{ a: 1 }, { a: 2 }]);
    card.notefiles.acknowledge('out.qo', pending[0].seq + 1);
    expect(req({ req: 'file.stats', file: 'out.qo' })).toEqual({ total: 1, changes: 1, sync: true });
    expect(req({ req: 'file.stats', file: 'none.qo' }).err).toMatch(/\{notefile-noexist\}/);
  });

  it('file.clear empties a notefile; file.delete removes notefiles', () => {
    const { req, restart } = fresh();
    req({ req: 'note.add', file: 'a.qo', body: {} });
    req({ req: 'note.add', file: 'a.qo', body: {} });
    req({ req: 'note.add', file: 'b.db', note: 'x', body: {} });
    expect(req({ req: 'file.clear', file: 'a.qo' })).toEqual({});
    expect(req({ req: 'file.changes' }).info['a.qo']).toEqual({ total: 0 });
    expect(req({ req: 'file.clear', file: 'zz.qo' }).err).toMatch(/\{notefile-noexist\}/);
    expect(req({ req: 'file.clear' }).err).toMatch(/file/);
    expect(req({ req: 'file.delete', files: ['a.qo', 'b.db'] })).toEqual({});
    expect(req({ req: 'file.changes' })).toEqual({ changes: 0, total: 0, info: {} });
    expect(req({ req: 'file.delete' }).err).toMatch(/files/);
    expect(restart()({ req: 'file.changes' })).toEqual({ changes: 0, total: 0, info: {} });
  });
});

describe('var requests', () => {
  it('set, get, delete text/value/flag in vars.db or a named file', () => {
    const { req, restart } = fresh();
    expect(req({ req: 'var.set', name: 'status', text: 'ok' })).toEqual({});
    expect(req({ req: 'var.get', name: 'status' })).toEqual({ text: 'ok' });
    expect(req({ req: 'var.set', name: 'status', value: 7 })).toEqual({});
    expect(req({ req: 'var.get', name: 'status' })).toEqual({ value: 7 });
    expect(req({ req: 'var.set', file: 'my.db', name: 'on', flag: true, sync: true })).toEqual({});
    expect(req({ req: 'var.get', file: 'my.db', name: 'on' })).toEqual({ flag: true });
    expect(req({ req: 'note.get', file: 'vars.db', note: 'status' }).body).toEqual({ value: 7 });
    expect(restart()({ req: 'var.get', name: 'status' })).toEqual({ value: 7 });
    expect(req({ req: 'var.delete', name: 'status' })).toEqual({});
    expect(req({ req: 'var.get', name: 'status' })).toEqual({});
    expect(req({ req: 'var.set', name: 'x' }).err).toMatch(/text, value or flag/);
    expect(req({ req: 'var.set', text: 'x' }).err).toMatch(/name/);
    expect(req({ req: 'var.get', file: 'q.qo', name: 'x' }).err).toMatch(/\{notefile-queue-disallowed\}/);
  });
});

describe('env requests', () => {
  it('local values override hub values, which override defaults; names are case-insensitive', () => {
    const { req, card, restart } = fresh();
    expect(req({ req: 'env.get', name: 'rate' })).toEqual({});
    expect(req({ req: 'env.default', name: 'Rate', text: '5' })).toEqual({});
    expect(req({ req: 'env.get', name: 'rate' })).toMatchObject({ text: '5' });
    card.env.replace('hub', { rate: '10', other: 'h' }, true);
    expect(req({ req: 'env.get', name: 'RATE' })).toMatchObject({ text: '10' });
    expect(req({ req: 'env.set', name: 'rate', text: '1' })).toEqual({ time: 1_700_000_000 });
    expect(req({ req: 'env.get', name: 'rate' })).toMatchObject({ text: '1' });
    expect(req({ req: 'env.get', names: ['rate', 'other', 'missing'] }).body).toEqual({ rate: '1', other: 'h' });
    expect(req({ req: 'env.get' }).body).toEqual({ rate: '1', other: 'h' });
    expect(req({ req: 'env.set', name: 'rate' })).toEqual({ time: 1_700_000_000 });
    expect(req({ req: 'env.get', name: 'rate' }).text).toBe('10');
    expect(restart()({ req: 'env.get' }).body).toEqual({ rate: '10', other: 'h' });
    expect(req({ req: 'env.set', text: 'x' }).err).toMatch(/name/);
  });

  it('env.modified and env.get {time} tell whether anything changed', () => {
    const host = testHost();
    const { req } = testCard(host);
    expect(req({ req: 'env.modified' })).toEqual({ time: 0 });
    req({ req: 'env.set', name: 'a', text: '1' });
    const t = req({ req: 'env.modified' }).time;
    expect(t).toBe(1_700_000_000);
    expect(req({ req: 'env.modified', time: t })).toEqual({ time: t });
    expect(req({ req: 'env.get', time: t }).err).toMatch(/\{env-noop\}/);
    host.ms += 5000;
    req({ req: 'env.set', name: 'a', text: '1' }); // same value: not a modification
    expect(req({ req: 'env.modified' }).time).toBe(t);
    req({ req: 'env.default', name: 'a', text: '0' }); // hidden by the local value: not a modification
    expect(req({ req: 'env.modified' }).time).toBe(t);
    req({ req: 'env.set', name: 'a', text: '2' });
    expect(req({ req: 'env.modified', time: t })).toEqual({ time: t + 5 });
    expect(req({ req: 'env.get', name: 'a', time: t })).toEqual({ text: '2', time: t + 5 });
  });
});

describe('restart and factory reset', () => {
  it('keeps notes, trackers, settings and identity across restarts', () => {
    const { req, restart } = fresh();
    req({ req: 'note.add', file: 'k.db', note: 'a', body: { x: 1 } });
    req({ req: 'note.add', body: { y: 2 } });
    req({ req: 'note.changes', file: 'k.db', tracker: 't' });
    req({ req: 'hub.set', product: 'com.example:p', mode: 'continuous' });
    const device = req({ req: 'hub.get' }).device;
    const again = restart();
    expect(again({ req: 'hub.get' })).toMatchObject({ device, product: 'com.example:p', mode: 'continuous' });
    expect(again({ req: 'note.get', file: 'k.db', note: 'a' }).body).toEqual({ x: 1 });
    expect(again({ req: 'note.changes', file: 'k.db', tracker: 't' }).notes).toEqual({});
    expect(again({ req: 'file.changes' }).info['data.qo']).toEqual({ total: 1, changes: 1 });
  });

  it('card.restore {delete:true} wipes notes and configuration but keeps the identity', () => {
    const host = testHost();
    const resets: object[] = [];
    const { req, card } = testCard(host, { onFactoryReset: (keep) => resets.push(keep) });
    const device = req({ req: 'hub.get' }).device;
    req({ req: 'note.add', body: { y: 2 } });
    req({ req: 'hub.set', product: 'com.example:p' });
    req({ req: 'env.set', name: 'a', text: '1' });
    const reply = card.request('{"req":"card.restore","delete":true}');
    reply.after?.();
    expect(resets).toEqual([{ device }]);
    const again = testCard(testHost(host.flash)).req;
    expect(again({ req: 'hub.get' })).toEqual({ device, mode: 'periodic' });
    expect(again({ req: 'file.changes' })).toEqual({ changes: 0, total: 0, info: {} });
    expect(again({ req: 'env.get' }).body).toEqual({});
    expect(card.store.check()).toEqual([]);
  });
});

describe('what host libraries rely on', () => {
  it('note.get on an absent or empty inbound queue carries {note-noexist} (hosts drain .qi files until they see it)', () => {
    const { req, card } = fresh();
    expect(req({ req: 'note.get', file: 'cmds.qi', delete: true }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.get' }).err).toMatch(/\{note-noexist\}/);
    card.notefiles.applyFromHub('cmds.qi', [{ body: { go: 1 } }]);
    expect(req({ req: 'note.get', file: 'cmds.qi', delete: true })).toMatchObject({ body: { go: 1 } });
    expect(req({ req: 'note.get', file: 'cmds.qi', delete: true }).err).toMatch(/\{note-noexist\}/);
    expect(req({ req: 'note.get', file: 'none.db', note: 'k' }).err).toMatch(/\{note-noexist\}/);
  });

  it('card.time before the time is known is an error with {no-time}; after, the time', () => {
    const host = testHost(new RamFlash({ size: 8 * 4096 }));
    host.wallMs = undefined; // no host clock, no sync yet
    const { req, card } = testCard(host);
    expect(req({ req: 'card.time' }).err).toMatch(/^time is not yet set.*\{no-time\}$/);
    card.setTime(1_800_000_000_000);
    expect(req({ req: 'card.time' })).toMatchObject({ time: 1_800_000_000 });
  });

  it('echo answers with what it was sent: note-c\'s NotePing text, a body, an id', () => {
    const { req, card } = fresh();
    expect(req({ req: 'echo', text: 'QWERTYUIOPASDFGH' })).toEqual({ text: 'QWERTYUIOPASDFGH' });
    expect(req({ req: 'echo', body: { hello: 'world' }, id: 7 })).toEqual({ body: { hello: 'world' }, id: 7 });
    expect(req({ req: 'echo' })).toEqual({});
    expect(card.request('{"cmd":"echo","text":"x"}').text).toBeUndefined();
  });
});

describe('factory reset failures', () => {
  it('card.restore {delete:true} wipes before it answers: a failure is an error reply, never an exception after {}', () => {
    const host = testHost(new RamFlash({ size: 8 * 4096 }));
    const restarts: number[] = [];
    const { req, card } = testCard(host, { onRestart: () => restarts.push(1) });
    req({ req: 'note.add', body: { y: 2 } });
    host.flash.cutAfter(1); // the flash fails from its next write on
    const reply = card.request('{"req":"card.restore","delete":true}');
    expect(reply.text).toMatch(/^\{"err":"/);
    expect(() => reply.after?.()).not.toThrow();
    host.flash.reboot();
    const again = testCard(testHost(host.flash));
    expect(again.req({ req: 'file.changes' }).info['data.qo']).toEqual({ total: 1, changes: 1 }); // before, not half-wiped
    expect(again.req({ req: 'card.restore', delete: true })).toEqual({});
    expect(testCard(testHost(host.flash)).req({ req: 'file.changes' })).toEqual({ changes: 0, total: 0, info: {} });
  });
});

describe('limits', () => {
  it('a full store answers {storage-full}, loses nothing, keeps answering, and recovers after deletes', () => {
    const flash = new RamFlash({ size: 8 * 4096, writeAlign: 4 });
    const { req } = testCard(testHost(flash));
    let added = 0;
    let err = '';
    while (!err) {
      const r = req({ req: 'note.add', file: 'fill.db', note: 'n' + added, body: { pad: 'x'.repeat(200) } });
      if (r.err) err = r.err;
      else added++;
    }
    expect(err).toMatch(/storage full.*32 KB.*\{storage-full\}/);
    expect(added).toBeGreaterThan(50);
    expect(req({ req: 'note.add', file: 'fill.db', note: 'again', body: { pad: 'x'.repeat(200) } }).err).toMatch(/\{storage-full\}/);
    expect(req({ req: 'file.changes' }).info['fill.db'].total).toBe(added);
    expect(req({ req: 'card.version' }).err).toBeUndefined();
    const again = testCard(testHost(flash));
    expect(again.req({ req: 'note.get', file: 'fill.db', note: 'n' + (added - 1) }).body.pad).toHaveLength(200);
    for (let i = 0; i < 20; i++) expect(again.req({ req: 'note.delete', file: 'fill.db', note: 'n' + i })).toEqual({});
    expect(again.req({ req: 'note.add', body: { more: 1 } })).toEqual({ total: 1 });
    expect(again.card.store.check()).toEqual([]);
  });

  it('a note larger than an erase block is {too-big}, naming the limit', () => {
    const { req } = fresh();
    expect(req({ req: 'note.add', body: { big: 'y'.repeat(5000) } }).err).toMatch(/at most \d+ bytes.*\{too-big\}/);
    expect(req({ req: 'note.add', body: { ok: 1 } })).toEqual({ total: 1 });
  });
});

describe('name limits', () => {
  it('counts notefile and variable names in UTF-8 bytes', () => {
    const { req } = fresh();
    // notefile names are ASCII (src/rules/names.ts), at most 64 bytes; note IDs at most 110 bytes of UTF-8
    expect(req({ req: 'note.add', file: 'n'.repeat(61) + '.qo', body: {} })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', file: 'n'.repeat(62) + '.qo', body: {} }).err).toMatch(/\{notefile-bad-name\}/);
    expect(req({ req: 'note.add', file: 'é'.repeat(10) + '.qo', body: {} }).err).toMatch(/\{notefile-bad-name\}/);
    expect(req({ req: 'env.set', name: 'é'.repeat(60), text: 'x' }).err).toMatch(/100 bytes/);
    expect(req({ req: 'note.add', file: 'd.db', note: 'é'.repeat(55), body: {} })).toEqual({ total: 1 });
    expect(req({ req: 'note.add', file: 'd.db', note: 'é'.repeat(56), body: {} }).err).toMatch(/ID must be 1 to 110 bytes/);
  });
});
