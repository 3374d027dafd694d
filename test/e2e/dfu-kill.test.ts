// A firmware download survives a SIGKILL of the simulator (real processes): after the restart on
// the same data directory the card resumes from the last chunk it verified and persisted (the bytes
// that come down afterwards are the rest of the image, not all of it), and the image it calls
// ready reads back, through dfu.get, with the md5 the hub gave.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import { connectTcp, startSim, tempDir, type SimProcess } from '../support/sim-process';
import { sleep } from '../support/wait';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const SIZE = 1024 * 1024;

/** A TCP relay to the hub's device port that counts the bytes each connection brought down. */
function relay(target: number): Promise<{ server: net.Server; port: number; down: () => number }> {
  let down = 0;
  const server = net.createServer((card) => {
    const hub = net.connect(target, '127.0.0.1');
    card.on('data', (d) => hub.write(d));
    hub.on('data', (d: Buffer) => {
      down += d.length;
      card.write(d);
    });
    const end = () => { card.destroy(); hub.destroy(); };
    card.on('close', end).on('error', end);
    hub.on('close', end).on('error', end);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, port: (server.address() as net.AddressInfo).port, down: () => down })));
}

let dir: string;
let hub: Spawned;
let sim: SimProcess | undefined;
let server: net.Server | undefined;

afterAll(async () => {
  await sim?.stop();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  await hub?.stop();
  removeDir(dir);
});

const got = (s: Record<string, unknown>): number => Number((/\((\d+)\/\d+\)/.exec(String(s.status)) ?? [])[1] ?? 0);

it('resumes a download from the last verified chunk after a SIGKILL, and the md5 matches', async () => {
  dir = hubDir('dfu-kill');
  hub = await spawnHub(dir);
  const counted = await relay(hub.devicePort);
  server = counted.server;
  const data = tempDir('opencard-dfu-kill-');
  const args = ['--tcp', '0', '--hub-host', `127.0.0.1:${counted.port}`];
  sim = await startSim(args, data);
  let { card, close } = await connectTcp(sim);
  expect(await card.transaction({ req: 'hub.set', product: hub.productUID, mode: 'minimum' })).toEqual({});
  const syncDone = async () => {
    for (let i = 0; i < 3000 && (await card.transaction({ req: 'hub.sync.status' })).sync; i++) await sleep(10);
  };
  await card.transaction({ req: 'hub.sync' });
  await syncDone(); // the hub learns the device

  const image = randomBytes(SIZE);
  const base = `${hub.url}/v1/projects/${hub.projectUID}`;
  const put = await call(`${base}/firmware/host/kill.bin?version=3.0`, hub.token, 'PUT', new Uint8Array(image), { 'Content-Type': 'application/octet-stream' });
  expect(put.status).toBe(200);
  expect((await call(`${base}/dfu/host/update?deviceUID=${encodeURIComponent(sim.device)}`, hub.token, 'POST', { filename: 'kill.bin' })).body)
    .toEqual({ devices: [sim.device] });

  // the download runs; the process is killed mid-transfer (no chance to close anything)
  await card.transaction({ req: 'hub.sync' });
  let seen = 0;
  for (let i = 0; i < 3000 && seen < SIZE / 4; i++) {
    seen = got(await card.transaction({ req: 'dfu.status', name: 'user' }));
    await sleep(5);
  }
  expect(seen).toBeGreaterThanOrEqual(SIZE / 4);
  close();
  expect(await sim.stop('SIGKILL')).toBeNull();

  sim = await startSim(args, data);
  ({ card, close } = await connectTcp(sim));
  const after = await card.transaction({ req: 'dfu.status', name: 'user' });
  expect(after).toMatchObject({ mode: 'downloading' });
  const kept = got(after);
  expect(kept).toBeGreaterThanOrEqual(seen); // nothing it reported verified was lost
  expect(kept).toBeLessThan(SIZE);
  const down0 = counted.down();
  for (let i = 0; i < 20 && (await card.transaction({ req: 'dfu.status' })).mode !== 'ready'; i++) {
    await card.transaction({ req: 'hub.sync' });
    await syncDone();
  }
  const ready = await card.transaction({ req: 'dfu.status', name: 'user' });
  expect(ready).toMatchObject({ mode: 'ready', status: 'successfully downloaded', body: { md5: md5(image), length: SIZE } });
  // what came down after the restart: the rest of the image from `kept` (plus framing and the sessions), not the whole of it
  const resent = counted.down() - down0 - (SIZE - kept);
  console.log(`after SIGKILL at ${kept} verified bytes: ${counted.down() - down0} bytes down for the remaining ${SIZE - kept}`);
  expect(resent).toBeGreaterThanOrEqual(0);
  expect(resent).toBeLessThan(0.06 * (SIZE - kept) + 4096);

  // the host reads it back and checks the md5
  expect(await card.transaction({ req: 'hub.set', mode: 'dfu' })).toEqual({});
  const parts: Buffer[] = [];
  for (let offset = 0; offset < SIZE; offset += 8192) parts.push(Buffer.from(String((await card.transaction({ req: 'dfu.get', length: 8192, offset })).payload), 'base64'));
  expect(md5(Buffer.concat(parts))).toBe(md5(image));
  close();
}, 120_000);
