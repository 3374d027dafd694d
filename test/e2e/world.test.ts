// The card in a world, end to end with real processes: the simulator (driven over its serial
// line like a host library, and its world over the control channel) and the hub.
import * as net from 'net';
import { removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import type { HostClient } from '../support/host-client';
import { SimProcess, connectTcp, startSim } from '../support/sim-process';
import { sleep, waitFor } from '../support/wait';

type Data = Record<string, any>;

let dir: string;
let hub: Spawned;
let sim: SimProcess;
let card: HostClient;
let closeCard: () => void;
let ctlSocket: net.Socket;
/** Everything the control channel said, replies and events, in order. */
const heard: Data[] = [];

let nextId = 1;
async function ctl(req: Data): Promise<Data> {
  const id = nextId++;
  ctlSocket.write(JSON.stringify({ ...req, id }) + '\n');
  const reply = await waitFor(`ctl reply ${id}`, () => heard.find((m) => m.id === id));
  if (!reply.ok) throw new Error(`ctl: ${reply.err}`);
  return reply;
}

async function hubEvents(file: string): Promise<Data[]> {
  const res = await fetch(`${hub.url}/v1/projects/${hub.projectUID}/events?deviceUID=${encodeURIComponent(sim.device)}&files=${encodeURIComponent(file)}&pageSize=500`, {
    headers: { Authorization: `Bearer ${hub.token}` },
  });
  return ((await res.json()) as Data).events as Data[];
}

async function sync(): Promise<void> {
  expect(await card.transaction({ req: 'hub.sync' })).toEqual({});
  // hub.sync starts the session at once: done when it is no longer running and completed (unix s,
  // like requested) is not older than the request
  await waitFor('the sync to complete', async () => {
    const s = await card.transaction({ req: 'hub.sync.status' });
    if (String(s.status).includes('{sync-error}')) throw new Error(`sync failed: ${s.status}`);
    return !s.sync && String(s.status).includes('{sync-end}') && Number(s.completed ?? 0) >= Number(s.requested ?? 0) ? s : undefined; // no time yet: no requested
  });
}

beforeAll(async () => {
  dir = hubDir('world');
  hub = await spawnHub(dir);
  sim = await startSim(['--tcp', '0', '--hub-host', `127.0.0.1:${hub.devicePort}`, '--log-level', 'debug', '--lat', '10', '--lon', '20', '--voltage', '3.9']);
  ({ card, close: closeCard } = await connectTcp(sim));
  const port = Number(/ctl 127\.0\.0\.1:(\d+)/.exec(sim.stderr())![1]);
  ctlSocket = net.connect(port, '127.0.0.1');
  let text = '';
  ctlSocket.on('data', (d) => {
    text += d.toString();
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      heard.push(JSON.parse(text.slice(0, nl)));
      text = text.slice(nl + 1);
    }
  });
  await new Promise((ok) => ctlSocket.once('connect', ok));
  expect(await card.transaction({ req: 'hub.set', product: hub.productUID, sn: 'world-card', mode: 'minimum' })).toEqual({});
  await sync();
}, 60_000);

afterAll(async () => {
  ctlSocket?.destroy();
  closeCard?.();
  await sim?.stop();
  await hub?.stop();
  removeDir(dir);
});

it('a route played by a scenario reaches the hub as _track.qo events at the right positions', async () => {
  const route = [
    { lat: 10, lon: 20, wait: 4 },
    { lat: 10.001, lon: 20, speed: 40 },
    { lat: 10.002, lon: 20.001, speed: 40 },
  ];
  await ctl({ op: 'scenario', scenario: { speed: 2, route, movingMotion: 1 } });
  expect(await card.transaction({ req: 'card.location.mode', mode: 'continuous' })).toEqual({ mode: 'continuous' });
  expect(await card.transaction({ req: 'card.location.track', start: true })).toEqual({ start: true });
  await waitFor('the scenario to end', () => heard.find((m) => m.event === 'scenario' && m.state === 'ended'));
  await sleep(1500); // one more continuous sample at the end of the route
  expect(await card.transaction({ req: 'card.location' })).toMatchObject({ mode: 'continuous', lat: 10.002, lon: 20.001 });
  await card.transaction({ req: 'card.location.track', stop: true });
  await card.transaction({ req: 'card.location.mode', mode: 'off' });
  await sync();
  const events = await hubEvents('_track.qo');
  expect(events.length).toBeGreaterThanOrEqual(3);
  const lats = events.map((e) => e.best_lat as number);
  // in order along the route, from the start to its end
  for (let i = 1; i < lats.length; i++) expect(lats[i]).toBeGreaterThanOrEqual(lats[i - 1]);
  expect(events[0]).toMatchObject({ best_lat: 10, best_lon: 20 });
  expect(events[events.length - 1]).toMatchObject({ best_lat: 10.002, best_lon: 20.001 });
  expect(events.some((e) => e.best_lat > 10 && e.best_lat < 10.002)).toBe(true);
  expect(events.some((e) => (e.body?.motion ?? 0) > 0 && e.body?.distance > 0)).toBe(true);
  expect(events[events.length - 1].body).toMatchObject({ voltage: 3.9, temperature: 22 });
}, 60_000);

it('shaking the card gives motion counts and a motion-triggered sync', async () => {
  expect(await card.transaction({ req: 'card.motion' })).toMatchObject({ count: expect.any(Number) }); // reset the count
  expect(await card.transaction({ req: 'card.motion.mode', start: true, seconds: 1 })).toMatchObject({ start: true, seconds: 1 });
  expect(await card.transaction({ req: 'card.motion.sync', start: true, count: 5, threshold: 1, minutes: 1 })).toEqual({});
  // waits for a sync: minimum mode never syncs on its own
  expect(await card.transaction({ req: 'note.add', file: 'shake.qo', body: { before: 'shaking' } })).toMatchObject({ total: 1 });
  await sleep(300);
  expect(await hubEvents('shake.qo')).toEqual([]);
  await ctl({ op: 'motion', count: 7, orientation: 'face-down' });
  await waitFor('the motion-triggered sync to deliver shake.qo', async () => ((await hubEvents('shake.qo')).length === 1 ? true : undefined));
  expect(await card.transaction({ req: 'card.motion' })).toMatchObject({ count: 7, status: 'face-down' });
  await card.transaction({ req: 'card.motion.sync', stop: true });
}, 60_000);

it('dropping the voltage to low changes the mode and the voutbound interval the sync engine uses', async () => {
  const plan = (minutes: number) => `next periodic sync in ${minutes} minutes`;
  expect(await card.transaction({ req: 'hub.set', mode: 'periodic', voutbound: 'usb:1;high:2;normal:3;low:45;dead:0' })).toEqual({});
  await waitFor('the normal-voltage plan', () => (sim.stderr().includes(plan(3)) ? true : undefined));
  expect(await card.transaction({ req: 'card.voltage' })).toMatchObject({ mode: 'normal', value: 3.9 });
  await ctl({ op: 'set', values: { voltage: 3.25 } });
  expect(await card.transaction({ req: 'card.voltage', now: true })).toMatchObject({ mode: 'low', value: 3.25 });
  await waitFor('the low-voltage plan', () => (sim.stderr().includes(plan(45)) ? true : undefined));
  await ctl({ op: 'set', values: { voltage: 3.9 } });
  expect(await card.transaction({ req: 'hub.set', mode: 'minimum' })).toEqual({});
}, 60_000);

it('an inbound note on an armed notefile raises ATTN on the control channel', async () => {
  expect(await card.transaction({ req: 'card.attn', mode: 'arm,files', files: ['alert.qi'] })).toEqual({});
  const from = heard.length;
  const res = await fetch(`${hub.url}/v1/projects/${hub.projectUID}/devices/${encodeURIComponent(sim.device)}/notes/alert.qi`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${hub.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ body: { wake: true } }),
  });
  expect(res.status).toBeLessThan(300);
  expect(heard.slice(from).some((m) => m.event === 'attn')).toBe(false);
  await sync();
  await waitFor('ATTN high', () => heard.slice(from).find((m) => m.event === 'attn' && m.high === true));
  expect(await card.transaction({ req: 'card.attn' })).toEqual({ files: ['alert.qi'], set: true });
  expect((await ctl({ op: 'get' })).world.attn).toBe(true);
  expect(await card.transaction({ req: 'note.get', file: 'alert.qi', delete: true })).toMatchObject({ body: { wake: true } });
  await card.transaction({ req: 'card.attn', mode: 'disarm,-all' });
}, 60_000);

it('card.attn sleep holds the host\'s payload and gives it back after the wake', async () => {
  const from = heard.length;
  expect(await card.transaction({ req: 'card.attn', mode: 'sleep', seconds: 2, payload: 'c3RhdGU6NDI=' })).toEqual({});
  await waitFor('ATTN low (the host sleeps)', () => heard.slice(from).find((m) => m.event === 'attn' && m.high === false));
  const asleep = Date.now();
  await waitFor('ATTN high (the host wakes)', () => heard.slice(from).find((m) => m.event === 'attn' && m.high === true), 10_000);
  expect(Date.now() - asleep).toBeGreaterThan(1000);
  const woke = await card.transaction({ req: 'card.attn', start: true });
  expect(woke).toEqual({ payload: 'c3RhdGU6NDI=', time: expect.any(Number) });
  expect(woke.time).toBeGreaterThan(1_700_000_000);
}, 60_000);
