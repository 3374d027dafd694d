/**
 * The device listener over a real loopback socket, driven by a scripted card (test/hub/card.ts):
 * provisioning and authentication, refusals that store nothing, notes up as events (JSON and
 * templated), .qi down, .db conflicts, environment, continuous pushes, timeouts.
 */
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/server';
import { MESSAGE_TYPES, templateVersion, type SyncMessage } from '../../src/sync/messages';
import { CardLink, CardState, syncOnce } from './card';
import { call, removeDir, tempDir } from './helpers';

type Data = Record<string, unknown>;
const quiet = { log: (): void => undefined };

let dir: string;
let h: RunningHub;
let token: string;
let project: string;
let product: string;
let n = 0;
const port = (): number => h.devicePort!;
const newCard = (): CardState => new CardState(`dev:test${++n}`, product);
const api = (path: string, method = 'GET', body?: unknown) => call(`${h.url}/v1/projects/${project}${path}`, token, method, body);
const events = async (uid: string, file: string): Promise<Data[]> =>
  (await api(`/events?deviceUID=${uid}&files=${file}&pageSize=1000`)).body.events as Data[];

beforeAll(async () => {
  dir = tempDir('listener');
  h = await startHub({ dataDir: dir, port: 0, devicePort: 0, ...quiet, adminPassword: 'admin-password-1', deviceLimits: { pingIdleMs: 300, deadIdleMs: 900, handshakeMs: 900 } });
  ({ token, projectUID: project, productUID: product } = h.bootstrap!);
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});

describe('handshake', () => {
  it('provisions a device on first contact, then authenticates it by challenge-response; WELCOME carries hub time', async () => {
    const card = newCard();
    const first = await syncOnce(card, { port: port() });
    expect(first).toMatchObject({ established: true, provisioned: true, completed: true });
    expect(Math.abs(card.hubTime - Date.now())).toBeLessThan(5000);
    const dev = await api(`/devices/${card.uid}`);
    expect(dev.status).toBe(200);
    expect(dev.body).toMatchObject({ uid: card.uid, product_uid: product });
    const again = await syncOnce(card, { port: port() });
    expect(again).toMatchObject({ established: true, provisioned: false, completed: true, cardReset: false });
  });

  it('wrong secret: refused {auth}, the stored secret kept, nothing stored', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    const impostor = new CardState(card.uid, product);
    impostor.provisionAllowed = false; // it claims to know this hub, so it will not offer a secret
    impostor.add('sensors.qo', { evil: true });
    const r = await syncOnce(impostor, { port: port() });
    expect(r).toMatchObject({ established: false, refused: { code: 'auth' } });
    expect(await events(card.uid, 'sensors.qo')).toEqual([]);
    expect(await h.hub.devices.deviceSecret(card.uid)).toBe(Buffer.from(card.secret).toString('hex'));
    // an impostor that does offer a secret is refused the same way: the hub never re-provisions a known device
    const offering = await syncOnce(new CardState(card.uid, product), { port: port() });
    expect(offering.refused?.code).toBe('auth');
    expect((await syncOnce(card, { port: port() })).established).toBe(true);
  });

  it('a replayed handshake (and the session after it) is refused, nothing stored', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    card.add('sensors.qo', { n: 1 });
    const recorded: Uint8Array[] = [];
    await syncOnce(card, { port: port(), tap: (f) => { recorded.push(f); return f; } });
    expect(await events(card.uid, 'sensors.qo')).toHaveLength(1);
    const { answer } = await raw(Buffer.concat(recorded));
    // CHALLENGE (fresh nonce), then a plain REFUSE auth: the old proof does not match
    expect(answer[1]).toBe(MESSAGE_TYPES.challenge);
    const refuse = answer.subarray(answer[0] + 1);
    expect(refuse[1]).toBe(MESSAGE_TYPES.refuse);
    expect(refuse[2]).toBe(2); // code auth
    expect(await events(card.uid, 'sensors.qo')).toHaveLength(1);
  });

  it('a tampered secure note is refused and nothing of it stored', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    card.add('secret.qos', { pin: 1234 });
    let tampered = false;
    const r = await syncOnce(card, {
      port: port(),
      tap: (f) => {
        if ((f[1] & 0x7f) !== MESSAGE_TYPES.notes && (f[2] & 0x7f) !== MESSAGE_TYPES.notes) return f;
        expect(f[1] & 0x80 || f[2] & 0x80).toBeTruthy(); // secure notes go encrypted
        tampered = true;
        const t = Uint8Array.from(f);
        t[t.length - 20] ^= 1;
        return t;
      },
    });
    expect(tampered).toBe(true);
    expect(r.refused?.code).toBe('auth');
    expect(await events(card.uid, 'secret.qos')).toEqual([]);
    expect(card.file('secret.qos').outbox.size).toBe(1); // never acknowledged
    await syncOnce(card, { port: port() });
    expect((await events(card.uid, 'secret.qos')).map((e) => e.body)).toEqual([{ pin: 1234 }]);
  });

  it('disabled and deleted devices are refused {auth}; an unknown product {product}; TOFU off refuses strangers', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    expect((await api(`/devices/${card.uid}/disable`, 'POST')).status).toBe(200);
    card.add('sensors.qo', { n: 1 });
    expect((await syncOnce(card, { port: port() })).refused?.code).toBe('auth');
    expect(await events(card.uid, 'sensors.qo')).toEqual([]);
    await api(`/devices/${card.uid}/enable`, 'POST');
    expect((await syncOnce(card, { port: port() })).completed).toBe(true);
    expect(await events(card.uid, 'sensors.qo')).toHaveLength(1);
    expect((await api(`/devices/${card.uid}`, 'DELETE')).status).toBe(200);
    const fresh = Object.assign(new CardState(card.uid, product), {}); // even offering a secret
    expect((await syncOnce(fresh, { port: port() })).refused?.code).toBe('auth');
    expect((await api(`/devices/${card.uid}`)).status).toBe(404);

    const stranger = new CardState('dev:stranger', 'com.example.nobody:none');
    expect((await syncOnce(stranger, { port: port() })).refused?.code).toBe('product');

    const d2 = tempDir('listener-tofu');
    const h2 = await startHub({ dataDir: d2, port: 0, devicePort: 0, tofu: false, ...quiet });
    try {
      const r = await syncOnce(new CardState('dev:new', h2.bootstrap!.productUID), { port: h2.devicePort! });
      expect(r.refused?.code).toBe('auth');
      expect(await h2.hub.store.device('dev:new')).toBeNull();
      // a device an operator created through the API joins on its first connection
      await h2.hub.devices.provisionDevice(h2.bootstrap!.productUID, 'dev:admitted');
      const admitted = new CardState('dev:admitted', h2.bootstrap!.productUID);
      expect(await syncOnce(admitted, { port: h2.devicePort! })).toMatchObject({ provisioned: true, completed: true });
      expect(await syncOnce(admitted, { port: h2.devicePort! })).toMatchObject({ provisioned: false, completed: true });
    } finally {
      await h2.close();
      removeDir(d2);
    }
  });

  it('a card reset (new cardEpoch) is detected: upUntil forgotten, its restarted counters accepted', async () => {
    const card = newCard();
    for (let i = 1; i <= 3; i++) card.add('sensors.qo', { i });
    await syncOnce(card, { port: port() });
    card.cardEpoch = new Uint8Array(8).fill(9);
    card.files.clear();
    for (let i = 4; i <= 5; i++) card.add('sensors.qo', { i });
    const r = await syncOnce(card, { port: port() });
    expect(r.cardReset).toBe(true);
    expect((await events(card.uid, 'sensors.qo')).map((e) => (e.body as Data).i)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a card reset brings its databases back down; a device deleted and provisioned again resyncs in full', async () => {
    const card = newCard();
    card.dbPut('config.db', 'k', { v: 1 }, 1_700_000_000);
    await syncOnce(card, { port: port() });
    card.cardEpoch = new Uint8Array(8).fill(7);
    card.files.clear();
    expect((await syncOnce(card, { port: port() })).cardReset).toBe(true);
    expect(card.file('config.db').db.get('k')?.note.body).toEqual({ v: 1 });

    for (let i = 0; i < 5; i++) await api(`/devices/${card.uid}/notes/data.qi`, 'POST', { body: { i } });
    await syncOnce(card, { port: port() });
    expect(card.file('data.qi').downUntil).toBeGreaterThan(5);
    const before = card.hubEpoch;
    expect((await api(`/devices/${card.uid}`, 'DELETE')).status).toBe(200);
    expect((await api(`/devices/${card.uid}/provision`, 'POST', { product_uid: product })).status).toBe(200);
    await api(`/devices/${card.uid}/notes/data.qi`, 'POST', { body: { after: 'reprovision' } });
    // the hub now asks for provisioning: a card that knows this hub refuses until hub.set
    expect((await syncOnce(card, { port: port() })).refused?.code).toBe('auth');
    card.provisionAllowed = true; // hub.set
    expect((await syncOnce(card, { port: port() })).provisioned).toBe(true);
    expect(card.hubEpoch).not.toEqual(before);
    expect([...card.file('data.qi').inbox.values()].map((x) => x.body)).toContainEqual({ after: 'reprovision' });
  });

  it('a silent connection is dropped after the handshake timeout', async () => {
    const { answer, hubClosed } = await raw(Buffer.from([0x05, 0x01]), 5000); // half a HELLO, then nothing
    expect(answer.length).toBe(0);
    expect(hubClosed).toBe(true); // the hub ended it, not this test's own time limit
  });
});

describe('exchange', () => {
  it('a .qo batch becomes events (JSON and templated) with the session, visible through the events API', async () => {
    const card = newCard();
    card.setTemplate('temps.qo', { temp: 14.1, count: 22, ok: true, label: 'abcdefgh' });
    for (let i = 0; i < 10; i++) card.add('sensors.qo', { i, text: `note ${i}` }, 1_700_000_000 + i);
    for (let i = 0; i < 5; i++) card.add('temps.qo', { temp: 20.5 + i, count: i, ok: i % 2 === 0, label: `t${i}` }, 1_700_001_000 + i);
    card.add('sensors.qo', { bin: 1 }, 1_700_000_100, Uint8Array.from([1, 2, 3]));
    card.file('sensors.qo').outbox.get(11)!.where = { lat: 42.25, lon: -71.5, time: 1_700_000_050 };
    expect((await syncOnce(card, { port: port() })).completed).toBe(true);
    expect(card.file('sensors.qo').outbox.size).toBe(0);
    expect(card.file('temps.qo').outbox.size).toBe(0);
    const json = await events(card.uid, 'sensors.qo');
    expect(json.map((e) => e.body)).toEqual([...Array.from({ length: 10 }, (_, i) => ({ i, text: `note ${i}` })), { bin: 1 }]);
    expect(json.map((e) => e.when)).toEqual([...Array.from({ length: 10 }, (_, i) => 1_700_000_000 + i), 1_700_000_100]);
    expect(json[10].payload).toBe('AQID');
    expect(json[10]).toMatchObject({ best_lat: 42.25, best_lon: -71.5, best_location_when: 1_700_000_050 });
    expect(json[9].best_lat).toBeUndefined();
    const sessions = new Set(json.map((e) => e.session));
    expect(sessions.size).toBe(1);
    expect([...sessions][0]).toMatch(/^[0-9a-f-]{36}$/);
    const templated = await events(card.uid, 'temps.qo');
    expect(templated.map((e) => e.body)).toEqual(Array.from({ length: 5 }, (_, i) => ({ temp: 20.5 + i, count: i, ok: i % 2 === 0, label: `t${i}` }))
      .map((b) => Object.fromEntries(Object.entries(b).filter(([, v]) => v !== 0 && v !== false))));
    expect(templated.map((e) => e.when)).toEqual(Array.from({ length: 5 }, (_, i) => 1_700_001_000 + i));
    // the template was asked for once: the next session does not send it again
    card.add('temps.qo', { temp: 1.5, count: 9, ok: true, label: 'again' });
    let templates = 0;
    await syncOnce(card, { port: port(), tap: (f) => { if (f[1] === MESSAGE_TYPES.template || f[2] === MESSAGE_TYPES.template) templates++; return f; } });
    expect(templates).toBe(0);
    expect((await events(card.uid, 'temps.qo')).length).toBe(6);
  });

  it('a note added through the HTTP API to data.qi comes down once and leaves the hub', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    expect((await api(`/devices/${card.uid}/notes/data.qi`, 'POST', { body: { cmd: 'go' }, payload: 'AQI=' })).status).toBe(200);
    await syncOnce(card, { port: port() });
    const inbox = [...card.file('data.qi').inbox.values()];
    expect(inbox.map((x) => x.body)).toEqual([{ cmd: 'go' }]);
    expect(Array.from(inbox[0].payload!)).toEqual([1, 2]);
    expect(await h.hub.store.pendingInbound(card.uid)).toEqual([]);
    await syncOnce(card, { port: port() });
    expect(card.applied).toHaveLength(1);
  });

  it('.db notes edited on both sides converge by the rule: later time wins, the loser kept as a conflict note', async () => {
    const card = newCard();
    const now = Math.floor(Date.now() / 1000);
    card.dbPut('config.db', 'a', { v: 'card-1' }, now - 100);
    card.dbPut('config.db', 'b', { v: 'b' }, now - 100);
    await syncOnce(card, { port: port() });
    const hubNote = async (id: string): Promise<Data> => (await api(`/devices/${card.uid}/notes/config.db/${encodeURIComponent(id)}`)).body;
    expect((await hubNote('a')).body).toEqual({ v: 'card-1' });

    // both edit a: the card later than the hub -> the card wins, the hub's version kept as a!h<n>
    expect((await api(`/devices/${card.uid}/notes/config.db/a`, 'PUT', { body: { v: 'hub-2' } })).status).toBe(200);
    card.dbPut('config.db', 'a', { v: 'card-2' }, now + 1000);
    // and the hub deletes b
    expect((await api(`/devices/${card.uid}/notes/config.db/b`, 'DELETE')).status).toBe(200);
    await syncOnce(card, { port: port() });
    const hubAll = async (): Promise<Data> => {
      const notes = (await api(`/devices/${card.uid}/notes/config.db`)).body.notes as Record<string, Data>;
      return Object.fromEntries(Object.entries(notes).map(([k, v]) => [k, v.body]));
    };
    const cardAll = (): Data => Object.fromEntries([...card.file('config.db').db].filter(([, d]) => !d.note.deleted).map(([k, d]) => [k, d.note.body]));
    const afterCardWins = await hubAll();
    expect(Object.values(afterCardWins)).toHaveLength(2);
    expect(afterCardWins.a).toEqual({ v: 'card-2' });
    const hubLoser = Object.keys(afterCardWins).find((k) => k.startsWith('a!h'))!;
    expect(afterCardWins[hubLoser]).toEqual({ v: 'hub-2' });
    expect(cardAll()).toEqual(afterCardWins);

    // both edit a again: the card's edit is older -> the hub wins, the card's version kept as a!c<counter>
    await api(`/devices/${card.uid}/notes/config.db/a`, 'PUT', { body: { v: 'hub-3' } });
    card.dbPut('config.db', 'a', { v: 'card-3' }, now - 5000);
    const counter = card.file('config.db').counter;
    await syncOnce(card, { port: port() });
    const afterHubWins = await hubAll();
    expect(afterHubWins.a).toEqual({ v: 'hub-3' });
    expect(afterHubWins[`a!c${counter}`]).toEqual({ v: 'card-3' });
    expect(cardAll()).toEqual(afterHubWins);
    // a quiet sync changes nothing on either side
    await syncOnce(card, { port: port() });
    expect(await hubAll()).toEqual(afterHubWins);
    expect(cardAll()).toEqual(afterHubWins);
  });

  it('environment variables come down (project < device), once per change', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    await api('/environment_variables', 'PUT', { environment_variables: { rate: '10', mode: 'p' } });
    await api(`/devices/${card.uid}/environment_variables`, 'PUT', { environment_variables: { mode: 'd' } });
    await syncOnce(card, { port: port() });
    expect(card.env.vars).toMatchObject({ rate: '10', mode: 'd' });
    expect(card.env.modified).toBeGreaterThan(1_700_000_000);
    const seen: SyncMessage[] = [];
    await syncOnce(card, { port: port(), onMessage: (m) => seen.push(m) });
    expect(seen.filter((m) => m.type === 'env')).toEqual([]);
  });

  it('continuous mode: API notes and env changes are pushed in the open session; PING keeps it alive', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    const seen: SyncMessage[] = [];
    const link = new CardLink(card, { port: port(), continuous: true, onMessage: (m) => seen.push(m) });
    await until(() => link.hubDone);
    // the link never asks again: what arrives was pushed by the hub
    await api(`/devices/${card.uid}/notes/data.qi`, 'POST', { body: { push: 1 } });
    await until(() => card.file('data.qi').inbox.size === 1);
    await api(`/devices/${card.uid}/environment_variables`, 'PUT', { environment_variables: { live: 'yes' } });
    await until(() => card.env.vars.live === 'yes');
    // the card also uploads in the session: a NOTES frame any time
    // four PINGs span more than deadIdleMs (each follows pingIdleMs of quiet): they keep it open
    await until(() => seen.filter((m) => m.type === 'ping').length >= 4);
    expect(h.listener!.connected).toContain(card.uid);
    await link.stop();
    expect(card.applied).toHaveLength(1);
    expect(await h.hub.store.pendingInbound(card.uid)).toEqual([]);
  });

  it('respects a card that announces the smallest frame (256): catalogue and notes split to fit', async () => {
    const card = newCard();
    const names = Array.from({ length: 12 }, (_, i) => `${'long-notefile-name-'.repeat(3)}${i}.qo`);
    for (const name of names) card.add(name, { i: 1 });
    await syncOnce(card, { port: port(), maxFrame: 256 });
    for (let i = 0; i < 20; i++) await api(`/devices/${card.uid}/notes/data.qi`, 'POST', { body: { i, text: 'x'.repeat(40) } });
    let replies = 0;
    let downFrames = 0;
    const r = await syncOnce(card, { port: port(), maxFrame: 256, onMessage: (m) => { if (m.type === 'catalogReply') replies++; if (m.type === 'notes') downFrames++; } });
    expect(r.completed).toBe(true);
    expect(replies).toBeGreaterThan(3);
    expect(downFrames).toBeGreaterThan(3);
    expect(card.file('data.qi').inbox.size).toBe(20);
    expect((await api(`/events?deviceUID=${card.uid}&pageSize=100`)).body.events as Data[]).toHaveLength(12 + 20);
  });

  it('the TLS port speaks the same protocol inside TLS', async () => {
    const d = tempDir('listener-tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(d, 'key.pem'), '-out', join(d, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(d, 'cert.pem'), 'utf8');
    const h2 = await startHub({ dataDir: d, port: 0, devicePort: 0, deviceTls: { port: 0, cert, key: readFileSync(join(d, 'key.pem')) }, ...quiet });
    try {
      const card = new CardState('dev:tls', h2.bootstrap!.productUID);
      card.add('sensors.qo', { over: 'tls' });
      expect(await syncOnce(card, { port: h2.deviceTlsPort!, tlsCa: cert })).toMatchObject({ provisioned: true, completed: true });
      const page = await h2.hub.store.events({ projectUID: h2.bootstrap!.projectUID, files: ['sensors.qo'], limit: 10 });
      expect(page.json.map((j) => JSON.parse(j).body)).toEqual([{ over: 'tls' }]);
      await until(async () => (await h2.hub.store.syncSessions('dev:tls', 1))[0]?.ended !== null);
      expect((await h2.hub.store.syncSessions('dev:tls', 1))[0].tls).toBe(true);
    } finally {
      await h2.close();
      removeDir(d);
    }
  });

  it('sessions are recorded with their counts', async () => {
    const card = newCard();
    card.add('sensors.qo', { a: 1 });
    card.add('sensors.qo', { a: 2 });
    await syncOnce(card, { port: port() });
    await until(async () => (await h.hub.store.syncSessions(card.uid, 5))[0]?.ended !== null);
    const [s] = await h.hub.store.syncSessions(card.uid, 5);
    expect(s).toMatchObject({ deviceUID: card.uid, notesUp: 2, notesDown: 0, tls: false });
    expect((await events(card.uid, 'sensors.qo'))[0].session).toBe(s.uid);
    // as the API shows them (notehub-js getDeviceSessions), and the device's latest event of each notefile
    const D = `${h.url}/v1/projects/${h.bootstrap!.projectUID}/devices/${card.uid}`;
    expect((await call(`${D}/sessions`, h.bootstrap!.token)).body).toEqual({
      sessions: [{ session: s.uid, device: card.uid, sn: expect.any(String), product: expect.any(String), fleets: [], when: s.started, ip: '127.0.0.1', tls: false, events: 2 }],
      has_more: false,
    });
    expect((await call(`${D}/sessions?pageNum=2`, h.bootstrap!.token)).body).toEqual({ sessions: [], has_more: false });
    const latest = (await call(`${D}/latest`, h.bootstrap!.token)).body.latest_events as { file: string; body: unknown }[];
    expect(latest.map((e) => [e.file, e.body])).toEqual([['sensors.qo', { a: 2 }]]);
  });

  it('a notefile, template or note the hub cannot take is skipped (SKIP); everything else goes through', async () => {
    const card = newCard();
    card.add('good.qo', { g: 1 });
    card.add('good.qo', { g: 2 });
    // a template the hub cannot parse (its version is its CRC-32, so it is well formed on the wire)
    const junk = new Uint8Array(Buffer.from('{"body":'));
    card.file('tpl.qo').template = { definition: junk, version: templateVersion(junk), body: { v: 11 } };
    card.add('tpl.qo', { v: 1 });
    // a record with no template behind it, after a JSON note the hub can store
    card.add('rec.qo', { r: 1 });
    const rec = card.file('rec.qo');
    rec.counter++;
    rec.outbox.set(rec.counter, { counter: rec.counter, time: 1_700_000_000, record: new Uint8Array([0, 1, 2]) });
    card.add('rec.qo', { r: 3 });
    // a notefile that never syncs, and a name the hub refuses
    card.add('local.dbx', { l: 1 });
    card.add('bad name.qo', { b: 1 });
    const r = await syncOnce(card, { port: port(), skip: true, perFrame: 'fit' });
    expect(r).toMatchObject({ established: true, completed: true });
    expect(r.refused).toBeUndefined();
    expect(Object.keys(r.skipped).sort()).toEqual(['bad name.qo', 'local.dbx', 'rec.qo', 'tpl.qo']);
    expect(r.skipped['rec.qo']).toMatch(/note 2.*template/);
    expect((await events(card.uid, 'good.qo')).map((e) => e.body)).toEqual([{ g: 1 }, { g: 2 }]);
    // the note before the one refused is stored and acknowledged; the rest stays on the card
    expect((await events(card.uid, 'rec.qo')).map((e) => e.body)).toEqual([{ r: 1 }]);
    expect([...rec.outbox.keys()]).toEqual([2, 3]);
    expect(card.file('tpl.qo').outbox.size).toBe(1);
    expect(await events(card.uid, 'tpl.qo')).toEqual([]);
    // a card that cannot hear SKIP is refused as before: nothing half-applied
    const old = await syncOnce(card, { port: port() });
    expect(old.refused?.code).toBe('protocol');
  });
});

/** Sends bytes on a fresh connection and collects the answer until the hub closes (or `timeout` ms pass). */
function raw(bytes: Buffer, timeout = 3000): Promise<{ answer: Buffer; hubClosed: boolean }> {
  return new Promise((ok) => {
    const chunks: Buffer[] = [];
    let hubClosed = true;
    const s = connect(port(), '127.0.0.1', () => s.write(bytes));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    const t = setTimeout(() => { hubClosed = false; s.destroy(); }, timeout);
    s.on('close', () => { clearTimeout(t); ok({ answer: Buffer.concat(chunks), hubClosed }); });
  });
}

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
