// `notecard-sim --modem`: the simulator as a real process syncing with a real hub process through
// the AT modem driver and the emulated module; card.wireless and card.transport over its serial line.
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import type { HostClient } from '../support/host-client';
import { SimProcess, connectTcp, startSim } from '../support/sim-process';
import { sleep } from '../support/wait';

let dir: string;
let hub: Spawned;
let sim: SimProcess;
let card: HostClient;
let closeCard: () => void;

async function sync(): Promise<string> {
  expect(await card.transaction({ req: 'hub.sync' })).toEqual({});
  for (let i = 0; i < 300; i++) {
    await sleep(50);
    const s = await card.transaction({ req: 'hub.sync.status' });
    if (!s.sync && /\{sync-(end|error)\}/.test(String(s.status))) return String(s.status);
  }
  throw new Error('the sync did not end');
}

/** card.wireless once the driver has closed the sync's socket (its last frame and AT+QICLOSE
 * may still be on the UART when hub.sync.status already reports the end). */
async function wireless(): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const w = await card.transaction({ req: 'card.wireless' });
    if (w.status !== 'connected {connected}') return w;
    await sleep(25);
  }
  throw new Error('the socket stayed open');
}

beforeAll(async () => {
  dir = hubDir('e2e-modem');
  hub = await spawnHub(dir);
  sim = await startSim(['--tcp', '0', '--modem', '--modem-latency', '20', '--apn', 'e2e.apn', '--hub-host', `127.0.0.1:${hub.devicePort}`]);
  ({ card, close: closeCard } = await connectTcp(sim));
  expect(await card.transaction({ req: 'hub.set', product: hub.productUID, mode: 'minimum' })).toEqual({});
}, 60_000);

afterAll(async () => {
  closeCard?.();
  await sim?.stop();
  await hub?.stop();
  removeDir(dir);
});

it('syncs over the emulated cellular link and reports the modem in card.wireless', async () => {
  expect(await card.transaction({ req: 'card.wireless' })).toEqual({ status: '{modem-off}' });
  expect(await card.transaction({ req: 'card.transport' })).toEqual({ method: '-' });
  for (let n = 0; n < 5; n++) await card.transaction({ req: 'note.add', file: 'cell.qo', body: { n } });
  expect(await sync()).toContain('{sync-end}');
  const w = await wireless();
  expect(w).toEqual({
    status: 'registered {network-up}', count: 4,
    net: { band: 'LTE BAND 12', rat: 'emtc', rssi: -73, rsrp: -102, sinr: 112, rsrq: -11, bars: 4, mcc: 310, mnc: 410 },
  });
  const got = await call(`${hub.url}/v1/projects/${hub.projectUID}/events?files=cell.qo&pageSize=100`, hub.token);
  expect((got.body.events as { body: { n: number } }[]).map((e) => e.body.n).sort()).toEqual([0, 1, 2, 3, 4]);
}, 60_000);

it('card.transport picks the link; card.wireless apn and mode are accepted', async () => {
  expect(await card.transaction({ req: 'card.wireless', apn: 'other.apn', mode: 'm' })).toMatchObject({ status: '{modem-off}' });
  expect(await card.transaction({ req: 'card.transport', method: 'wifi' })).toEqual({ method: 'wifi' });
  await card.transaction({ req: 'note.add', file: 'cell.qo', body: { n: 5 } });
  expect(await sync()).toContain('{sync-end}');
  // over the plain TCP link: the modem was never brought up again
  expect((await wireless()).status).toBe('{modem-off}');
  expect(await card.transaction({ req: 'card.transport', method: 'cell' })).toEqual({ method: 'cell' });
  await card.transaction({ req: 'note.add', file: 'cell.qo', body: { n: 6 } });
  expect(await sync()).toContain('{sync-end}');
  expect((await wireless()).status).toBe('registered {network-up}');
  const got = await call(`${hub.url}/v1/projects/${hub.projectUID}/events?files=cell.qo&pageSize=100`, hub.token);
  expect((got.body.events as { body: { n: number } }[]).map((e) => e.body.n).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
}, 60_000);
