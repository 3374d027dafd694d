// Syncs that respect the radio (issue 14 step 5, docs/SYNC.md section 4.7): the frames of each
// turn of a periodic sync between the card's engine and the hub's listener over loopback TCP.
// A turn is what one side writes before the other answers; round trips = turns the card opens.
import { Card } from '../../src/card';
import type { Net, NetHandlers } from '../../src/host';
import { FrameReader } from '../../src/sync/frame';
import { MESSAGE_TYPES } from '../../src/sync/messages';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { call, removeDir, tempDir } from '../hub/helpers';

const NAMES = new Map<number, string>(Object.entries(MESSAGE_TYPES).map(([k, v]) => [v, k.replace(/[A-Z]/g, '_$&').toUpperCase()]));

let dir: string;
let h: RunningHub;

beforeAll(async () => {
  dir = tempDir('round-trips');
  h = await startHub({ dataDir: dir, port: 0, devicePort: 0, log: () => undefined, adminPassword: 'admin-password-1' });
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});

/** A card whose link records the frame types of every turn: `up` turns and `>` (down) turns. */
function tracedCard(): { card: Card; turns: string[][]; ask: (r: object) => Record<string, unknown> } {
  const base = nodeHost({ flash: new RamFlash({ size: 1024 * 1024 }), logLevel: 'silent', trustSystemClock: true });
  const turns: string[][] = [];
  let way = '';
  const seen = (w: string, bytes: Uint8Array, reader: FrameReader) => {
    if (w !== way) turns.push(w === 'up' ? [] : ['>']);
    way = w;
    for (const f of reader.push(bytes)) turns[turns.length - 1].push(NAMES.get(f.type & 0x7f) ?? String(f.type));
  };
  const net: Net = {
    connect: (host: string, port: number, handlers: NetHandlers) => {
      const up = new FrameReader();
      const down = new FrameReader();
      way = '';
      turns.length = 0;
      turns.push(['open']);
      const s = base.net!.connect(host, port, { ...handlers, onData: (b) => (seen('down', b, down), handlers.onData(b)) });
      return { write: (b) => (seen('up', b, up), s.write(b)), close: () => s.close() };
    },
  };
  const card = new Card({ ...base, net }, { hubHost: `127.0.0.1:${h.devicePort}` });
  const ask = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
  return { card, turns, ask };
}

async function sync(c: ReturnType<typeof tracedCard>): Promise<string[]> {
  c.ask({ req: 'hub.sync' });
  while (c.card.engine!.running) await new Promise((r) => setTimeout(r, 5));
  const status = String(c.ask({ req: 'hub.sync.status' }).status);
  if (!status.includes('{sync-end}')) throw new Error(status);
  return c.turns.map((t) => t.join(' '));
}

const events = async (uid: string): Promise<number[]> => {
  const { token, projectUID } = h.bootstrap!;
  const r = await call(`${h.url}/v1/projects/${projectUID}/events?deviceUID=${uid}&files=sensors.qo&pageSize=1000`, token);
  return (r.body.events as { body: { seq: number } }[]).map((e) => e.body.seq).sort((a, b) => a - b);
};

describe('a periodic upload', () => {
  it('takes 3 round trips, handshake included: TCP open, HELLO / CHALLENGE, one flight each way', async () => {
    const c = tracedCard();
    c.ask({ req: 'hub.set', product: h.bootstrap!.productUID, mode: 'minimum' });
    // first contact provisions: nothing may go before the authenticated WELCOME
    await sync(c);
    for (let i = 0; i < 50; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + i / 10, seq: i } });
    const turns = await sync(c);
    expect(turns).toEqual([
      'open',
      'HELLO',
      '> CHALLENGE',
      'AUTH CATALOG NOTES DONE',
      '> WELCOME CATALOG_REPLY ACK DONE',
      'CLOSE',
    ]);
    const uid = String(c.ask({ req: 'hub.get' }).device);
    expect(await events(uid)).toEqual([...Array(50).keys()]);
    // nothing new: the same three
    expect(await sync(c)).toEqual(['open', 'HELLO', '> CHALLENGE', 'AUTH CATALOG DONE', '> WELCOME CATALOG_REPLY DONE', 'CLOSE']);
    c.card.shutdown();
  });

  it('a templated notefile sends its TEMPLATE in the flight until the hub confirms holding it', async () => {
    const c = tracedCard();
    c.ask({ req: 'hub.set', product: h.bootstrap!.productUID, mode: 'minimum' });
    await sync(c);
    c.ask({ req: 'note.template', file: 'sensors.qo', body: { temp: 14.1, seq: 14 } });
    for (let i = 1; i <= 5; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + i / 10, seq: i } });
    expect(await sync(c)).toEqual(['open', 'HELLO', '> CHALLENGE', 'AUTH TEMPLATE CATALOG NOTES DONE', '> WELCOME CATALOG_REPLY ACK DONE', 'CLOSE']);
    for (let i = 6; i <= 10; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + i / 10, seq: i } });
    expect(await sync(c)).toEqual(['open', 'HELLO', '> CHALLENGE', 'AUTH CATALOG NOTES DONE', '> WELCOME CATALOG_REPLY ACK DONE', 'CLOSE']);
    const uid = String(c.ask({ req: 'hub.get' }).device);
    expect(await events(uid)).toEqual([...Array(10).keys()].map((i) => i + 1)); // a template leaves out zeros
    c.card.shutdown();
  });
});
