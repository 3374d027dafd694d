/**
 * The official Notehub client, @blues-inc/notehub-js, unmodified, against a hub child process.
 * Plus the CLI: users, tokens, projects, products and OAuth clients made from the command line.
 */
import { execFile } from 'child_process';
import { createServer } from 'http';
import type { AddressInfo } from 'net';
import { waitFor } from '../support/wait';
import { call, cli, CLI, removeDir, spawnHub, tempDir, type Spawned } from './helpers';
import { existsSync } from 'fs';
import { join } from 'path';
import { DATABASE_FILE, DB_ENV } from '../../hub/server';
import { startPostgres, type PgServer } from '../support/postgres';

/* eslint-disable @typescript-eslint/no-require-imports */
type Data = Record<string, unknown>;
type Api = Record<string, (...args: unknown[]) => Promise<Data>>;
interface NotehubJsModule {
  ApiClient: new (base: string) => { authentications: { api_key: { apiKey?: string } } };
  AuthorizationApi: new (c: unknown) => Api;
  ProjectApi: new (c: unknown) => Api;
  DeviceApi: new (c: unknown) => Api;
  EventApi: new (c: unknown) => Api;
  RouteApi: new (c: unknown) => Api;
}
const NotehubJs = require('@blues-inc/notehub-js') as NotehubJsModule;

let hub: Spawned;
let dir: string;
/** notehubjs-postgres.test.ts runs this file again with the hub and the CLI on PostgreSQL (OPENCARD_HUB_DB) */
const POSTGRES = /notehubjs-postgres\.test\.js$/.test(expect.getState().testPath ?? '');
let pg: PgServer | undefined;

beforeAll(async () => {
  dir = tempDir('njs');
  if (POSTGRES) {
    pg = await startPostgres();
    process.env[DB_ENV] = await pg.createDatabase(); // the hub and every CLI command inherit it
  }
  hub = await spawnHub(dir);
  expect(existsSync(join(dir, DATABASE_FILE))).toBe(!POSTGRES); // on PostgreSQL, no SQLite file is made
});
afterAll(async () => {
  await hub?.stop();
  delete process.env[DB_ENV];
  await pg?.stop();
  removeDir(dir);
});

describe('@blues-inc/notehub-js against a spawned hub', () => {
  let client: InstanceType<NotehubJsModule['ApiClient']>;
  let projects: Api, devices: Api, events: Api;
  const DEV = 'dev:864475044203262';

  beforeAll(async () => {
    client = new NotehubJs.ApiClient(hub.url);
    const auth = new NotehubJs.AuthorizationApi(client);
    const login = await auth.login({ username: 'admin', password: hub.password });
    expect(typeof login.session_token).toBe('string');
    client.authentications.api_key.apiKey = login.session_token as string;
    projects = new NotehubJs.ProjectApi(client);
    devices = new NotehubJs.DeviceApi(client);
    events = new NotehubJs.EventApi(client);
  });

  it('refuses a wrong password', async () => {
    const auth = new NotehubJs.AuthorizationApi(new NotehubJs.ApiClient(hub.url));
    await expect(auth.login({ username: 'admin', password: 'wrong-password' })).rejects.toMatchObject({ status: 401 });
  });

  it('lists projects and the project by product', async () => {
    const got = await projects.getProjects();
    const list = got.projects as Data[];
    expect(list.map((p) => p.uid)).toEqual([hub.projectUID]);
    expect(list[0].label).toBe('Default project');
    expect(Date.parse(String(list[0].created))).toBeGreaterThan(Date.parse('2020-01-01'));
    expect((await projects.getProjectByProduct(hub.productUID)).uid).toBe(hub.projectUID);
    const prods = (await projects.getProjectProducts(hub.projectUID)).products as Data[];
    expect(prods.map((p) => p.uid)).toEqual([hub.productUID]);
  });

  it('provisions and lists devices, paged', async () => {
    await devices.postProvisionProjectDevice(hub.projectUID, DEV, { product_uid: hub.productUID, device_sn: 'kitchen' });
    await devices.postProvisionProjectDevice(hub.projectUID, 'dev:2', { product_uid: hub.productUID, device_sn: 'garage' });
    const page1 = await devices.getProjectDevices(hub.projectUID, { pageSize: 1, pageNum: 1 });
    expect((page1.devices as Data[]).map((d) => d.uid)).toEqual([DEV]);
    expect(page1.has_more).toBe(true);
    const page2 = await devices.getProjectDevices(hub.projectUID, { pageSize: 1, pageNum: 2 });
    expect((page2.devices as Data[])[0]).toMatchObject({ uid: 'dev:2', serial_number: 'garage', product_uid: hub.productUID });
    expect(page2.has_more).toBe(false);
    const one = await devices.getDevice(hub.projectUID, DEV);
    expect(one.serial_number).toBe('kitchen');
    expect(Date.parse(String(one.provisioned))).toBeGreaterThan(Date.parse('2020-01-01'));
  });

  it('reads events, page-based and by cursor, filtered by device and file', async () => {
    // a device uploads notes (the ingest path the sync listener uses, over HTTP)
    const up = await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/events`, hub.token, 'POST',
      { file: 'sensors.qo', notes: [{ body: { temp: 21.5 }, when: 1700000000 }, { body: { temp: 22 } }, { body: { temp: 23 } }] });
    expect(up.status).toBe(200);
    await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/dev:2/events`, hub.token, 'POST', { file: 'other.qo', body: { x: 1 } });

    const all = await events.getProjectEvents(hub.projectUID, { pageSize: 10 });
    expect((all.events as Data[]).length).toBe(4);
    const mine = await events.getProjectEvents(hub.projectUID, { deviceUID: [DEV], files: 'sensors.qo', pageSize: 2 });
    const evs = mine.events as Data[];
    expect(evs.map((e) => (e.body as Data).temp)).toEqual([21.5, 22]);
    expect(mine.has_more).toBe(true);
    expect(evs[0]).toMatchObject({ device: DEV, sn: 'kitchen', product: hub.productUID, file: 'sensors.qo', when: 1700000000 });
    expect(typeof evs[0].event).toBe('string');
    expect(typeof evs[0].received).toBe('number');

    const c1 = await events.getProjectEventsByCursor(hub.projectUID, { limit: 3 });
    expect((c1.events as Data[]).length).toBe(3);
    expect(c1.has_more).toBe(true);
    const c2 = await events.getProjectEventsByCursor(hub.projectUID, { limit: 3, cursor: c1.next_cursor });
    expect((c2.events as Data[]).map((e) => e.file)).toEqual(['other.qo']);
    expect(c2.has_more).toBe(false);
  });

  it('adds a .qi note and creates, updates, reads and deletes a .db note', async () => {
    await devices.handleNoteAdd(hub.projectUID, DEV, 'commands.qi', { body: { led: 'on' } });
    const inbound = await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/notes/commands.qi`, hub.token);
    expect(Object.values(inbound.body.notes as Data).map((n) => (n as Data).body)).toEqual([{ led: 'on' }]);

    await devices.handleNoteCreateAdd(hub.projectUID, DEV, 'config.db', 'settings', { body: { rate: 5 } });
    await expect(devices.handleNoteCreateAdd(hub.projectUID, DEV, 'config.db', 'settings', { body: { rate: 6 } })).rejects.toMatchObject({ status: 409 });
    expect((await devices.handleNoteGet(hub.projectUID, DEV, 'config.db', 'settings')).body).toEqual({ rate: 5 });
    await devices.handleNoteUpdate(hub.projectUID, DEV, 'config.db', 'settings', { body: { rate: 7 } });
    expect((await devices.handleNoteGet(hub.projectUID, DEV, 'config.db', 'settings')).body).toEqual({ rate: 7 });
    await devices.handleNoteDelete(hub.projectUID, DEV, 'config.db', 'settings');
    await expect(devices.handleNoteGet(hub.projectUID, DEV, 'config.db', 'settings')).rejects.toMatchObject({ status: 404 });
    await expect(devices.handleNoteAdd(hub.projectUID, DEV, 'config.db', { body: {} })).rejects.toMatchObject({ status: 400 });
  });

  it('reads a notefile incrementally with a change tracker', async () => {
    for (const id of ['a', 'b', 'c']) await devices.handleNoteUpdate(hub.projectUID, DEV, 'track.db', id, { body: { id } });
    const r1 = await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', { tracker: 't1', max: 2 });
    expect([r1.changes, r1.total, Object.keys(r1.notes as Data)]).toEqual([3, 3, ['a', 'b']]);
    const r2 = await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', { tracker: 't1' });
    expect([r2.changes, Object.keys(r2.notes as Data)]).toEqual([1, ['c']]);
    await devices.handleNoteDelete(hub.projectUID, DEV, 'track.db', 'a');
    const r3 = await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', { tracker: 't1', deleted: true });
    expect([r3.total, r3.notes]).toEqual([2, { a: expect.objectContaining({ deleted: true }) }]);
    const r4 = await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', { tracker: 't1' });
    expect([r4.changes, r4.notes]).toEqual([0, {}]);
    // no tracker: everything live, nothing advanced; start rewinds
    expect(Object.keys((await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', {})).notes as Data)).toEqual(['b', 'c']);
    expect(Object.keys((await devices.handleNoteChanges(hub.projectUID, DEV, 'track.db', { tracker: 't1', start: true })).notes as Data)).toEqual(['b', 'c']);
  });

  it('sets and reads environment variables at project, fleet and device level', async () => {
    await projects.putProjectEnvironmentVariables(hub.projectUID, { environmentVariables: { environment_variables: { rate: '60', mode: 'eco' } } });
    expect((await projects.getProjectEnvironmentVariables(hub.projectUID)).environment_variables).toEqual({ rate: '60', mode: 'eco' });

    const fleet = await projects.createFleet(hub.projectUID, { label: 'north' });
    expect(String(fleet.uid)).toMatch(/^fleet:/);
    await projects.putDeviceFleets(hub.projectUID, DEV, { fleet_uids: [fleet.uid] });
    await projects.putFleetEnvironmentVariables(hub.projectUID, fleet.uid, { environment_variables: { mode: 'fast' } });
    expect((await projects.getFleetEnvironmentVariables(hub.projectUID, fleet.uid)).environment_variables).toEqual({ mode: 'fast' });

    await devices.putDeviceEnvironmentVariables(hub.projectUID, DEV, { environment_variables: { rate: '5' } });
    const env = await devices.getDeviceEnvironmentVariables(hub.projectUID, DEV);
    expect(env.environment_variables).toEqual({ rate: '5' });
    expect((env as Data & { environment_variables_effective?: unknown }).environment_variables_effective ?? await effective()).toEqual({ rate: '5', mode: 'fast' });

    await devices.deleteDeviceEnvironmentVariable(hub.projectUID, DEV, 'rate');
    expect(await effective()).toEqual({ rate: '60', mode: 'fast' });
  });

  it('creates, lists, reads and deletes an http route', async () => {
    const routes = new NotehubJs.RouteApi(client);
    const made = await routes.createRoute(hub.projectUID, { label: 'to-me', route_type: 'http', schema: { url: 'http://127.0.0.1:9/x', filter: { type: 'include', files: ['a.qo'] } } });
    expect(made).toMatchObject({ label: 'to-me', route_type: 'http', disabled: false });
    const list = await routes.getRoutes(hub.projectUID) as unknown as Data[];
    expect(list.map((r) => [r.uid, r.type])).toEqual([[made.uid, 'http']]);
    expect((await routes.getRoute(hub.projectUID, made.uid)).label).toBe('to-me');
    await routes.deleteRoute(hub.projectUID, made.uid);
    expect(await routes.getRoutes(hub.projectUID)).toEqual([]);
  });

  it('reads a device\'s latest events, health log and sessions, and the project\'s members', async () => {
    const up = (file: string, body: Data): Promise<unknown> => call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/events`, hub.token, 'POST', { file, body });
    await up('_health_host.qo', { text: 'host restarted', alert: true });
    await up('_health_host.qo', { text: 'battery fine' });
    await up('latest.qo', { n: 1 });
    await up('latest.qo', { n: 2 });
    const latest = (await devices.getDeviceLatest(hub.projectUID, DEV)).latest_events as Data[];
    expect(latest.filter((e) => e.file === 'latest.qo').map((e) => e.body)).toEqual([{ n: 2 }]);
    expect(latest.filter((e) => e.file === '_health_host.qo').map((e) => e.body)).toEqual([{ text: 'battery fine' }]);
    const log = (await devices.getDeviceHealthLog(hub.projectUID, DEV)).health_log as Data[];
    expect(log.map((h) => [h.alert, h.text])).toEqual([[false, 'battery fine'], [true, 'host restarted']]);
    expect(Date.now() - new Date(log[0].when as string).getTime()).toBeLessThan(60_000);
    expect(await devices.getDeviceSessions(hub.projectUID, DEV, { pageSize: 10 })).toEqual({ sessions: [], has_more: false });
    const members = (await projects.getProjectMembers(hub.projectUID)).members as Data[];
    expect(members).toEqual([expect.objectContaining({ name: 'admin', email: '', role: 'owner' })]);
  });

  it('reads notefile changes, with and without a tracker, and what waits for the device', async () => {
    const N = `${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/notes`;
    expect((await call(`${N}/fc.qi`, hub.token, 'POST', { body: { go: 1 } })).status).toBe(200);
    expect((await call(`${N}/fc.db/n1`, hub.token, 'POST', { body: { v: 1 } })).status).toBe(200);
    expect(await devices.handleNotefileChanges(hub.projectUID, DEV, { files: ['fc.db'] })).toEqual({ changes: 1, total: 1, info: { 'fc.db': { changes: 1, total: 1 } } });
    // a tracker that has read the notefile (note.changes) sees no changes, until there is one
    expect((await call(`${N}/fc.db/changes?tracker=t1`, hub.token)).status).toBe(200);
    expect((await devices.handleNotefileChanges(hub.projectUID, DEV, { tracker: 't1', files: ['fc.db'] })).info).toEqual({ 'fc.db': { changes: 0, total: 1 } });
    expect((await call(`${N}/fc.db/n2`, hub.token, 'POST', { body: { v: 2 } })).status).toBe(200);
    expect((await devices.handleNotefileChanges(hub.projectUID, DEV, { tracker: 't1', files: ['fc.db'] })).info).toEqual({ 'fc.db': { changes: 1, total: 2 } });
    const pending = await devices.handleNotefileChangesPending(hub.projectUID, DEV) as Data & { info: Data };
    expect(pending.pending).toBe(true);
    expect(pending.info['fc.qi']).toEqual({ changes: 1, total: 1 });
  });

  it('reads a route\'s logs, by route and by event', async () => {
    const sink = createServer((req, res) => { req.resume(); res.end('got it'); });
    await new Promise<void>((ok) => sink.listen(0, '127.0.0.1', ok));
    try {
      const routes = new NotehubJs.RouteApi(client);
      const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/in`;
      const made = await routes.createRoute(hub.projectUID, { label: 'logged', route_type: 'http', schema: { url, filter: { type: 'include', files: ['logged.qo'] } } });
      const up = await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/events`, hub.token, 'POST', { file: 'logged.qo', body: { n: 1 } });
      const [eventUID] = (up.body as { events: string[] }).events;
      const logs = await waitFor('the delivery to be logged', async () => {
        const got = await routes.getRouteLogsByRoute(hub.projectUID, made.uid, { pageSize: 10, sortOrder: 'desc' }) as unknown as Data[];
        return got.length ? got : undefined;
      });
      expect(logs).toEqual([expect.objectContaining({ routeUID: made.uid, eventUID, attn: false, status: '200', text: 'got it' })]);
      expect(new Date(logs[0].date as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(await routes.getRouteLogsByRoute(hub.projectUID, made.uid, { deviceUID: ['dev:000000000000000'] })).toEqual([]);
      expect(await events.getRouteLogsByEvent(hub.projectUID, eventUID)).toEqual(logs);
      await routes.deleteRoute(hub.projectUID, made.uid);
    } finally { sink.close(); }
  });

  it('lists firmware uploaded with a raw PUT', async () => {
    const put = await call(`${hub.url}/v1/projects/${hub.projectUID}/firmware/host/app-1.0.0.bin?version=1.0.0`, hub.token, 'PUT',
      new Uint8Array([1, 2, 3, 4]), { 'Content-Type': 'application/octet-stream' });
    expect(put.status).toBe(200);
    const list = await projects.getFirmwareInfo(hub.projectUID, { firmwareType: 'host' }) as unknown as Data[];
    // stored under the timestamped name the Notecard reports
    expect(list.map((f) => [String(f.filename).replace(/\$\d{14}\./, '$.'), f.version, f.type])).toEqual([['app-1.0.0$.bin', '1.0.0', 'host']]);
    expect(await projects.getFirmwareInfo(hub.projectUID, { firmwareType: 'notecard' })).toEqual([]);
  });

  async function effective(): Promise<unknown> {
    return (await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${DEV}/environment_variables`, hub.token)).body.environment_variables_effective;
  }
});

describe('notehub-lite CLI against the same database', () => {
  it('creates a user, project, product and token; the token works and revocation stops it', async () => {
    await cli(['user', 'create', '--data', dir, '--user', 'alice', '--password', 'alice-password']);
    const project = await cli(['project', 'create', '--data', dir, '--user', 'alice', '--label', 'Alice farm']);
    expect(project).toMatch(/^app:[0-9a-f-]{36}$/);
    expect(await cli(['product', 'create', '--data', dir, '--project', project, '--uid', 'com.example.alice:farm'])).toBe('com.example.alice:farm');
    const token = await cli(['token', 'create', '--data', dir, '--user', 'alice', '--expires', '30d']);

    const mine = await call(`${hub.url}/v1/projects`, token);
    expect((mine.body.projects as Data[]).map((p) => p.uid)).toEqual([project]);
    expect((await call(`${hub.url}/v1/projects/${hub.projectUID}`, token)).status).toBe(403);
    expect((await call(`${hub.url}/v1/projects/com.example.alice:farm`, token)).body.uid).toBe(project);

    await cli(['token', 'revoke', '--data', dir, '--token', token]);
    expect((await call(`${hub.url}/v1/projects`, token)).status).toBe(401);
  });

  it('creates an OAuth client whose 30-minute bearer token reaches only its project', async () => {
    const out = await cli(['client', 'create', '--data', dir, '--project', hub.projectUID]);
    const id = /client_id=(\S+)/.exec(out)![1];
    const secret = /client_secret=(\S+)/.exec(out)![1];
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const tok = await call(`${hub.url}/oauth2/token`, null, 'POST',
      new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(), form);
    expect(tok.status).toBe(200);
    expect(tok.body).toMatchObject({ token_type: 'bearer', expires_in: 1800 });
    const access = tok.body.access_token as string;
    expect((await call(`${hub.url}/v1/projects/${hub.projectUID}/devices`, access)).status).toBe(200);
    const other = (await call(`${hub.url}/v1/projects`, hub.token, 'POST', { label: 'second' })).body.uid as string;
    expect((await call(`${hub.url}/v1/projects/${other}/devices`, access)).status).toBe(403);

    const bad = await call(`${hub.url}/oauth2/token`, null, 'POST',
      new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: 'nope' }).toString(), form);
    expect(bad.status).toBe(401);
  });

  it('prints help', async () => {
    expect(await cli(['--help'])).toMatch(/token create --user NAME/);
  });

  it('refuses an unknown option or a bad value in one line with exit 2, and does nothing', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; out: string; err: string }>((ok) => {
      const child = execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (_e, out, err) => ok({ code: child.exitCode, out, err }));
    });
    // a misspelt --password: before, ignored (and the user made with a random password)
    expect(await run(['user', 'create', '--data', dir, '--user', 'mallory', '--pasword', 'mallory-password']))
      .toEqual({ code: 2, out: '', err: 'notehub-lite: unknown option --pasword (see --help)\n' });
    expect(await run(['serve', '--data', dir, '--port', '0', '--tofu', 'maybe']))
      .toEqual({ code: 2, out: '', err: 'notehub-lite: --tofu maybe: use on or off (see --help)\n' });
    expect(await run(['serve', '--data', dir, '--port', 'http'])).toMatchObject({ code: 2, err: expect.stringMatching(/^notehub-lite: --port needs a whole number/) });
    expect(await run(['token', 'create', '--data', dir])).toEqual({ code: 2, out: '', err: 'notehub-lite: --user is required (see --help)\n' });
    // nothing was made: the name is still free
    await cli(['user', 'create', '--data', dir, '--user', 'mallory', '--password', 'mallory-password']);
  });
});
