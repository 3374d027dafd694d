// The card's sync engine against the real hub listener, with the link cut at hundreds of points
// in both directions (between frames and inside them): after a clean sync, every note the card
// queued is on the hub exactly once, and nothing the hub sent is applied twice.
import { Card } from '../../src/card';
import type { Net, NetHandlers, NetStream } from '../../src/host';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

/** The Node TCP Net, except that its next connection dies after `cut` bytes in one direction. */
class CuttingNet implements Net {
  cut: { up: boolean; after: number } | undefined;
  connect(host: string, port: number, h: NetHandlers): NetStream {
    const plan = this.cut;
    this.cut = undefined;
    let up = 0;
    let down = 0;
    let cut = false;
    const stream = nodeNet.connect(host, port, {
      onConnect: () => h.onConnect(),
      onClose: (why) => h.onClose(why ?? (cut ? 'cut' : undefined)),
      onData: (bytes) => {
        if (cut) return;
        if (plan && !plan.up && down + bytes.length >= plan.after) {
          cut = true;
          if (plan.after > down) h.onData(bytes.subarray(0, plan.after - down));
          return stream.close();
        }
        down += bytes.length;
        h.onData(bytes);
      },
    });
    return {
      write: (bytes) => {
        if (cut) return;
        if (plan?.up && up + bytes.length >= plan.after) {
          cut = true;
          stream.write(bytes.subarray(0, plan.after - up));
          setImmediate(() => stream.close());
          return;
        }
        up += bytes.length;
        stream.write(bytes);
      },
      close: () => stream.close(),
    };
  }
}

let running: RunningHub;
let dir: string;
const link = new CuttingNet();
let card: Card;

function request(req: object): Record<string, unknown> {
  return JSON.parse(card.request(JSON.stringify(req)).text!);
}

async function syncOnce(): Promise<string> {
  request({ req: 'hub.sync' });
  for (let i = 0; i < 400 && card.engine!.running; i++) await sleep(5);
  return String(request({ req: 'hub.sync.status' }).status);
}

beforeAll(async () => {
  dir = tempDir('opencard-faults-');
  running = await startHub({ dataDir: dir, port: 0, devicePort: 0, log: () => {} });
  const host = { ...nodeHost({ flash: new RamFlash({ size: 256 * 1024 }), logLevel: 'silent', trustSystemClock: true }), net: link };
  card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
});

afterAll(async () => {
  await running?.close();
});

async function hubEvents(): Promise<number[]> {
  const b = running.bootstrap!;
  const res = await fetch(`${running.url}/v1/projects/${b.projectUID}/events?pageSize=1000&files=up.qo`, { headers: { Authorization: `Bearer ${b.token}` } });
  const body = (await res.json()) as { events: { body: { n: number } }[] };
  if (!body.events) throw new Error(JSON.stringify(body));
  return body.events.map((e) => e.body.n).sort((a, b) => a - b);
}

it('delivers every note exactly once whatever point the link is cut at', async () => {
  expect(await syncOnce()).toContain('{sync-end}');
  let next = 0;
  let cuts = 0;
  const results = new Set<string>();
  for (const up of [true, false]) {
    for (let after = 1; after <= 1200 && cuts < 240; after += up ? 9 : 7) {
      for (let i = 0; i < 3; i++) request({ req: 'note.add', file: 'up.qo', body: { n: next++ } });
      link.cut = { up, after };
      const status = await syncOnce();
      results.add(status.includes('{sync-end}') ? 'completed' : 'cut');
      cuts++;
    }
  }
  expect(cuts).toBeGreaterThanOrEqual(200);
  expect(results).toEqual(new Set(['completed', 'cut'])); // some cuts landed mid-exchange, some after it
  // A clean sync delivers what was left; the hub holds each note exactly once.
  let status = '';
  for (let i = 0; i < 5 && !status.includes('{sync-end}'); i++) status = await syncOnce();
  expect(status).toContain('{sync-end}');
  expect(await hubEvents()).toEqual([...Array(next).keys()]);
  expect(Number(JSON.parse(card.request('{"req":"file.changes.pending"}').text!).total ?? 0)).toBe(0);
}, 120_000);
