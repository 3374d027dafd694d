/**
 * Exactly-once through the real listener: a scripted sync (notes up as JSON and templated
 * records, database edits up, .qi notes down) cut after every few bytes, at 200+ points spread
 * over every phase and inside frames; then a hub process killed mid-sync and restarted on its
 * database. After reconnecting every note is stored exactly once on each side.
 */
import { startHub, type RunningHub } from '../../hub/server';
import { CardState, syncOnce } from './card';
import { call, removeDir, spawnHub, tempDir } from './helpers';

const quiet = { log: (): void => undefined };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const UP = 13;
const DOWN = 9;

describe('exactly-once through the listener across cut links', () => {
  let dir: string;
  let h: RunningHub;
  let product: string;
  beforeAll(async () => {
    dir = tempDir('listener-faults');
    h = await startHub({ dataDir: dir, port: 0, devicePort: 0, ...quiet });
    product = h.bootstrap!.productUID;
  });
  afterAll(async () => {
    await h.close();
    removeDir(dir);
  });

  /** A provisioned device with notes to send up (JSON, templated, database) and .qi notes waiting. */
  async function scenario(uid: string): Promise<CardState> {
    const card = new CardState(uid, product);
    card.provisionAllowed = false; // provisioned beforehand: it will not offer its secret
    await h.hub.devices.provisionDevice(product, uid, { secret: hex(card.secret) });
    card.setTemplate('temps.qo', { n: 22, t: 14.1 });
    for (let i = 1; i <= UP; i++) card.add(i % 3 === 0 ? 'temps.qo' : 'sensors.qo', { n: i, t: i + 0.5 }, 1_700_000_000 + i);
    card.dbPut('state.db', 'x', { v: 1 }, 1_700_000_000);
    card.dbPut('state.db', 'y', { v: 2 }, 1_700_000_000);
    for (let i = 1; i <= DOWN; i++) await h.hub.notes.addInbound(uid, 'data.qi', { q: i }, undefined);
    return card;
  }

  async function check(card: CardState, extra: number): Promise<void> {
    const page = await h.hub.store.events({ projectUID: h.bootstrap!.projectUID, deviceUIDs: [card.uid], files: ['sensors.qo', 'temps.qo'], limit: 1000 });
    const ns = page.json.map((j) => (JSON.parse(j) as { body: { n: number } }).body.n).sort((a, b) => a - b);
    expect(ns).toEqual(Array.from({ length: UP + extra }, (_, i) => i + 1));
    expect(card.file('sensors.qo').outbox.size + card.file('temps.qo').outbox.size).toBe(0);
    expect(card.applied.filter((a) => a.startsWith('data.qi/'))).toHaveLength(DOWN);
    expect([...card.file('data.qi').inbox.values()].map((n) => (n.body as { q: number }).q).sort((a, b) => a - b)).toEqual(Array.from({ length: DOWN }, (_, i) => i + 1));
    expect(await h.hub.store.pendingInbound(card.uid)).toEqual([]);
    const db = await h.hub.store.notes(card.uid, 'state.db', false);
    expect(db.map((n) => [n.id, n.body])).toEqual([['x', { v: 1 }], ['y', { v: 2 }]]);
    expect([...card.file('state.db').db.values()].every((d) => !d.dirty)).toBe(true);
    // the trackers themselves, not only the upload keys behind them: upUntil committed to the last counter
    const { upUntil } = await h.hub.store.syncDevice(card.uid);
    for (const f of ['sensors.qo', 'temps.qo', 'state.db']) expect(upUntil[f]).toBe(card.file(f).counter);
  }

  it('an uncut sync moves everything and closes', async () => {
    const card = await scenario('dev:uncut');
    const r = await syncOnce(card, { port: h.devicePort!, perFrame: 2 });
    expect(r.completed).toBe(true);
    await check(card, 0);
  });

  it('cut at 200+ points (message boundaries and inside frames), reconnect: every note exactly once', async () => {
    const total = (await syncOnce(await scenario('dev:measure'), { port: h.devicePort!, perFrame: 2 })).bytes;
    expect(total).toBeGreaterThan(1000);
    const points = 215;
    const step = total / points;
    let cuts = 0;
    for (let k = 0; k < points; k++) {
      const budget = Math.floor(k * step) + (k % 3); // odd offsets land inside frames as well as on their edges
      const card = await scenario(`dev:cut${k}`);
      const cut = await syncOnce(card, { port: h.devicePort!, budget, perFrame: 2 });
      if (!cut.completed) cuts++; // the last few points only cut the final CLOSE
      card.add('sensors.qo', { n: UP + 1, t: 0 }); // made while offline
      const again = await syncOnce(card, { port: h.devicePort!, perFrame: 2 });
      expect(again.completed).toBe(true);
      await check(card, 1);
    }
    expect(cuts).toBeGreaterThanOrEqual(200);
  });
});

describe('a hub process restarted mid-sync', () => {
  it('is survived: after reconnecting every note is stored exactly once', async () => {
    const dir = tempDir('listener-restart');
    let hub = await spawnHub(dir);
    const { token, projectUID, productUID } = hub; // printed on the first start only
    try {
      let total = 0;
      for (const fraction of [0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9]) {
        const card = new CardState(`dev:restart${fraction * 100}`, productUID);
        for (let i = 1; i <= 30; i++) card.add('sensors.qo', { n: i });
        await syncOnce(card, { port: hub.devicePort }); // provisioned, nothing pending
        for (let i = 1; i <= 6; i++) {
          expect((await call(`${hub.url}/v1/projects/${projectUID}/devices/${card.uid}/notes/data.qi`, token, 'POST', { body: { q: i } })).status).toBe(200);
        }
        for (let i = 31; i <= 50; i++) card.add('sensors.qo', { n: i });
        const victim = hub;
        // the card stalls after a share of the exchange's bytes; the hub process is killed with the session open
        const r = await syncOnce(card, {
          port: hub.devicePort, perFrame: 2, budget: fraction === 0 ? Infinity : Math.floor(total * fraction),
          onStall: () => victim.child.kill('SIGKILL'),
        });
        if (fraction === 0) { // the first round measures, then kills the hub between sessions
          total = r.bytes;
          victim.child.kill('SIGKILL');
        } else expect(r.completed).toBe(false);
        await new Promise<void>((ok) => { if (victim.child.exitCode !== null || victim.child.signalCode !== null) ok(); else victim.child.once('exit', () => ok()); });
        hub = await spawnHub(dir);
        expect((await syncOnce(card, { port: hub.devicePort, perFrame: 2 })).completed).toBe(true);
        const ev = await call(`${hub.url}/v1/projects/${projectUID}/events?deviceUID=${card.uid}&files=sensors.qo&pageSize=1000`, token);
        const ns = (ev.body.events as { body: { n: number } }[]).map((e) => e.body.n).sort((a, b) => a - b);
        expect(ns).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(card.applied).toHaveLength(6);
        expect(card.file('sensors.qo').outbox.size).toBe(0);
      }
    } finally {
      await hub.stop();
      removeDir(dir);
    }
  });
});
