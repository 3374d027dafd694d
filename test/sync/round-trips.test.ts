// Syncs that respect the radio (issue 14 step 5, docs/SYNC.md section 4.7): the frames of each
// turn of a periodic sync between the card's engine and the hub's listener over loopback TCP.
// A turn is what one side writes before the other answers; round trips = turns the card opens.
import { Card } from '../../src/card';
import type { HostInfo, Net, NetHandlers } from '../../src/host';
import { FrameReader } from '../../src/sync/frame';
import { MESSAGE_TYPES } from '../../src/sync/messages';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { call, removeDir, tempDir } from '../hub/helpers';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import * as nodeCrypto from 'node:crypto';
import { connect } from 'node:net';
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
function tracedCard(flash = new RamFlash({ size: 1024 * 1024 }), info: Partial<HostInfo> = {}): { card: Card; flash: RamFlash; turns: string[][]; written: Uint8Array[]; cut: Cut; ask: (r: object) => Record<string, unknown> } {
  const written: Uint8Array[] = [];
  const base = nodeHost({ flash, logLevel: 'silent', trustSystemClock: true });
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
      written.length = 0;
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
          written.push(b.slice());
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
  const card = new Card({ ...base, net, info: { ...base.info, ...info } }, { hubHost: `127.0.0.1:${h.devicePort}` });
  const ask = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
  return { card, flash, turns, written, cut, ask };
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

/** The hub's database, written behind its back (a restore from an older backup). */
function hubSql(sql: string, ...args: unknown[]): void {
  const db = new Database(join(dir, 'hub.sqlite'));
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

async function readyCard(info: Partial<HostInfo> = {}): Promise<{ c: ReturnType<typeof tracedCard>; uid: string; add: (from: number, to: number) => void }> {
  const c = tracedCard(undefined, info);
  c.ask({ req: 'hub.set', product: h.bootstrap!.productUID, mode: 'minimum' });
  await sync(c);
  const add = (from: number, to: number) => {
    for (let i = from; i <= to; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { temp: 20 + i / 10, seq: i } });
  };
  return { c, uid: String(c.ask({ req: 'hub.get' }).device), add };
}

type Traced = ReturnType<typeof tracedCard>;

/** The message name of a frame written whole. */
const typeOf = (b: Uint8Array): string => {
  let h = 0;
  while (b[h] & 0x80) h++;
  return NAMES.get(b[h + 1] & 0x7f) ?? '?';
};

/** Bytes sent to the hub's device port by someone else: the frames it answers with until it
 * has answered once (or closes). */
function replay(bytes: Uint8Array): Promise<string[]> {
  return new Promise((done) => {
    const socket = connect(h.devicePort!, '127.0.0.1');
    const reader = new FrameReader();
    const got: string[] = [];
    socket.on('data', (d: Buffer) => {
      for (const f of reader.push(new Uint8Array(d))) got.push(NAMES.get(f.type & 0x7f) ?? '?');
      if (got.length) socket.destroy();
    });
    socket.on('close', () => done(got));
    socket.write(bytes);
  });
}

function hubCount(sql: string, ...args: unknown[]): number {
  const db = new Database(join(dir, 'hub.sqlite'), { readonly: true });
  try {
    return Number((db.prepare(sql).get(...args) as { n: number }).n);
  } finally {
    db.close();
  }
}

/** The card forgets its session ticket: the next sync makes a full handshake. */
function forgetTicket(c: Traced): void {
  const { ticket: _t, resume: _r, ...state } = c.card.settings.get('sync') ?? {};
  c.card.settings.set('sync', state);
}

const seqs = (from: number, to: number): number[] => [...Array(to - from + 1).keys()].map((i) => i + from);

/** The turns of a sync whose first flight is `up` and the hub's answer `down`, then `after`. */
function trace(mode: 'resumed' | 'full', up: string, down: string, ...after: string[]): string[] {
  return mode === 'resumed'
    ? ['open', `RESUME ${up}`, `> RESUMED ${down}`, ...after]
    : ['open', 'HELLO', '> CHALLENGE', `AUTH ${up}`, `> WELCOME ${down}`, ...after];
}

describe.each(['full', 'resumed'] as const)('a periodic upload (%s)', (mode) => {
  const run = (c: Traced): Promise<string[]> => {
    if (mode === 'full') forgetTicket(c);
    return sync(c);
  };

  it(`takes ${mode === 'full' ? 3 : 2} round trips, handshake included`, async () => {
    const { c, uid, add } = await readyCard();
    add(1, 50);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 50));
    // nothing new
    expect(await run(c)).toEqual(trace(mode, 'CATALOG DONE', 'CATALOG_REPLY DONE', 'CLOSE'));
    // 500 notes: two frames in flight at once
    add(51, 550);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES NOTES DONE', 'CATALOG_REPLY ACK ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 550));
    c.card.shutdown();
  });

  it('a host with room for one frame in flight (the Moddable card): still one flight when the notes fit a frame, then a frame per ACK', async () => {
    const { c, uid, add } = await readyCard({ notesPerFrame: 64, framesInFlight: 1 });
    add(1, 50);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    // 150 notes in 3 frames: the flight carries one (and DONE, which ends early data), the rest go a frame per ACK
    add(51, 200);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'NOTES', '> ACK', 'NOTES', '> ACK', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 200));
    c.card.shutdown();
  });

  it('a templated notefile sends its TEMPLATE in the flight until the hub confirms holding it', async () => {
    const { c, uid, add } = await readyCard();
    c.ask({ req: 'note.template', file: 'sensors.qo', body: { temp: 14.1, seq: 14 } });
    add(1, 5);
    expect(await run(c)).toEqual(trace(mode, 'TEMPLATE CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    add(6, 10);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 10)); // (a template leaves out zeros: the seqs start at 1)
    c.card.shutdown();
  });

  it('the hub stored less than the card believes (a restored database): NOTES acknowledged short go again from there', async () => {
    const { c, uid, add } = await readyCard();
    add(1, 10);
    await run(c);
    hubSql('UPDATE sync_files SET up_until = 3 WHERE device_uid = ? AND file = ?', uid, 'sensors.qo');
    add(11, 15);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'NOTES', '> ACK', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 15));
    add(16, 16);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 16));
    c.card.shutdown();
  });

  it('the hub lost a template the card believed it held: TEMPLATE on request, the records go again', async () => {
    const { c, uid, add } = await readyCard();
    c.ask({ req: 'note.template', file: 'sensors.qo', body: { temp: 14.1, seq: 14 } });
    add(1, 3);
    await run(c);
    add(4, 6);
    await run(c); // the hub confirms holding the template
    hubSql('DELETE FROM sync_templates WHERE device_uid = ?', uid);
    add(7, 9);
    expect(await run(c)).toEqual(trace(mode, 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'TEMPLATE NOTES', '> ACK', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 9));
    c.card.shutdown();
  });

  it('a link cut after any frame of either flight: every note reaches the hub exactly once', async () => {
    const { c, uid, add } = await readyCard();
    let n = 0;
    for (const side of ['up', 'down'] as const) {
      for (let k = 1; k <= 6; k++) {
        add(n + 1, n + 30);
        n += 30;
        if (mode === 'full') forgetTicket(c);
        c.cut[side] = k;
        await attempt(c);
        // a cut before the CLOSE may leave the retry a turn short of the hub's view: once more then
        let status = await attempt(c);
        if (!status.includes('{sync-end}')) status = await attempt(c);
        expect(status).toContain('{sync-end}');
        expect(await events(uid)).toEqual(seqs(1, n));
        expect(c.ask({ req: 'file.changes.pending' }).changes ?? 0).toBe(0);
      }
    }
    c.card.shutdown();
  });
});

describe('first contact', () => {
  it('provisioning waits for the authenticated WELCOME, then the whole flight goes at once', async () => {
    const c = tracedCard();
    c.ask({ req: 'hub.set', product: h.bootstrap!.productUID, mode: 'minimum' });
    for (let i = 1; i <= 5; i++) c.ask({ req: 'note.add', file: 'sensors.qo', body: { seq: i } });
    expect(await sync(c)).toEqual(['open', 'HELLO', '> CHALLENGE', 'PROVISION AUTH', '> WELCOME', 'CATALOG NOTES DONE', '> CATALOG_REPLY ACK DONE', 'CLOSE']);
    expect(await events(String(c.ask({ req: 'hub.get' }).device))).toEqual(seqs(1, 5));
    c.card.shutdown();
  });
});

describe('session resumption', () => {
  const fallback = (up: string, down: string, ...after: string[]) => ['open', `RESUME ${up}`, '> CHALLENGE', `AUTH ${up}`, `> WELCOME ${down}`, ...after];

  it('the ticket survives a restart of the card', async () => {
    const { c, uid } = await readyCard();
    c.card.shutdown();
    const again = tracedCard(c.flash);
    for (let i = 1; i <= 3; i++) again.ask({ req: 'note.add', file: 'sensors.qo', body: { seq: i } });
    expect(await sync(again)).toEqual(trace('resumed', 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 3));
    again.card.shutdown();
  });

  it('a ticket the hub does not hold (lost, or forged): a full handshake in the same connection, the early data unread', async () => {
    const { c, uid, add } = await readyCard();
    add(1, 5);
    hubSql('DELETE FROM sync_tickets WHERE device_uid = ?', uid);
    expect(await sync(c)).toEqual(fallback('CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 5));
    add(6, 6);
    expect(await sync(c)).toEqual(trace('resumed', 'CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 6));
    c.card.shutdown();
  });

  it('an expired ticket: a full handshake', async () => {
    const { c, uid, add } = await readyCard();
    hubSql('UPDATE sync_tickets SET issued = issued - 8 * 24 * 3600 WHERE device_uid = ?', uid);
    add(1, 2);
    expect(await sync(c)).toEqual(fallback('CATALOG NOTES DONE', 'CATALOG_REPLY ACK DONE', 'CLOSE'));
    expect(await events(uid)).toEqual(seqs(1, 2));
    c.card.shutdown();
  });

  it('a stolen ticket name without its secret: refused {auth}, nothing applied, nothing of the device changed', async () => {
    const { c, uid, add } = await readyCard();
    const state = c.card.settings.get('sync')!;
    const sessions = () => hubCount('SELECT count(*) AS n FROM sync_sessions WHERE device_uid = ?', uid);
    const before = sessions();
    c.card.settings.set('sync', { ...state, resume: 'ab'.repeat(32) });
    add(1, 4);
    expect(await attempt(c)).toContain('{auth}');
    expect(await events(uid)).toEqual([]);
    expect(sessions()).toBe(before); // not even a session record: nothing before the early data opened
    // the card forgot the ticket in doubt: a full handshake, everything once
    expect((await sync(c)).slice(0, 3)).toEqual(['open', 'HELLO', '> CHALLENGE']);
    expect(await events(uid)).toEqual(seqs(1, 4));
    c.card.shutdown();
  });

  it('replayed early data: the hub has replaced the ticket; it answers CHALLENGE and applies nothing again', async () => {
    const { c, uid, add } = await readyCard();
    add(1, 5);
    await sync(c);
    expect(await events(uid)).toEqual(seqs(1, 5));
    // what the card wrote through its first DONE: RESUME and the early data, as recorded off the air
    const flight = c.written.slice(0, c.written.findIndex((b) => typeOf(b) === 'DONE') + 1);
    expect(flight.map(typeOf)).toEqual(['RESUME', 'CATALOG', 'NOTES', 'DONE']);
    expect(await replay(Buffer.concat(flight))).toEqual(['CHALLENGE']);
    expect(await events(uid)).toEqual(seqs(1, 5));
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
