// The whole product on loopback: the simulator and the hub as real processes, the card driven
// over its serial line like a host library, the hub read and written with the official
// @blues-inc/notehub-js client.
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import type { HostClient } from '../support/host-client';
import { SimProcess, connectTcp, startSim } from '../support/sim-process';
import { startCluster, type Cluster } from '../support/cluster';
import { sleep, waitFor } from '../support/wait';

/* eslint-disable @typescript-eslint/no-require-imports */
type Data = Record<string, unknown>;
type Api = Record<string, (...args: unknown[]) => Promise<Data>>;
const NotehubJs = require('@blues-inc/notehub-js') as {
  ApiClient: new (base: string) => { authentications: { api_key: { apiKey?: string } } };
  AuthorizationApi: new (c: unknown) => Api;
  DeviceApi: new (c: unknown) => Api;
  EventApi: new (c: unknown) => Api;
};

let dir: string;
let hub: Spawned;
/** test/e2e/sync-cluster.test.ts runs this file again on two hubs sharing one PostgreSQL */
const CLUSTER = /sync-cluster\.test\.js$/.test(expect.getState().testPath ?? '');
let cluster: Cluster | undefined;
let sim: SimProcess;
let closeCard: () => void;
let card: HostClient;
let devices: Api;
let events: Api;

/** hub.sync, then wait for hub.sync.status to report the end of that sync. */
async function sync(): Promise<void> {
  const before = Number((await card.transaction({ req: 'hub.sync.status' })).completed ?? 0);
  expect(await card.transaction({ req: 'hub.sync' })).toEqual({});
  await waitFor('the sync to complete', async () => {
    const s = await card.transaction({ req: 'hub.sync.status' });
    if (String(s.status).includes('{sync-error}')) throw new Error(`sync failed: ${s.status}`);
    return !s.sync && String(s.status).includes('{sync-end}') && Number(s.completed) >= before ? s : undefined;
  });
}

beforeAll(async () => {
  dir = hubDir('e2e');
  if (CLUSTER) {
    // the card reaches the hubs through a round-robin balancer, so each sync may land on either;
    // the API goes to hub B
    cluster = await startCluster();
    hub = { ...cluster.a, url: cluster.b.url, devicePort: cluster.balancer.port };
  } else hub = await spawnHub(dir);
  sim = await startSim(['--tcp', '0', '--hub-host', `127.0.0.1:${hub.devicePort}`]);
  ({ card, close: closeCard } = await connectTcp(sim));
  const client = new NotehubJs.ApiClient(hub.url);
  const login = await new NotehubJs.AuthorizationApi(client).login({ username: 'admin', password: hub.password });
  client.authentications.api_key.apiKey = login.session_token as string;
  devices = new NotehubJs.DeviceApi(client);
  events = new NotehubJs.EventApi(client);
  expect(await card.transaction({ req: 'hub.set', product: hub.productUID, sn: 'e2e-card', mode: 'minimum' })).toEqual({});
}, 60_000);

afterAll(async () => {
  closeCard?.();
  await sim?.stop();
  if (cluster) {
    const moved = new Set(cluster.balancer.chosen);
    await cluster.stop();
    expect(moved).toEqual(new Set([0, 1])); // the card synced through both hubs
  } else await hub?.stop();
  removeDir(dir);
});

it('a note added on the card\'s sensors.qo becomes a hub event', async () => {
  expect(await card.transaction({ req: 'note.add', file: 'sensors.qo', body: { temp: 21.5, humidity: 40 } })).toMatchObject({ total: 1 });
  await sync();
  const got = await events.getProjectEvents(hub.projectUID, { deviceUID: [sim.device], files: 'sensors.qo' });
  const list = got.events as Data[];
  expect(list).toHaveLength(1);
  expect(list[0]).toMatchObject({ device: sim.device, file: 'sensors.qo', body: { temp: 21.5, humidity: 40 } });
  // Acknowledged by the hub, so gone from the card.
  const left = await card.transaction({ req: 'file.changes.pending' });
  expect(left.total ?? 0).toBe(0);
  // The card learned the time from the hub.
  expect(Number((await card.transaction({ req: 'card.time' })).time)).toBeGreaterThan(1_700_000_000);
});

it('a note added through the API to data.qi is read on the card', async () => {
  await devices.handleNoteAdd(hub.projectUID, sim.device, 'data.qi', { body: { led: 'on' } });
  await sync();
  const got = await card.transaction({ req: 'note.get', file: 'data.qi', delete: true });
  expect(got.body).toEqual({ led: 'on' });
});

it('an environment variable set on the hub is returned by env.get', async () => {
  await devices.putDeviceEnvironmentVariables(hub.projectUID, sim.device, { environment_variables: { rate: '15' } });
  await sync();
  expect(await card.transaction({ req: 'env.get', name: 'rate' })).toMatchObject({ text: '15' });
});

it('a .db edited on both sides converges and keeps the losing edit', async () => {
  expect(await card.transaction({ req: 'note.add', file: 'config.db', note: 'shared', body: { v: 1 } })).toMatchObject({});
  await sync();
  await devices.handleNoteUpdate(hub.projectUID, sim.device, 'config.db', 'shared', { body: { v: 2 } });
  await sleep(1100); // a later second: the card's edit is the newer one
  await card.transaction({ req: 'note.update', file: 'config.db', note: 'shared', body: { v: 3 } });
  await sync();
  await sync();
  const onCard = await card.transaction({ req: 'note.get', file: 'config.db', note: 'shared' });
  const onHub = await call(`${hub.url}/v1/projects/${hub.projectUID}/devices/${sim.device}/notes/config.db/shared`, hub.token);
  expect(onCard.body).toEqual({ v: 3 });
  expect((onHub.body.note as Data | undefined)?.body ?? onHub.body.body).toEqual({ v: 3 });
  // Nothing lost: the hub's concurrent edit survives as a conflict note on both sides.
  const all = await card.transaction({ req: 'note.changes', file: 'config.db' });
  const bodies = Object.values(all.notes as Record<string, Data>).map((n) => JSON.stringify(n.body));
  expect(bodies).toContain(JSON.stringify({ v: 2 }));
});

it('continuous mode: card notes reach the hub and hub notes reach the card without a sync', async () => {
  expect(await card.transaction({ req: 'hub.set', mode: 'continuous' })).toEqual({});
  await waitFor('the continuous session', async () => ((await card.transaction({ req: 'hub.status' })).connected ? true : undefined));
  // Pushed, not left for a periodic sync: that interval is an hour, and nothing here asks for one.
  await card.transaction({ req: 'note.add', file: 'live.qo', body: { live: 1 } });
  await waitFor('the pushed event', async () => {
    const got = await events.getProjectEvents(hub.projectUID, { deviceUID: [sim.device], files: 'live.qo' });
    return (got.events as Data[]).length === 1 ? true : undefined;
  });
  await devices.handleNoteAdd(hub.projectUID, sim.device, 'live.qi', { body: { push: 2 } });
  const got = await waitFor('the pushed inbound note', async () => {
    const r = await card.transaction({ req: 'note.get', file: 'live.qi', delete: true });
    return r.err ? undefined : r;
  });
  expect(got.body).toEqual({ push: 2 });
  await card.transaction({ req: 'hub.set', mode: 'minimum' });
});

it('templated notes cross as records and arrive as correct JSON events', async () => {
  const hints = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };
  expect(await card.transaction({ req: 'note.template', file: 'tsensors.qo', body: hints })).toMatchObject({ bytes: expect.any(Number) });
  const bodies = [
    { temp: 21.5, humidity: 40, pressure: 1013.25, battery: 3.75, motion: true, status: 'ok' },
    { temp: -4.25, humidity: 99, pressure: 990.5, battery: 3.5, status: 'low' },
  ];
  for (const body of bodies) expect(await card.transaction({ req: 'note.add', file: 'tsensors.qo', body })).toMatchObject({ template: true });
  await sync();
  const got = await events.getProjectEvents(hub.projectUID, { deviceUID: [sim.device], files: 'tsensors.qo' });
  const list = (got.events as Data[]).map((e) => e.body);
  expect(list).toHaveLength(2);
  expect(list).toEqual(expect.arrayContaining(bodies));
});

it('a disabled device is refused with {auth}; enabled again, it syncs', async () => {
  await devices.disableDevice(hub.projectUID, sim.device);
  expect(await card.transaction({ req: 'hub.sync' })).toEqual({});
  const refused = await waitFor('the refusal', async () => {
    const s = await card.transaction({ req: 'hub.sync.status' });
    return String(s.status).includes('{sync-error}') ? String(s.status) : undefined;
  });
  expect(refused).toContain('{auth}');
  await devices.enableDevice(hub.projectUID, sim.device);
  await sync();
});
