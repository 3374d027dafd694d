/**
 * The storage contract (hub/store/types.ts) on both stores, store calls only: the same records
 * come back from SQLite and PostgreSQL. Then what only a shared database has: two PostgreSQL
 * stores on one database (two hub processes) commit the same upload once, claim each route
 * delivery once, and hear each other's hub events.
 */
import type { DeviceRecord, EventRecord, RouteLogQuery, RouteLogRecord, Store } from '../../hub/store/types';
import { ROUTE_LOG_KEEP } from '../../hub/store/rows';
import { PostgresStore } from '../../hub/store/postgres';
import pg from 'pg';
import { STORES, pgServer, testStore } from './stores';
import { waitFor } from '../support/wait';

const P = 'app:p1';
const device = (uid: string, extra: Partial<DeviceRecord> = {}): DeviceRecord => ({
  uid, projectUID: P, productUID: 'prod:1', sn: '', sku: '', tags: [], fleetUIDs: [], provisioned: 1, lastActivity: null,
  disabled: false, lat: null, lon: null, locationWhen: null, voltage: null, temperature: null, ...extra,
});
const event = (uid: string, dev: string, file = 'data.qo', extra: Partial<EventRecord> = {}): EventRecord => ({
  event: uid, device: dev, sn: '', product: 'prod:1', app: P, file, body: { uid }, when: 10, received: 11, ...extra,
});

async function seed(s: Store): Promise<void> {
  const u = await s.createUser('owner', 'hash');
  await s.createProject({ uid: P, label: 'p', created: 1, ownerId: u.id });
  await s.createProduct({ uid: 'prod:1', projectUID: P, label: '', created: 1, disableDevicesByDefault: false, autoProvisionFleets: [] });
}

describe.each(STORES)('storage contract (%s)', (kind) => {
  let s: Store;
  beforeEach(async () => {
    s = await testStore(kind, { now: () => 5_000_000 });
    await seed(s);
  });
  afterEach(() => s.close());

  it('keeps users, tokens, projects, members and clients', async () => {
    const u = await s.userByName('owner');
    expect(u).toMatchObject({ username: 'owner', passwordHash: 'hash', created: 5000 });
    expect(await s.userById(u!.id)).toEqual({ id: u!.id, username: 'owner', created: 5000 });
    expect(await s.countUsers()).toBe(1);
    expect(await s.isMember(P, u!.id)).toBe(true);
    expect((await s.projectsOfUser(u!.id)).map((p) => p.uid)).toEqual([P]);
    await s.createToken('h1', { id: 't1', kind: 'pat', userId: u!.id, clientId: null, name: 'n', created: 2, expires: null, revoked: false });
    expect(await s.tokenByHash('h1')).toEqual({ id: 't1', kind: 'pat', userId: u!.id, clientId: null, name: 'n', created: 2, expires: null, revoked: false });
    expect(await s.revokeToken('t1')).toBe(true);
    expect(await s.revokeToken('nope')).toBe(false);
    expect((await s.tokenByHash('h1'))!.revoked).toBe(true);
    await s.createClient({ clientId: 'c1', projectUID: P, created: 3, revoked: false }, 'sh');
    expect(await s.clientById('c1')).toEqual({ clientId: 'c1', projectUID: P, created: 3, revoked: false, secretHash: 'sh' });
    // (not toThrow: better-sqlite3's errors may come from another test file's realm in the same worker)
    await expect(s.createUser('owner', 'again')).rejects.toHaveProperty('message');
  });

  it('filters devices by tag, fleet and serial number, pages them, and drops a deleted fleet everywhere', async () => {
    await s.createFleet({ uid: 'fleet:a', projectUID: P, label: 'a', created: 1 });
    await s.createProduct({ uid: 'prod:2', projectUID: P, label: '', created: 2, disableDevicesByDefault: true, autoProvisionFleets: ['fleet:a'] });
    for (let i = 1; i <= 4; i++) await s.createDevice(device(`dev:${i}`, { sn: `sn${i}`, tags: i % 2 ? ['odd'] : ['even'], provisioned: i, fleetUIDs: i < 3 ? ['fleet:a', 'fleet:gone'] : [] }));
    const uids = (r: { devices: DeviceRecord[] }): string[] => r.devices.map((d) => d.uid);
    expect(uids(await s.devices(P, { tags: ['odd'] }, 10, 0))).toEqual(['dev:1', 'dev:3']);
    expect(uids(await s.devices(P, { fleetUIDs: ['fleet:a'], tags: ['even', 'x'] }, 10, 0))).toEqual(['dev:2']);
    expect(uids(await s.devices(P, { serialNumbers: ['sn4', 'sn1'] }, 10, 0))).toEqual(['dev:1', 'dev:4']);
    expect(await s.devices(P, {}, 2, 1)).toMatchObject({ hasMore: true, devices: [{ uid: 'dev:2' }, { uid: 'dev:3' }] });
    expect((await s.device('dev:1'))!.fleetUIDs).toEqual(['fleet:a']);
    await s.updateDevice('dev:1', { disabled: true, lat: 1.5, tags: ['x'] });
    expect(await s.device('dev:1')).toMatchObject({ disabled: true, lat: 1.5, tags: ['x'], lon: null });
    await s.deleteFleet('fleet:a');
    expect((await s.device('dev:1'))!.fleetUIDs).toEqual([]);
    expect((await s.product('prod:2'))!.autoProvisionFleets).toEqual([]);
  });

  it('admits a device once, remembers deletions per project, and moves devices between projects', async () => {
    expect(await s.admitDevice(device('dev:a'), 'sec', false)).toBe('created');
    expect(await s.admitDevice(device('dev:a'), 'other', false)).toBe('taken');
    expect(await s.deviceSecret('dev:a')).toBe('sec');
    await s.createDevice(device('dev:b'));
    expect(await s.admitDevice(device('dev:b', { productUID: 'prod:9' }), 's2', false)).toBe('claimed');
    expect((await s.device('dev:b'))!.productUID).toBe('prod:9');
    await s.deleteDevice('dev:a');
    expect(await s.device('dev:a')).toBeNull();
    expect(await s.isDeletedDevice('dev:a', P)).toBe(true);
    expect(await s.isDeletedDevice('dev:a', 'app:other')).toBe(false);
    expect(await s.admitDevice(device('dev:a'), 'sec', true)).toBe('deleted');
    await s.createProject({ uid: 'app:p2', label: 'q', created: 2, ownerId: (await s.userByName('owner'))!.id });
    await s.createDevice({ ...device('dev:c'), projectUID: 'app:p2' });
    expect(await s.admitDevice(device('dev:c'), 'x', false)).toBe('foreign');
    expect(await s.admitDevice(device('dev:c'), 'x', true)).toBe('created');
    expect((await s.device('dev:c'))!.projectUID).toBe(P);
    await s.moveDevice('dev:c', 'app:p2', 'prod:1');
    expect((await s.device('dev:c'))!.projectUID).toBe('app:p2');
  });

  it('numbers note changes per device, tracks readers, and resets on a new card epoch', async () => {
    await s.createDevice(device('dev:1'));
    const [a, b] = await s.addNotes('dev:1', 'cfg.db', [{ id: 'a', body: { v: 1 } }, { id: 'b', payload: 'AA==', time: 7 }], 'device');
    expect([a.change, b.change]).toEqual([1, 2]);
    await s.addNotes('dev:1', 'cfg.db', [{ id: 'a', deleted: true }], 'hub');
    await s.addNotes('dev:1', 'in.qi', [{ id: 'q', body: { go: 1 } }], 'hub');
    expect(await s.note('dev:1', 'cfg.db', 'a')).toMatchObject({ deleted: true, body: null, change: 3, origin: 'hub', time: 5000 });
    expect((await s.notes('dev:1', 'cfg.db', false)).map((n) => n.id)).toEqual(['b']);
    expect((await s.changesSince('dev:1', 1, { origin: 'hub' })).map((n) => n.change)).toEqual([3, 4]);
    expect((await s.changesSince('dev:1', 0, { file: 'cfg.db', limit: 1 })).map((n) => n.id)).toEqual(['b']);
    expect(await s.notefiles('dev:1')).toEqual([{ file: 'cfg.db', total: 1, change: 3 }, { file: 'in.qi', total: 1, change: 4 }]);
    expect((await s.pendingInbound('dev:1')).map((n) => n.id)).toEqual(['q']);
    await s.markDelivered('dev:1', [{ file: 'in.qi', id: 'q' }]);
    expect(await s.pendingInbound('dev:1')).toEqual([]);
    expect(await s.tracker('dev:1', 'cfg.db', 'r')).toBeNull();
    await s.setTracker('dev:1', 'cfg.db', 'r', 2);
    await s.setTracker('dev:1', 'cfg.db', 'r', 3);
    expect(await s.tracker('dev:1', 'cfg.db', 'r')).toBe(3);
    await s.setTracker('dev:1', 'cfg.db', 'r', null);
    expect(await s.tracker('dev:1', 'cfg.db', 'r')).toBeNull();
    // a card whose store was reset: upUntil forgotten, its own .db notes offered again as the hub's
    await s.commitUpload({ projectUID: P, deviceUID: 'dev:1', file: 'cfg.db', upUntil: 9, events: [], notes: [] });
    await s.setCardEpoch('dev:1', 'ee', true);
    expect(await s.syncDevice('dev:1')).toEqual({ hubEpoch: null, cardEpoch: 'ee', upUntil: { 'cfg.db': 0 } });
    expect(await s.note('dev:1', 'cfg.db', 'b')).toMatchObject({ origin: 'hub', change: 5 });
    await s.deleteNotefiles('dev:1', ['cfg.db']);
    expect(await s.notefiles('dev:1')).toEqual([]);
  });

  it('keeps templates by their 32-bit version and sync sessions with their feature bits', async () => {
    await s.createDevice(device('dev:1'));
    await s.putTemplate('dev:1', 't.qo', 4030486342, '{"a":14.1}');
    expect(await s.template('dev:1', 't.qo', 4030486342)).toBe('{"a":14.1}');
    expect(await s.template('dev:1', 't.qo', 1)).toBeNull();
    const rec = { uid: 'ses1', deviceUID: 'dev:1', started: 1.5, ended: null, remote: '127.0.0.1', tls: false, features: 0xffffffff, notesUp: 0, notesDown: 0, reason: null };
    await s.putSyncSession(rec);
    await s.putSyncSession({ ...rec, ended: 2.5, notesUp: 3, reason: 'closed' });
    expect(await s.syncSessions('dev:1', 5)).toEqual([{ ...rec, ended: 2.5, notesUp: 3, reason: 'closed' }]);
    await s.putSyncSession({ ...rec, uid: 'ses2', started: 3 });
    await s.putSyncSession({ ...rec, uid: 'ses3', started: 4 });
    expect((await s.syncSessions('dev:1', 2, 1)).map((x) => x.uid)).toEqual(['ses2', 'ses1']); // newest first, paged
  });

  it('keeps one session ticket per device, replaced by the next and gone with the device', async () => {
    await s.createDevice(device('dev:1'));
    expect(await s.syncTicket('dev:1')).toBeNull();
    await s.putSyncTicket('dev:1', { ticket: 'aa'.repeat(16), secret: 'bb'.repeat(32), issued: 1.5 });
    await s.putSyncTicket('dev:1', { ticket: 'cc'.repeat(16), secret: 'dd'.repeat(32), issued: 2.5 });
    expect(await s.syncTicket('dev:1')).toEqual({ ticket: 'cc'.repeat(16), secret: 'dd'.repeat(32), issued: 2.5 });
    await s.deleteDevice('dev:1');
    expect(await s.syncTicket('dev:1')).toBeNull();
  });

  it('commits an upload once: events by upload key, upUntil only raised, activity touched', async () => {
    await s.createDevice(device('dev:1'));
    const commit = (upUntil: number, keys: string[]): Promise<EventRecord[]> => s.commitUpload({
      projectUID: P, deviceUID: 'dev:1', file: 'data.qo', upUntil, touch: { lastActivity: 77 },
      events: keys.map((k) => event(`ev-${upUntil}-${k}`, 'dev:1')), dedup: keys, notes: [],
    });
    expect((await commit(5, ['k1', 'k2'])).map((e) => e.event)).toEqual(['ev-5-k1', 'ev-5-k2']);
    expect((await commit(4, ['k2', 'k3'])).map((e) => e.event)).toEqual(['ev-4-k3']);
    expect((await s.syncDevice('dev:1')).upUntil).toEqual({ 'data.qo': 5 });
    expect((await s.device('dev:1'))!.lastActivity).toBe(77);
    const page = await s.events({ projectUID: P, limit: 10 });
    expect(page.json.map((j) => (JSON.parse(j) as EventRecord).event)).toEqual(['ev-5-k1', 'ev-5-k2', 'ev-4-k3']);
  });

  it('pages and filters events', async () => {
    await s.createDevice(device('dev:1'));
    await s.insertEvents(P, [event('e1', 'dev:1', 'a.qo', { when: 1 }), event('e2', 'dev:2', 'b.qo', { when: 2, session: 's' }), event('e3', 'dev:1', 'b.qo', { when: 3 })]);
    const ids = (p: { json: string[] }): string[] => p.json.map((j) => (JSON.parse(j) as EventRecord).event);
    const all = await s.events({ projectUID: P, limit: 2 });
    expect([ids(all), all.hasMore]).toEqual([['e1', 'e2'], true]);
    expect(ids(await s.events({ projectUID: P, limit: 5, afterSeq: all.seqs[1] }))).toEqual(['e3']);
    expect(ids(await s.events({ projectUID: P, limit: 5, descending: true, offset: 1 }))).toEqual(['e2', 'e1']);
    expect(ids(await s.events({ projectUID: P, limit: 5, files: ['b.qo'], deviceUIDs: ['dev:1'] }))).toEqual(['e3']);
    expect(ids(await s.events({ projectUID: P, limit: 5, startDate: 2, endDate: 2 }))).toEqual(['e2']);
    expect(ids(await s.events({ projectUID: P, limit: 5, sessionUIDs: ['s'] }))).toEqual(['e2']);
    expect(ids(await s.events({ projectUID: 'app:none', limit: 5 }))).toEqual([]);
  });

  it('keeps environment variables with their modification time, firmware and DFU requests', async () => {
    expect(await s.envModified('project', P)).toBeNull();
    await s.envPut('project', P, { b: '2', a: '1' }, false);
    await s.envPut('project', P, { c: '3' }, false);
    expect(await s.envGet('project', P)).toEqual({ a: '1', b: '2', c: '3' });
    await s.envPut('project', P, { z: '9' }, true);
    expect(await s.envGet('project', P)).toEqual({ z: '9' });
    expect(await s.envDelete('project', P, 'z')).toBe(true);
    expect(await s.envDelete('project', P, 'z')).toBe(false);
    expect(await s.envModified('project', P)).toBe(5000);
    const fw = { projectUID: P, type: 'host' as const, filename: 'a.bin', version: '1', notes: '', md5: 'm', length: 3, created: 1, source: 'a.bin', crc32: 0x55bc801d, modified: 1 };
    await s.putFirmware(fw, new Uint8Array([1, 2, 3]));
    await s.putFirmware({ ...fw, version: '2' }, new Uint8Array([0, 255, 3]));
    expect(await s.firmware(P, { type: 'host' })).toEqual([{ ...fw, version: '2' }]);
    expect(await s.firmware(P, { version: '1' })).toEqual([]);
    expect(Array.from((await s.firmwareData(P, 'host', 'a.bin'))!)).toEqual([0, 255, 3]);
    // a download reads chunks by offset (never the whole image per connection)
    expect(Array.from((await s.firmwareChunk(P, 'host', 'a.bin', 1, 1))!)).toEqual([255]);
    expect(Array.from((await s.firmwareChunk(P, 'host', 'a.bin', 1, 10))!)).toEqual([255, 3]);
    expect(Array.from((await s.firmwareChunk(P, 'host', 'a.bin', 3, 10))!)).toEqual([]);
    expect(Array.from((await s.firmwareChunk(P, 'host', 'a.bin', 9, 10))!)).toEqual([]);
    expect(await s.firmwareChunk(P, 'host', 'none.bin', 0, 10)).toBeNull();
    const dfu = { deviceUID: 'dev:1', projectUID: P, type: 'host' as const, filename: 'a.bin', status: 'pending' as const, text: 'requested', requested: 1, updated: 1 };
    await s.putDfu(dfu);
    await s.putDfu({ ...dfu, status: 'canceled', updated: 2 });
    expect(await s.dfu('dev:1', 'host')).toEqual({ ...dfu, status: 'canceled', updated: 2 });
    const progress = { ...dfu, status: 'downloading' as const, updated: 3, read: 2, length: 3, version: '1.2', history: [{ when: 3, status: 'downloading', text: '66%' }] };
    await s.putDfu(progress);
    expect(await s.dfu('dev:1', 'host')).toEqual(progress);
  });

  it('queues events for matching routes and settles deliveries', async () => {
    await s.putRoute({ uid: 'r1', projectUID: P, label: '', type: 'http', url: 'http://x', headers: { h: 'v' }, files: ['a.qo'], disabled: false, created: 1, modified: 1 });
    await s.insertEvents(P, [event('e1', 'dev:1', 'a.qo'), event('e2', 'dev:1', 'b.qo')]);
    expect(await s.dueRoutes(5000)).toEqual([{ routeUID: 'r1', projectUID: P }]);
    const [d] = await s.dueDeliveries(5000, 10, 'r1');
    expect(d).toMatchObject({ routeUID: 'r1', eventUID: 'e1', url: 'http://x', headers: { h: 'v' }, attempts: 0 });
    await s.deliveryRetry(d.id, 6000, 'HTTP 500', false);
    expect(await s.dueDeliveries(5999, 10)).toEqual([]);
    expect(await s.dueDeliveries(6000, 10)).toMatchObject([{ id: d.id, attempts: 1 }]);
    await s.deliveryDone(d.id);
    expect(await s.deliveryStats()).toEqual({ pending: 0, failed: 0 });
  });

  it('logs route delivery attempts: filtered, sorted, paged, the newest ROUTE_LOG_KEEP per route, gone with the route', async () => {
    await s.putRoute({ uid: 'r1', projectUID: P, label: '', type: 'http', url: 'http://x', headers: {}, files: [], disabled: false, created: 1, modified: 1 });
    const log = (i: number, extra: Partial<RouteLogRecord> = {}): RouteLogRecord => ({
      projectUID: P, routeUID: 'r1', eventUID: `e${i}`, deviceUID: i % 2 ? 'dev:1' : 'dev:2', file: i === 3 ? '_health.qo' : 'data.qo',
      captured: 100 - i, when: 200 + i, attempt: 1, status: 200, error: null, text: 'thanks', url: 'http://x', dead: false, ...extra,
    });
    for (let i = 1; i <= 4; i++) await s.addRouteLog(log(i));
    await s.addRouteLog(log(5, { routeUID: 'r2', status: null, error: 'connect ECONNREFUSED', text: '', dead: true }));
    const q = (o: Partial<RouteLogQuery> = {}): Promise<string[]> =>
      s.routeLogs({ projectUID: P, routeUID: 'r1', sortBy: 'captured', descending: false, limit: 10, offset: 0, ...o }).then((ls) => ls.map((l) => l.eventUID));
    expect(await q()).toEqual(['e4', 'e3', 'e2', 'e1']); // by capture time
    expect(await q({ sortBy: 'date' })).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(await q({ sortBy: 'date', descending: true, limit: 2, offset: 1 })).toEqual(['e3', 'e2']);
    expect(await q({ deviceUIDs: ['dev:1'] })).toEqual(['e3', 'e1']);
    expect(await q({ files: ['_health.qo', 'x.qo'] })).toEqual(['e3']);
    expect(await q({ systemFilesOnly: true })).toEqual(['e3']);
    expect(await q({ startDate: 97, endDate: 98 })).toEqual(['e3', 'e2']);
    expect(await s.routeLogs({ projectUID: P, eventUID: 'e5', sortBy: 'date', descending: false, limit: 10, offset: 0 }))
      .toEqual([log(5, { routeUID: 'r2', status: null, error: 'connect ECONNREFUSED', text: '', dead: true })]);
    expect(await q({ projectUID: 'app:other' })).toEqual([]);
    for (let i = 6; i < ROUTE_LOG_KEEP + 6; i++) await s.addRouteLog(log(i));
    const kept = await s.routeLogs({ projectUID: P, routeUID: 'r1', sortBy: 'date', descending: false, limit: ROUTE_LOG_KEEP + 10, offset: 0 });
    expect(kept).toHaveLength(ROUTE_LOG_KEEP);
    expect(kept[0].eventUID).toBe('e6'); // e1-e4 fell out
    await s.deleteRoute('r1');
    expect(await q()).toEqual([]);
  }, 30_000);

  it('answers a project\'s members and a device\'s newest event of each notefile', async () => {
    expect(await s.members(P)).toEqual([{ username: 'owner', role: 'owner' }]);
    await s.insertEvents(P, [event('e1', 'dev:1', 'b.qo'), event('e2', 'dev:1', 'a.qo'), event('e3', 'dev:1', 'b.qo'), event('e4', 'dev:2', 'a.qo')]);
    expect((await s.latestEvents(P, 'dev:1')).map((j) => (JSON.parse(j) as EventRecord).event)).toEqual(['e2', 'e3']);
    expect(await s.latestEvents('app:other', 'dev:1')).toEqual([]);
  });

  it('keeps publishers and published notes (the NoteHub publishing API)', async () => {
    await s.putPublisher({ pid: 'p1', psk: 'k', description: 'd', created: 1, revoked: false });
    await s.putPublisher({ pid: 'p1', psk: 'k2', description: 'd', created: 1, revoked: true });
    expect(await s.publisher('p1')).toEqual({ pid: 'p1', psk: 'k2', description: 'd', created: 1, revoked: true });
    const n = { noteID: '2026/12/1/hello', shortID: 'abcde', pid: 'p1', note: '# Hello', title: 'Hello', password: '', theme: '', published: 5, edited: null, views: 0 };
    expect(await s.createPublishedNote(n)).toBe(true);
    expect(await s.createPublishedNote({ ...n, noteID: '2026/12/1/other' })).toBe(false); // the short id is taken
    await s.updatePublishedNote(n.noteID, '# Hi', 'Hi', 6);
    await s.countNoteView(n.noteID);
    expect(await s.publishedNote('abcde')).toEqual({ ...n, note: '# Hi', title: 'Hi', edited: 6, views: 1 });
    expect(await s.publishedNote('nope')).toBeNull();
  });

  it('keeps proxy routes, which never receive events', async () => {
    const proxy = { uid: 'r2', projectUID: P, label: 'w', type: 'proxy' as const, url: 'https://api.example', headers: {}, files: [], disabled: false,
      created: 1, modified: 1, proxy: { alias: 'weather', timeout: 30, fleets: ['fleet:1'] } };
    await s.putRoute(proxy);
    expect(await s.route('r2')).toEqual(proxy);
    await s.insertEvents(P, [event('e3', 'dev:1', 'a.qo')]);
    expect(await s.dueRoutes(5000)).toEqual([]);
  });
});

describe('two hub processes on one PostgreSQL database', () => {
  let a: PostgresStore;
  let b: PostgresStore;
  let url: string;
  beforeEach(async () => {
    url = await (await pgServer()).createDatabase();
    [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]); // both migrate at once
    await seed(a);
    await a.createDevice(device('dev:1'));
  });
  afterEach(async () => { await a.close(); await b.close(); });

  it('commits the same upload once when both commit it at the same time', async () => {
    const up = (s: Store, n: number): Promise<EventRecord[]> => s.commitUpload({
      projectUID: P, deviceUID: 'dev:1', file: 'data.qo', upUntil: n, dedup: ['k1', 'k2'], notes: [],
      events: [event(`x${n}-1`, 'dev:1'), event(`x${n}-2`, 'dev:1')],
    });
    const got = await Promise.all([up(a, 1), up(b, 2), up(a, 3), up(b, 4)]);
    expect(got.flat()).toHaveLength(2);
    expect((await b.events({ projectUID: P, limit: 10 })).json).toHaveLength(2);
    expect((await a.syncDevice('dev:1')).upUntil).toEqual({ 'data.qo': 4 });
  });

  it('numbers the changes of one device without gaps or repeats when both write', async () => {
    await Promise.all([...Array(20).keys()].map((i) => (i % 2 ? a : b).addNotes('dev:1', 'x.db', [{ id: `n${i}` }], 'hub')));
    expect((await a.changesSince('dev:1', 0, {})).map((n) => n.change)).toEqual([...Array(20).keys()].map((i) => i + 1));
  });

  it('claims each due delivery for one of them', async () => {
    await a.putRoute({ uid: 'r1', projectUID: P, label: '', type: 'http', url: 'http://x', headers: {}, files: [], disabled: false, created: 1, modified: 1 });
    await a.insertEvents(P, [...Array(30).keys()].map((i) => event(`e${i}`, 'dev:1')));
    const now = Date.now() / 1000 + 1;
    const claims = await Promise.all([...Array(10).keys()].map((i) => (i % 2 ? a : b).dueDeliveries(now, 4, 'r1')));
    const ids = claims.flat().map((d) => d.eventUID);
    expect(ids.length).toBe(30);
    expect(new Set(ids).size).toBe(30);
    // claimed, so not due again until settled (or the claim lapses)
    expect(await a.dueDeliveries(now, 10)).toEqual([]);
    expect(await a.dueDeliveries(now + 301, 1)).toHaveLength(1);
  });

  it('hears the other one\'s hub events, never its own', async () => {
    const heardA: unknown[] = [];
    const heardB: unknown[] = [];
    a.bus.subscribe((e, p) => heardA.push([e, p]));
    b.bus.subscribe((e, p) => heardB.push([e, p]));
    a.bus.publish('notes', { deviceUID: 'dev:1', file: 'in.qi' });
    await new Promise<void>((r) => { const t = setInterval(() => { if (heardB.length) { clearInterval(t); r(); } }, 5); });
    expect(heardB).toEqual([['notes', { deviceUID: 'dev:1', file: 'in.qi' }]]);
    b.bus.publish('env', { scope: 'project', ownerUID: P });
    await new Promise<void>((r) => { const t = setInterval(() => { if (heardA.length) { clearInterval(t); r(); } }, 5); });
    expect(heardA).toEqual([['env', { scope: 'project', ownerUID: P }]]);
    expect(heardB).toHaveLength(1);
  });

  it('reads on when another process adds a column under a prepared SELECT * (a newer schema)', async () => {
    await a.createClient({ clientId: 'c1', projectUID: P, created: 3, revoked: false }, 'sh');
    for (let i = 0; i < 3; i++) expect((await a.clientById('c1'))?.clientId).toBe('c1'); // prepared on a's connections
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try { await admin.query('ALTER TABLE clients ADD COLUMN later text'); } finally { await admin.end(); }
    for (let i = 0; i < 3; i++) expect((await a.clientById('c1'))?.clientId).toBe('c1');
  });

  describe('tokens, kept by each process between requests', () => {
    const token = { id: 'tok1', kind: 'pat' as const, userId: null, clientId: null, name: 't', created: 1, expires: null, revoked: false };
    const revoked = async (s: PostgresStore): Promise<boolean> => (await s.tokenByHash('h1'))!.revoked;

    it('a token one revokes is refused by the other within a second', async () => {
      await a.createToken('h1', token);
      expect(await revoked(b)).toBe(false); // b keeps it now
      await a.revokeToken('tok1');
      expect(await revoked(a)).toBe(true);
      await waitFor('b to hear of the revocation', async () => ((await revoked(b)) ? true : undefined), 1000);
    });

    it('forgets them when its LISTEN connection is lost (a revocation may go unheard)', async () => {
      await a.createToken('h1', token);
      expect(await revoked(b)).toBe(false);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`);
        await admin.query(`UPDATE tokens SET revoked = true WHERE id = 'tok1'`); // no notice sent
        // both listening again (they reconnect after a second)
        await waitFor('the listeners to reconnect', async () => ((await admin.query(`SELECT 1 FROM pg_stat_activity
          WHERE query LIKE 'LISTEN%' AND datname = current_database()`)).rowCount === 2 ? true : undefined), 5000);
      } finally { await admin.end(); }
      expect(await revoked(b)).toBe(true);
    });
  });

  it('gives a cursor reader every event once, in order, when a lower sequence number commits after a higher one', async () => {
    // writer 1 takes the lower sequence number and holds its transaction open
    const late = new pg.Client({ connectionString: url });
    await late.connect();
    try {
      await late.query('BEGIN');
      await late.query(`INSERT INTO events (uid, project_uid, device_uid, sn, file, captured, received, json)
        VALUES ('late', $1, 'dev:1', '', 'data.qo', 10, 11, '{"event":"late"}')`, [P]);
      // writer 2 (the other process) takes the next number and commits first
      await b.insertEvents(P, [event('early', 'dev:1')]);
      // a reader walks the cursor in between, then again after writer 1 commits
      const seen: string[] = [];
      let after = 0;
      const read = async (): Promise<void> => {
        const page = await a.events({ projectUID: P, limit: 10, afterSeq: after });
        seen.push(...page.json.map((j) => (JSON.parse(j) as { event: string }).event));
        after = page.seqs.at(-1) ?? after;
      };
      await read();
      await late.query('COMMIT');
      await read();
      await read();
      expect(seen).toEqual(['late', 'early']);
    } finally { await late.end(); }
  });
});
