// card.attn `connected` and `signal`: the card's engine against the real hub in this process over
// loopback TCP, in continuous mode. ATTN rises when the session comes up or goes down, and when a
// signal sent through the hub's API arrives.
import { Card } from '../../src/card';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

type Data = Record<string, any>;

let running: RunningHub;
let card: Card | undefined;
const pin: boolean[] = [];

beforeAll(async () => {
  running = await startHub({ dataDir: tempDir('opencard-attn-hub-'), port: 0, devicePort: 0, log: () => {} });
});
afterAll(async () => {
  card?.shutdown();
  await running?.close();
});

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('fires on the hub session coming up and going down (connected), and on a signal (signal)', async () => {
  const host = { ...nodeHost({ flash: new RamFlash({ size: 256 * 1024 }), logLevel: 'silent', trustSystemClock: true }), net: nodeNet, world: { attn: { set: (high: boolean) => void pin.push(high) } } };
  card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  const req = (r: object): Data => JSON.parse(card!.request(JSON.stringify(r)).text!);
  expect(req({ req: 'card.attn', mode: 'arm,connected' })).toEqual({});
  expect(pin[pin.length - 1]).toBe(false);
  req({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'continuous' });
  expect(await until('ATTN on connect', () => (req({ req: 'card.attn' }).set ? req({ req: 'card.attn' }) : undefined))).toEqual({ files: ['connected'], set: true });
  expect(pin[pin.length - 1]).toBe(true);
  await until('the session', () => (req({ req: 'hub.status' }).connected ? true : undefined));

  // a signal through the API, with only `signal` armed
  expect(req({ req: 'card.attn', mode: 'arm,signal,-connected' })).toEqual({});
  expect(pin[pin.length - 1]).toBe(false);
  const b = running.bootstrap!;
  const res = await fetch(`${running.url}/v1/projects/${b.projectUID}/devices/${card.deviceUID}/signal`, {
    method: 'POST', headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ body: { led: 'on' } }),
  });
  expect(res.status).toBe(200);
  expect(await until('ATTN on signal', () => (req({ req: 'card.attn' }).set ? req({ req: 'card.attn' }) : undefined))).toEqual({ files: ['signal'], set: true });
  expect(req({ req: 'hub.signal' })).toMatchObject({ body: { led: 'on' }, connected: true });

  // the session goes down: `connected` fires again
  expect(req({ req: 'card.attn', mode: 'arm,connected,-signal' })).toEqual({});
  req({ req: 'hub.set', mode: 'minimum' });
  req({ req: 'hub.sync' });
  await until('the session to end', () => (req({ req: 'hub.status' }).connected ? undefined : true));
  expect(await until('ATTN on disconnect', () => (req({ req: 'card.attn' }).set ? req({ req: 'card.attn' }) : undefined))).toEqual({ files: ['connected'], set: true });
});
