/**
 * The Hub service (what the sync listener calls) and the API features beyond the notehub-js
 * walk-through: filters, paging, .db change tracking, DFU, route delivery, persistence.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startHub, DATABASE_FILE, type RunningHub } from '../../hub/server';
import { Hub } from '../../hub/hub';
import { SqliteStore } from '../../hub/store/sqlite';
import { MIGRATIONS } from '../../hub/store/migrations';
import { verifyPassword, hashPassword, uuid7 } from '../../hub/auth';
import { call, removeDir, tempDir } from './helpers';
import { STORES, testDatabase, testStore } from './stores';
import { createHash } from 'node:crypto';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

type Data = Record<string, unknown>;
const quiet = { log: (): void => undefined };

describe.each(STORES)('Hub service (%s)', (kind) => {
  let hub: Hub;
  let product: string;
  let project: string;
  beforeEach(async () => {
    hub = new Hub(await testStore(kind));
    await hub.accounts.createUser('u', 'password-1');
    project = (await hub.projects.createProject('u', 'p')).uid;
    product = (await hub.projects.createProduct(project, 'com.example.u:p')).uid;
  });
  afterEach(() => hub.close());

  it('provisions a device on first contact and refreshes it later', async () => {
    const fleet = await hub.projects.createFleet(project, 'auto');
    const prod2 = await hub.projects.createProduct(project, 'com.example.u:q', '', { autoProvisionFleets: [fleet.uid], disableDevicesByDefault: true });
    const d = await hub.devices.provisionDevice(prod2.uid, 'dev:1', { sn: 'one' });
    expect(d).toMatchObject({ uid: 'dev:1', projectUID: project, productUID: prod2.uid, sn: 'one', fleetUIDs: [fleet.uid], disabled: true });
    const again = await hub.devices.provisionDevice(prod2.uid, 'dev:1', { sn: 'renamed' });
    expect(again.sn).toBe('renamed');
    await expect(hub.devices.provisionDevice('com.example.u:none', 'dev:2')).rejects.toMatchObject({ status: 404 });
    await expect(hub.devices.provisionDevice(product, 'not-a-device')).rejects.toMatchObject({ status: 400 });
  });

  it('turns each uploaded note into an event with the Notehub fields, in one batch', async () => {
    await hub.devices.provisionDevice(product, 'dev:1', { sn: 'one' });
    const seen: unknown[] = [];
    hub.on('events', (e: unknown[]) => seen.push(...e));
    const events = await hub.events.ingestNotes('dev:1', 'data.qo', [
      { body: { a: 1 }, when: 1700000000.7 },
      { body: { a: 2 }, payload: 'AQI=', lat: 42.5, lon: -71.25, ltime: 1700000100 },
      { id: 'n3', body: { a: 3 } },
    ], { session: 'sess-1' });
    expect(events).toHaveLength(3);
    expect(seen).toHaveLength(3);
    expect(events[0]).toMatchObject({ device: 'dev:1', sn: 'one', product, app: project, file: 'data.qo', body: { a: 1 }, when: 1700000000, session: 'sess-1' });
    expect(events[0].best_lat).toBeUndefined();
    expect(events[1]).toMatchObject({ payload: 'AQI=', best_lat: 42.5, best_lon: -71.25, best_location_when: 1700000100 });
    expect(events[2]).toMatchObject({ note: 'n3', best_lat: 42.5 });
    expect(new Set(events.map((e) => e.event)).size).toBe(3);
    const page = await hub.store.events({ projectUID: project, limit: 10 });
    expect(page.json.map((j) => JSON.parse(j).event)).toEqual(events.map((e) => e.event));
    const dev = await hub.devices.device('dev:1');
    expect([dev.lat, dev.lon]).toEqual([42.5, -71.25]);
    await expect(hub.events.ingestNotes('dev:404', 'data.qo', [{}])).rejects.toMatchObject({ status: 404 });
    await expect(hub.events.ingestNotes('dev:1', 'bad,name.qo', [{}])).rejects.toMatchObject({ status: 400 });
  });

  it('stores a re-sent note once when the card gives upload keys', async () => {
    await hub.devices.provisionDevice(product, 'dev:1');
    const first = await hub.events.ingestNotes('dev:1', 'data.qo', [{ key: 'b1:1', body: { n: 1 } }, { key: 'b1:2', body: { n: 2 } }]);
    expect(first).toHaveLength(2);
    // the link was cut before the acknowledgement: the card sends the batch again, plus a new note
    const again = await hub.events.ingestNotes('dev:1', 'data.qo', [{ key: 'b1:1', body: { n: 1 } }, { key: 'b1:2', body: { n: 2 } }, { key: 'b1:3', body: { n: 3 } }]);
    expect(again.map((e) => e.body)).toEqual([{ n: 3 }]);
    // keys are per device, and notes without keys are never deduplicated
    await hub.devices.provisionDevice(product, 'dev:2');
    expect(await hub.events.ingestNotes('dev:2', 'data.qo', [{ key: 'b1:1' }])).toHaveLength(1);
    expect(await hub.events.ingestNotes('dev:2', 'data.qo', [{}, {}])).toHaveLength(2);
    const page = await hub.store.events({ projectUID: project, limit: 100, deviceUIDs: ['dev:1'] });
    expect(page.json.map((j) => JSON.parse(j).body.n)).toEqual([1, 2, 3]);
  });

  it('keeps the device secret from first contact, out of the device record', async () => {
    await hub.devices.provisionDevice(product, 'dev:1', { secret: 's3cret' });
    await hub.devices.provisionDevice(product, 'dev:1', { secret: 'other' });
    expect(await hub.devices.deviceSecret('dev:1')).toBe('s3cret');
    expect(JSON.stringify(await hub.devices.device('dev:1'))).not.toContain('s3cret');
    expect(await hub.devices.deviceSecret('dev:404')).toBeNull();
  });

  it('tells a listener when a device has something new to receive', async () => {
    await hub.devices.provisionDevice(product, 'dev:1');
    const fleet = await hub.projects.createFleet(project, 'f');
    await hub.store.setDeviceFleets('dev:1', [fleet.uid]);
    const seen: unknown[] = [];
    hub.on('notes', (x: unknown) => seen.push(['notes', x]));
    hub.on('env', (x: unknown) => seen.push(['env', x]));
    expect(await hub.env.envModified('dev:1')).toBe(0);
    await hub.notes.addInbound('dev:1', 'in.qi', { a: 1 }, undefined);
    await hub.notes.dbPut('dev:1', 'cfg.db', 'x', {}, undefined, 'update');
    const before = Date.now() / 1000;
    await hub.env.envPut('fleet', fleet.uid, { k: 'v' });
    expect(await hub.env.envModified('dev:1')).toBeGreaterThanOrEqual(before - 0.001);
    await hub.env.envDelete('fleet', fleet.uid, 'k');
    await hub.env.envDelete('fleet', fleet.uid, 'absent');
    expect(seen).toEqual([
      ['notes', { deviceUID: 'dev:1', file: 'in.qi' }], ['notes', { deviceUID: 'dev:1', file: 'cfg.db' }],
      ['env', { scope: 'fleet', ownerUID: fleet.uid }], ['env', { scope: 'fleet', ownerUID: fleet.uid }],
    ]);
  });

  it('hands pending .qi notes to a device once', async () => {
    const seenAt = (await hub.devices.provisionDevice(product, 'dev:1')).lastActivity;
    await new Promise((r) => setTimeout(r, 5));
    await hub.notes.addInbound('dev:1', 'cmd.qi', { go: 1 }, undefined);
    expect((await hub.devices.device('dev:1')).lastActivity).toBe(seenAt);
    await hub.notes.addInbound('dev:1', 'cmd.qi', { go: 2 }, 'AA==');
    const pending = await hub.deviceSync.pending('dev:1', 'cmd.qi', 0);
    expect(pending.map((n) => n.body)).toEqual([{ go: 1 }, { go: 2 }]);
    expect(pending[1].payload).toBe('AA==');
    await hub.deviceSync.delivered('dev:1', 'cmd.qi', pending[0].change);
    expect((await hub.deviceSync.pending('dev:1', 'cmd.qi', 0)).map((n) => n.body)).toEqual([{ go: 2 }]);
    await expect(hub.notes.addInbound('dev:1', 'data.qo', {}, undefined)).rejects.toMatchObject({ status: 400 });
  });

  it('merges environment variables: card defaults < project < fleet < device', async () => {
    const fleet = await hub.projects.createFleet(project, 'f');
    await hub.devices.provisionDevice(product, 'dev:1');
    await hub.store.setDeviceFleets('dev:1', [fleet.uid]);
    await hub.env.envPut('device_default', 'dev:1', { a: 'default', b: 'default', c: 'default', d: 'default' });
    await hub.env.envPut('project', project, { b: 'project', c: 'project', d: 'project' });
    await hub.env.envPut('fleet', fleet.uid, { c: 'fleet', d: 'fleet' });
    await hub.env.envPut('device', 'dev:1', { d: 'device' });
    expect(await hub.env.effectiveEnv('dev:1')).toEqual({ a: 'default', b: 'project', c: 'fleet', d: 'device' });
    await expect(hub.env.envPut('project', project, { n: 5 })).rejects.toMatchObject({ status: 400 });
  });

  it('stores firmware and records DFU requests', async () => {
    await hub.devices.provisionDevice(product, 'dev:1');
    await hub.firmware.putFirmware(project, 'host', 'app-1.2.bin', new Uint8Array([9, 8, 7]), { version: '1.2' });
    expect(await hub.firmware.dfuStatus(project, 'dev:1', 'host')).toBeNull();
    expect(await hub.firmware.firmware(project, { type: 'host' })).toMatchObject([{ filename: expect.stringMatching(/^app-1\.2\$\d{14}\.bin$/), source: 'app-1.2.bin',
      length: 3, version: '1.2', md5: md5(new Uint8Array([9, 8, 7])), crc32: 0xa62dfd36 }]);
    await hub.firmware.requestDfu(project, 'host', ['dev:1'], 'app-1.2.bin');
    expect(await hub.firmware.dfuStatus(project, 'dev:1', 'host')).toMatchObject({ filename: expect.stringMatching(/^app-1\.2\$\d{14}\.bin$/), status: 'pending' });
    // the request is the device's _fw environment variable, as on Notehub
    expect((await hub.env.envGet('device', 'dev:1'))._fw).toMatch(/^app-1\.2\$\d{14}\.bin$/);
    expect(Array.from(await hub.firmware.firmwareData(project, 'host', 'app-1.2.bin'))).toEqual([9, 8, 7]);
    await expect(hub.firmware.requestDfu(project, 'host', ['dev:1'], 'missing.bin')).rejects.toMatchObject({ status: 404 });
  });

  it('gives a device chunks of the image its update names, and of no other', async () => {
    await hub.devices.provisionDevice(product, 'dev:1');
    const mine = (await hub.firmware.putFirmware(project, 'host', 'mine.bin', new Uint8Array([1, 2, 3]), {})).filename;
    const other = (await hub.firmware.putFirmware(project, 'host', 'other-product.bin', new Uint8Array([7, 7, 7]), {})).filename;
    expect(await hub.firmware.imageChunk('dev:1', 'host', mine, 0, 3)).toBeNull(); // no update asked yet
    await hub.firmware.requestDfu(project, 'host', ['dev:1'], 'mine.bin');
    expect(Array.from((await hub.firmware.imageChunk('dev:1', 'host', mine, 1, 2))!)).toEqual([2, 3]);
    expect(await hub.firmware.imageChunk('dev:1', 'host', other, 0, 3)).toBeNull();
    await hub.firmware.requestDfu(project, 'host', ['dev:1'], null); // canceled
    expect(await hub.firmware.imageChunk('dev:1', 'host', mine, 0, 3)).toBeNull();
  });

  it('makes event UIDs as time-ordered version-7 UUIDs', () => {
    const a = uuid7(1700000000000), b = uuid7(1700000000001);
    expect(a).toMatch(/^018bcfe5-6800-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => uuid7(5))).size).toBe(1000);
  });

  it('hashes passwords with scrypt and tokens never appear in the database', async () => {
    const h = await hashPassword('correct horse');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('wrong horse', h)).toBe(false);
    const { token } = await hub.accounts.createToken('u', { expires: '1h' });
    const p = await hub.accounts.authenticate(token);
    expect(p).toMatchObject({ kind: 'user', username: 'u' });
    await expect(hub.accounts.login('u', 'nope-nope')).rejects.toMatchObject({ status: 401 });
    await expect(hub.accounts.login('nobody', 'nope-nope')).rejects.toMatchObject({ status: 401 });
    const session = await hub.accounts.login('u', 'password-1');
    expect((await hub.accounts.authenticate(session)).kind).toBe('user');
  });
});

describe.each(STORES)('HTTP API features (in-process hub, %s)', (kind) => {
  let h: RunningHub;
  let dir: string;
  let base: string;
  let tok: string;
  beforeAll(async () => {
    dir = tempDir('api');
    h = await startHub({ dataDir: dir, db: await testDatabase(kind), port: 0, ...quiet, delivery: { pollMs: 50, baseDelayMs: 50 } });
    tok = h.bootstrap!.token;
    base = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
    for (let i = 1; i <= 5; i++) await h.hub.devices.provisionDevice(h.bootstrap!.productUID, `dev:${i}`, { sn: `sn${i}` });
  });
  afterAll(async () => {
    await h.close();
    removeDir(dir);
  });

  it('filters devices by repeated tag, fleetUID and deviceUID arguments and pages them', async () => {
    await h.hub.store.updateDevice('dev:1', { tags: ['red', 'big'] });
    await h.hub.store.updateDevice('dev:2', { tags: ['blue'] });
    await h.hub.store.updateDevice('dev:3', { tags: ['red'] });
    const fleet = (await call(`${base}/fleets`, tok, 'POST', { label: 'f' })).body.uid as string;
    await call(`${base}/devices/dev:4/fleets`, tok, 'PUT', { fleet_uids: [fleet] });
    const uids = async (q: string): Promise<unknown> => ((await call(`${base}/devices?${q}`, tok)).body.devices as Data[]).map((d) => d.uid);
    expect(await uids('tag=red')).toEqual(['dev:1', 'dev:3']);
    expect(await uids('tag=red&tag=blue')).toEqual(['dev:1', 'dev:2', 'dev:3']);
    expect(await uids(`fleetUID=${encodeURIComponent(fleet)}`)).toEqual(['dev:4']);
    expect(await uids('deviceUID=dev:5&deviceUID=dev:2')).toEqual(['dev:2', 'dev:5']);
    expect(await uids('tag=red&deviceUID=dev:3')).toEqual(['dev:3']);
    const p = await call(`${base}/devices?pageSize=2&pageNum=3`, tok);
    expect([(p.body.devices as Data[]).map((d) => d.uid), p.body.has_more]).toEqual([['dev:5'], false]);
    expect((await call(`${base}/devices?pageSize=0`, tok)).status).toBe(400);
    expect(((await call(`${base}/fleets/${encodeURIComponent(fleet)}/devices`, tok)).body.devices as Data[]).map((d) => d.uid)).toEqual(['dev:4']);
  });

  it('pages events both ways and walks a cursor to the end', async () => {
    for (let i = 0; i < 7; i++) await h.hub.events.ingestNotes(`dev:${(i % 2) + 1}`, i < 5 ? 'a.qo' : 'b.qo', [{ body: { i } }]);
    const body = async (q: string): Promise<Data> => (await call(`${base}/events?${q}`, tok)).body;
    const is = (b: Data): unknown => (b.events as Data[]).map((e) => (e.body as Data).i);
    expect(is(await body('pageSize=3&pageNum=2'))).toEqual([3, 4, 5]);
    expect(is(await body('sortOrder=desc&pageSize=2'))).toEqual([6, 5]);
    expect(is(await body('files=b.qo'))).toEqual([5, 6]);
    expect(is(await body('files=a.qo,b.qo&deviceUID=dev:2'))).toEqual([1, 3, 5]);
    const seen: unknown[] = [];
    let cursor = '';
    for (let guard = 0; guard < 10; guard++) {
      const r = (await call(`${base}/events-cursor?limit=3${cursor ? `&cursor=${cursor}` : ''}`, tok)).body;
      seen.push(...(r.events as Data[]).map((e) => (e.body as Data).i));
      cursor = r.next_cursor as string;
      if (!r.has_more) break;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // nothing new: the cursor stays put; a new event shows up after it
    const r2 = (await call(`${base}/events-cursor?cursor=${cursor}`, tok)).body;
    expect([r2.events, r2.next_cursor]).toEqual([[], cursor]);
    await h.hub.events.ingestNotes('dev:1', 'a.qo', [{ body: { i: 7 } }]);
    expect(((await call(`${base}/events-cursor?cursor=${cursor}`, tok)).body.events as Data[]).length).toBe(1);
    expect((await call(`${base}/events-cursor?cursor=bm90LWEtbnVtYmVy`, tok)).status).toBe(400);
    // HTTP ingest honours upload keys
    const up = (k: string): Promise<unknown> => call(`${base}/devices/dev:3/events`, tok, 'POST', { file: 'k.qo', notes: [{ key: k, body: { k } }] }).then((r) => (r.body.events as string[]).length);
    expect([await up('x'), await up('x'), await up('y')]).toEqual([1, 0, 1]);
  });

  it('uploads, lists and serves firmware, and runs DFU request, status and cancel', async () => {
    const img = Buffer.from('firmware-image-bytes');
    const put = await call(`${base}/firmware/host/app-2.0.bin?version=2.0&notes=first`, tok, 'PUT', new Uint8Array(img), { 'Content-Type': 'application/octet-stream' });
    expect(put.body).toMatchObject({ filename: expect.stringMatching(/^app-2\.0\$\d{14}\.bin$/), source: 'app-2.0.bin', version: '2.0', MD5: md5(img), length: img.length });
    expect(((await call(`${base}/firmware`, tok)).body as unknown as Data[]).map((f) => f.filename)).toEqual([put.body.filename]);
    const res = await fetch(`${base}/firmware/host/app-2.0.bin`, { headers: { Authorization: `Bearer ${tok}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(img)).toBe(true);

    expect((await call(`${base}/devices/dev:1/dfu/host/status`, tok)).body).toMatchObject({ status: 'idle' });
    const up = await call(`${base}/dfu/host/update?deviceUID=dev:1&deviceUID=dev:2`, tok, 'POST', { filename: 'app-2.0.bin' });
    expect(up.body.devices).toEqual(['dev:1', 'dev:2']);
    expect((await call(`${base}/devices/dev:1/dfu/host/status`, tok)).body).toMatchObject({ filename: put.body.filename, status: 'pending',
      history: [{ status: 'pending', description: 'requested' }] });
    expect((await call(`${base}/devices/dev:1`, tok)).body.dfu).toMatchObject({ user: { type: 'user', file: put.body.filename, mode: 'pending', length: img.length } });
    await call(`${base}/dfu/host/cancel?deviceUID=dev:1`, tok, 'POST', {});
    expect((await call(`${base}/devices/dev:1/dfu/host/status`, tok)).body).toMatchObject({ status: 'canceled' });
    expect((await call(`${base}/devices/dev:1/environment_variables`, tok)).body.environment_variables).not.toHaveProperty('_fw');
    expect((await call(`${base}/devices/dev:2/dfu/host/status`, tok)).body).toMatchObject({ status: 'pending' });
    expect((await call(`${base}/dfu/bogus/update?deviceUID=dev:1`, tok, 'POST', { filename: 'x' })).status).toBe(400);
  });

  it('delivers events to an HTTP route, retrying with backoff until the receiver succeeds', async () => {
    const got: Data[] = [];
    let failFirst = 2;
    const sink: Server = createServer((req: IncomingMessage, res) => {
      let s = '';
      req.on('data', (d: Buffer) => { s += d.toString(); });
      req.on('end', () => {
        if (failFirst-- > 0) { res.writeHead(503); res.end(); return; }
        got.push({ ...JSON.parse(s), auth: req.headers['x-key'] });
        res.writeHead(200); res.end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/in`;
      const route = await call(`${base}/routes`, tok, 'POST', { label: 'mine', type: 'http', http: { url, http_headers: { 'x-key': 'k1' }, filter: { type: 'include', files: ['r.qo'] } } });
      expect(route.body).toMatchObject({ label: 'mine', type: 'http', http: { url } });
      await h.hub.events.ingestNotes('dev:1', 'skip.qo', [{ body: { n: 0 } }]);
      await h.hub.events.ingestNotes('dev:1', 'r.qo', [{ body: { n: 1 } }]);
      for (let i = 0; i < 100 && !got.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ file: 'r.qo', body: { n: 1 }, device: 'dev:1', auth: 'k1' });
      expect(failFirst).toBeLessThan(0);
      // The receiver has the event; the hub records the delivery right after its 200 arrives.
      for (let i = 0; i < 100 && (await h.hub.store.deliveryStats()).pending; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await h.hub.store.deliveryStats()).toEqual({ pending: 0, failed: 0 });
      await call(`${base}/routes/${route.body.uid as string}`, tok, 'DELETE');
      expect((await call(`${base}/routes`, tok)).body).toEqual([]);
    } finally {
      sink.close();
    }
  });
});

describe('persistence', () => {
  it('keeps everything, including undelivered route events, across a restart', async () => {
    const dir = tempDir('persist');
    try {
      const a = await startHub({ dataDir: dir, port: 0, ...quiet, delivery: { pollMs: 60_000, baseDelayMs: 60_000 } });
      const boot = a.bootstrap!;
      // a route to a port nobody listens on: the first attempt fails and is rescheduled
      await a.hub.routes.putRoute(boot.projectUID, { url: 'http://127.0.0.1:9/nothing' });
      await a.hub.devices.provisionDevice(boot.productUID, 'dev:p', { sn: 'keep' });
      await a.hub.events.ingestNotes('dev:p', 'data.qo', [{ body: { keep: true } }]);
      await a.close();

      const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect((db.prepare('SELECT count(*) n FROM deliveries').get() as Data).n).toBe(1);
      db.close();

      const b = await startHub({ dataDir: dir, port: 0, ...quiet });
      try {
        expect(b.bootstrap).toBeUndefined();
        const r = await call(`${b.url}/v1/projects/${boot.projectUID}/events`, boot.token);
        expect((r.body.events as Data[])[0]).toMatchObject({ body: { keep: true }, sn: 'keep' });
        expect((await b.hub.store.deliveryStats()).pending).toBe(1);
      } finally { await b.close(); }
    } finally { removeDir(dir); }
  });

  it('migrates an older database forward and keeps its rows', async () => {
    const dir = tempDir('migrate');
    try {
      const file = join(dir, DATABASE_FILE);
      const old = new Database(file);
      old.exec(MIGRATIONS[0]);
      old.pragma('user_version = 1');
      old.prepare("INSERT INTO events (uid, project_uid, device_uid, sn, file, captured, received, json) VALUES ('e1','app:1','dev:1','','a.qo',1,1,'{}')").run();
      old.close();
      const store = new SqliteStore(file);
      await store.close();
      const db = new Database(file, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect((db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'events_project_device'").all()).length).toBe(1);
      expect((db.prepare('SELECT uid FROM events').all() as Data[]).map((r) => r.uid)).toEqual(['e1']);
      db.close();
    } finally { removeDir(dir); }
  });
});
