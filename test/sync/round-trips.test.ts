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
import Database from 'better-sqlite3';
import { join } from 'node:path';
import * as nodeCrypto from 'node:crypto';
import { CardSession, HubSession } from '../../src/sync/session';
import { FEATURE_PIPELINE, FEATURE_SKIP } from '../../src/sync/messages';

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

/** Where to cut the next link: after this many frames written up, or received down (then no more). */
interface Cut { up?: number; down?: number }

/** Bytes of the whole frames at the start of `b` (the frame header is varint(n) type). */
function frameEnds(b: Uint8Array): number[] {
  const ends: number[] = [];
  let at = 0;
  for (;;) {
    let n = 0, scale = 1, h = at;
    for (;;) {
      if (h >= b.length) return ends;
      const x = b[h++];
      n += (x & 0x7f) * scale;
      scale *= 128;
      if (x < 0x80) break;
    }
    if (h + n > b.length) return ends;
    ends.push(at = h + n);
  }
}

/** A card whose link records the frame types of every turn (`>` marks what came down) and can
 * be cut at a frame boundary. */
function tracedCard(): { card: Card; turns: string[][]; cut: Cut; ask: (r: object) => Record<string, unknown> } {
  const base = nodeHost({ flash: new RamFlash({ size: 1024 * 1024 }), logLevel: 'silent', trustSystemClock: true });
  const turns: string[][] = [];
  const cut: Cut = {};
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
      const { up: upLeft = Infinity, down: downLeft = Infinity } = cut;
      let ups = upLeft;
      let downs = downLeft;
      let held = new Uint8Array(0);
      let dead = false;
      delete cut.up;
      delete cut.down;
      way = '';
      turns.length = 0;
      turns.push(['open']);
      const s = base.net!.connect(host, port, {
        ...handlers,
        onData: (b) => {
          if (dead) return;
          // down: pass whole frames while the budget lasts, then cut
          const all = new Uint8Array(held.length + b.length);
          all.set(held);
          all.set(b, held.length);
          const ends = frameEnds(all);
          const take = ends.slice(0, downs);
          const upto = take.length ? take[take.length - 1] : 0;
          downs -= take.length;
          held = all.slice(upto);
          if (upto) {
            seen('down', all.subarray(0, upto), down);
            handlers.onData(all.slice(0, upto));
          }
          if (downs <= 0 && !dead) {
            dead = true;
            s.close();
          }
        },
        onClose: (e) => handlers.onClose(e),
      });
      return {
        write: (b) => {
          if (dead) return;
          seen('up', b, up);
          s.write(b);
          if (--ups <= 0) {
            dead = true;
            s.close();
          }
        },
        close: () => s.close(),
      };
    },
  };
  const card = new Card({ ...base, net }, { hubHost: `127.0.0.1:${h.devicePort}` });
  const ask = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
  return { card, turns, cut, ask };
}

/** hub.sync; resolves when the session is over (its status, failed or not). */
async function attempt(c: ReturnType<typeof tracedCard>): Promise<string> {
  c.ask({ req: 'hub.sync' });
  while (c.card.engine!.running) await new Promise((r) => setTimeout(r, 5));
  return String(c.ask({ req: 'hub.sync.status' }).status);
}

async function sync(c: ReturnType<typeof tracedCard>): Promise<string[]> {
  const status = await attempt(c);
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

/** The hub's database, written behind its back (a restore from an older backup). */
function hubSql(sql: string, ...args: unknown[]): void {
  const db = new Database(join(dir, 'hub.sqlite'));
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

async function readyCard(): Promise<{ c: ReturnType<typeof tracedCard>; uid: string; add: (from: number, to: number) => void }> {
  const c = tracedCard();
  c.ask({ req: 'hub.set', product: h.bootstrap!.productUID, mode: 'minimum' });
  await sync(c);
  const add = (from: number, to: number) => {
    for (let i = from; i <= to; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + i / 10, seq: i } });
  };
  return { c, uid: String(c.ask({ req: 'hub.get' }).device), add };
}

describe('the rare cases of a pipelined flight', () => {
  it('the hub stored less than the card believes (a restored database): its NOTES are acknowledged short and go again from there', async () => {
    const { c, uid, add } = await readyCard();
    add(1, 10);
    await sync(c);
    hubSql('UPDATE sync_files SET up_until = 3 WHERE device_uid = ? AND file = ?', uid, 'sensors.qo');
    add(11, 15);
    expect(await sync(c)).toEqual([
      'open', 'HELLO', '> CHALLENGE', 'AUTH CATALOG NOTES DONE',
      '> WELCOME CATALOG_REPLY ACK DONE', 'NOTES', '> ACK', 'CLOSE',
    ]);
    expect(await events(uid)).toEqual([...Array(15).keys()].map((i) => i + 1));
    // and the next sync is back to one flight
    add(16, 16);
    expect((await sync(c)).length).toBe(6);
    expect(await events(uid)).toEqual([...Array(16).keys()].map((i) => i + 1));
    c.card.shutdown();
  });

  it('the hub lost a template the card believed it held: TEMPLATE on request, the records go again', async () => {
    const { c, uid, add } = await readyCard();
    c.ask({ req: 'note.template', file: 'sensors.qo', body: { temp: 14.1, seq: 14 } });
    add(1, 3);
    await sync(c);
    add(4, 6);
    await sync(c); // the hub confirms holding the template
    hubSql('DELETE FROM sync_templates WHERE device_uid = ?', uid);
    add(7, 9);
    expect(await sync(c)).toEqual([
      'open', 'HELLO', '> CHALLENGE', 'AUTH CATALOG NOTES DONE',
      '> WELCOME CATALOG_REPLY ACK DONE', 'TEMPLATE NOTES', '> ACK', 'CLOSE',
    ]);
    expect(await events(uid)).toEqual([...Array(9).keys()].map((i) => i + 1));
    c.card.shutdown();
  });

  it('a link cut after any frame of either flight: every note reaches the hub exactly once', async () => {
    const { c, uid, add } = await readyCard();
    let n = 0;
    for (const side of ['up', 'down'] as const) {
      for (let k = 1; k <= 6; k++) {
        add(n + 1, n + 30);
        n += 30;
        c.cut[side] = k;
        await attempt(c);
        // the retry may itself be needed twice if the cut left the card before its CLOSE
        let status = await attempt(c);
        if (!status.includes('{sync-end}')) status = await attempt(c);
        expect(status).toContain('{sync-end}');
        expect(await events(uid)).toEqual([...Array(n).keys()].map((i) => i + 1));
        expect(c.ask({ req: 'file.changes.pending' }).changes ?? 0).toBe(0);
      }
    }
    c.card.shutdown();
  });
});

describe('negotiation', () => {
  const random = { bytes: (k: number) => Uint8Array.from(nodeCrypto.randomBytes(k)) };
  const hub = (features?: number) => new HubSession({
    hubEpoch: new Uint8Array(8), random, now: () => 0, features,
    lookup: () => ({ status: 'known', secret: new Uint8Array(32), project: 'p' }),
  });
  const card = (features: number) => new CardSession({
    uid: 'dev:1', sn: '', product: 'x', secret: new Uint8Array(32), cardEpoch: new Uint8Array(8), random, mayProvision: false, features,
  });

  it('a card that does not ask gets the CHALLENGE of before (flags 0) and no early frames', () => {
    const hs = hub();
    const out = hs.receive(card(FEATURE_SKIP).start());
    const challenge = out.send[0];
    expect(challenge[challenge.length - 3]).toBe(0); // flags, then varint maxFrame 4096 (2 bytes)
  });

  it('a hub that does not offer it: the card waits for WELCOME as before', () => {
    const hs = hub(FEATURE_SKIP);
    const cs = card(FEATURE_PIPELINE | FEATURE_SKIP);
    const out = cs.receive(hs.receive(cs.start()).send[0]);
    expect(out.events.map((e) => e.type)).toEqual([]);
    expect(() => cs.send({ type: 'done' })).toThrow('cannot send');
    const welcome = hs.receive(out.send[0]);
    expect(cs.receive(welcome.send[0]).events[0]).toMatchObject({ type: 'established', info: { features: FEATURE_SKIP } });
  });

  it('a hub that offers it: frames may follow AUTH at once', () => {
    const hs = hub();
    const cs = card(FEATURE_PIPELINE);
    const out = cs.receive(hs.receive(cs.start()).send[0]);
    expect(out.events.map((e) => e.type)).toEqual(['keyed']);
    const early = cs.send({ type: 'done' });
    const got = hs.receive(new Uint8Array([...out.send[0], ...early]));
    expect(got.events.map((e) => (e.type === 'message' ? e.message.type : e.type))).toEqual(['established', 'done']);
    expect(cs.receive(got.send[0]).events[0]).toMatchObject({ type: 'established', info: { features: FEATURE_PIPELINE } });
  });
});
