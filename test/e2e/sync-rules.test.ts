// One set of rules (src/rules): what the card accepts is what the sync carries and the hub stores,
// and nothing a single notefile holds can stop a sync. The card's engine against the real hub in
// this process, over loopback TCP.
import { Card } from '../../src/card';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { FF, FORMAT_JSON } from '../../src/store/format';
import { utf8Encode } from '../../src/util/utf8';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

type Data = Record<string, any>;
/** A body whose packed form (float64s) outgrows one frame while its JSON text fits the card's flash. */
function floats(n: number): number[] {
  const out: number[] = [];
  for (let s = 7; out.length < n;) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const v = Number(`${1 + ((s >>> 8) % 9)}e${21 + ((s >>> 16) % 280)}`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

let running: RunningHub;

beforeAll(async () => {
  running = await startHub({ dataDir: tempDir('opencard-rules-'), port: 0, devicePort: 0, log: () => {} });
});
afterAll(async () => {
  await running?.close();
});

function newCard(): { card: Card; req: (r: object) => Data } {
  const host = { ...nodeHost({ flash: new RamFlash({ size: 256 * 1024 }), logLevel: 'silent', trustSystemClock: true, binaryMax: 16384 }), net: nodeNet };
  const card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  const req = (r: object): Data => JSON.parse(card.request(JSON.stringify(r)).text!);
  req({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  return { card, req };
}

async function syncOnce(c: { card: Card; req: (r: object) => Data }): Promise<Data> {
  c.req({ req: 'hub.sync' });
  for (let i = 0; i < 1000 && c.card.engine!.running; i++) await sleep(5);
  return c.req({ req: 'hub.sync.status' });
}

async function api(path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Data }> {
  const b = running.bootstrap!;
  const res = await fetch(`${running.url}/v1/projects/${b.projectUID}${path}`, {
    method, headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Data };
}

async function events(uid: string, file: string): Promise<Data[]> {
  const r = await api(`/events?deviceUID=${encodeURIComponent(uid)}&files=${encodeURIComponent(file)}&pageSize=1000`);
  return r.body.events as Data[];
}

it('a note.add the sync could not carry is refused up front, and every sync still goes through', async () => {
  const c = newCard();
  const attempts: [string, object][] = [
    ['a 70-byte name', { req: 'note.add', file: 'n'.repeat(67) + '.qo', body: { a: 1 } }],
    ['a name with a space', { req: 'note.add', file: 'my data.qo', body: { a: 1 } }],
    ['a unicode name', { req: 'note.add', file: 'é'.repeat(10) + '.qo', body: { a: 1 } }],
    ['an ID longer than a conflict copy leaves room for', { req: 'note.add', file: 'ids.db', note: 'i'.repeat(120), body: { a: 1 } }],
    ['a reserved ID', { req: 'note.add', file: 'ids.db', note: 'x!c1', body: { a: 1 } }],
    ['a body nested deeper than packed JSON carries', { req: 'note.add', file: 'deep.qo', body: JSON.parse('{"a":'.repeat(20) + '1' + '}'.repeat(20)) }],
    ['a body larger than one frame', { req: 'note.add', file: 'big.qo', body: { f: floats(500) } }],
    ['a serial number the handshake cannot carry', { req: 'hub.set', sn: 's'.repeat(200) }],
  ];
  for (const [what, r] of attempts) {
    const reply = c.req(r);
    expect([what, reply.err]).toEqual([what, expect.stringMatching(/\{(notefile-bad-name|bad-arg|too-big)\}/)]);
  }
  expect(c.req({ req: 'note.add', file: 'ok.qo', body: { ok: 1 } })).toEqual({ total: 1 });
  const status = await syncOnce(c);
  expect(status.status).toContain('{sync-end}');
  expect((await events(c.card.deviceUID, 'ok.qo')).map((e) => e.body)).toEqual([{ ok: 1 }]);
});

it('a notefile an older build stored under a name the sync cannot carry is skipped and reported; the rest goes through', async () => {
  const c = newCard();
  for (const name of ['n'.repeat(70) + '.qo', 'my data.qo']) {
    const tx = c.card.store.begin();
    const id = tx.createFile(name, FF.SYNCED);
    tx.addNote(id, { time: 1_700_000_000, format: FORMAT_JSON, body: utf8Encode('{"old":1}'), flags: 0 });
    c.card.store.commit(tx);
  }
  c.req({ req: 'note.add', file: 'ok.qo', body: { ok: 2 } });
  for (let i = 0; i < 2; i++) {
    const status = await syncOnce(c);
    expect(status.status).toContain('{sync-end}');
    expect(Object.keys(status.skipped ?? {}).sort()).toEqual(['my data.qo', 'n'.repeat(70) + '.qo']);
  }
  expect((await events(c.card.deviceUID, 'ok.qo')).map((e) => e.body)).toEqual([{ ok: 2 }]);
  // The notes stay on the card; the pending list says why they do not leave.
  const pending = c.req({ req: 'file.changes.pending' });
  expect(pending.info['my data.qo']).toMatchObject({ changes: 1, skipped: expect.stringContaining('name') });
  expect(pending.info['ok.qo']).toBeUndefined();
});

it('a note too large for one frame (stored by an older build) holds back only its notefile, and says so', async () => {
  const c = newCard();
  c.req({ req: 'note.add', file: 'big.qo', body: { n: 1 } });
  const tx = c.card.store.begin();
  const big = JSON.stringify({ f: floats(500) });
  tx.addNote(c.card.store.file('big.qo')!.id, { time: 1_700_000_000, format: FORMAT_JSON, body: utf8Encode(big), flags: 0 });
  c.card.store.commit(tx);
  c.req({ req: 'note.add', file: 'big.qo', body: { n: 3 } });
  c.req({ req: 'note.add', file: 'fine.qo', body: { fine: true } });
  const status = await syncOnce(c);
  expect(status.status).toContain('{sync-end}');
  expect(status.skipped).toEqual({ 'big.qo': expect.stringMatching(/too large for one frame/) });
  expect((await events(c.card.deviceUID, 'fine.qo')).map((e) => e.body)).toEqual([{ fine: true }]);
  // The note before it went through; it and the one after it wait on the card.
  expect((await events(c.card.deviceUID, 'big.qo')).map((e) => e.body)).toEqual([{ n: 1 }]);
  expect(c.req({ req: 'file.changes.pending' }).info['big.qo']).toMatchObject({ changes: 2 });
});

it('a hub note that does not fit the card\'s template of that notefile arrives as JSON', async () => {
  const c = newCard();
  expect(c.req({ req: 'note.template', file: 'cfg.db', body: { v: 11 } })).toMatchObject({ bytes: expect.any(Number) });
  c.req({ req: 'note.add', file: 'cfg.db', note: 'a', body: { v: 1 } });
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  const put = await api(`/devices/${c.card.deviceUID}/notes/cfg.db/b`, 'POST', { body: { v: 'text, not an integer', extra: [1, 2] } });
  expect(put.status).toBe(200);
  c.req({ req: 'note.add', file: 'after.qo', body: { after: 1 } });
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  expect(c.req({ req: 'note.get', file: 'cfg.db', note: 'b' }).body).toEqual({ v: 'text, not an integer', extra: [1, 2] });
  expect((await events(c.card.deviceUID, 'after.qo'))).toHaveLength(1);
});

it('the hub API refuses a note the sync could not deliver, and names and IDs by the same rules as the card', async () => {
  const c = newCard();
  c.req({ req: 'note.add', file: 'x.qo', body: { hello: 1 } });
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  const uid = c.card.deviceUID;
  const big = { s: Array.from({ length: 900 }, (_, i) => (i * 7919) % 10007).join(',') };
  expect((await api(`/devices/${uid}/notes/data.qi`, 'POST', { body: big })).status).toBe(400);
  expect((await api(`/devices/${uid}/notes/${'q'.repeat(70)}.qi`, 'POST', { body: { a: 1 } })).status).toBe(400);
  expect((await api(`/devices/${uid}/notes/cfg.db/${'i'.repeat(120)}`, 'POST', { body: { a: 1 } })).status).toBe(400);
  expect((await api(`/devices/${uid}/notes/cfg.db/x!h3`, 'POST', { body: { a: 1 } })).status).toBe(400);
  expect((await api(`/devices/${uid}/notes/data.qi`, 'POST', { body: { small: 1 } })).status).toBe(200);
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  expect(c.req({ req: 'note.get', file: 'data.qi', delete: true }).body).toEqual({ small: 1 });
});

it('a hub note the card cannot store is skipped with its notefile (SKIP), reported, and the rest comes down', async () => {
  const c = newCard();
  c.req({ req: 'note.add', file: 'x.qo', body: { hello: 1 } });
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  const uid = c.card.deviceUID;
  // packed JSON spells a key once per block; the card's flash keeps JSON text, which repeats it
  const wide = { list: Array.from({ length: 300 }, (_, i) => ({ temperature: i })) };
  for (const body of [{ before: 1 }, wide, { after: 1 }]) expect((await api(`/devices/${uid}/notes/wide.qi`, 'POST', { body })).status).toBe(200);
  expect((await api(`/devices/${uid}/notes/data.qi`, 'POST', { body: { fine: 1 } })).status).toBe(200);
  for (let i = 0; i < 2; i++) {
    const status = await syncOnce(c);
    expect(status.status).toContain('{sync-end}');
    expect(status.skipped).toEqual({ 'wide.qi': expect.stringMatching(/cannot be stored.*\{too-big\}|too big/) });
  }
  expect(c.req({ req: 'note.get', file: 'data.qi', delete: true }).body).toEqual({ fine: 1 });
  // the note before it came down (once); it and the one after it wait on the hub
  expect(c.req({ req: 'note.get', file: 'wide.qi', delete: true }).body).toEqual({ before: 1 });
  expect(c.req({ req: 'note.get', file: 'wide.qi' }).err).toMatch(/\{note-noexist\}/);
  expect((await api(`/devices/${uid}/notes/wide.qi`)).body.total).toBe(2);
});
