// Two hub processes (notehub-lite serve --db postgres://...) on one PostgreSQL, behind one TCP
// balancer for the device port: a change made through one hub's API reaches a card connected to
// the other in its open session (LISTEN/NOTIFY; no hub polls), and killing one hub while cards
// sync through both loses and duplicates nothing.
import { Card } from '../../src/card';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost } from '../../hosts/node/node-host';
import pg from 'pg';
import { call, type Spawned } from '../hub/helpers';
import type { Balancer } from '../support/balancer';
import { startCluster, type Cluster } from '../support/cluster';
import { sleep } from '../support/wait';

let cluster: Cluster;
let a: Spawned;
let b: Spawned;
let lb: Balancer;
const cards: Card[] = [];

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function newCard(): Card {
  const host = nodeHost({ flash: new RamFlash({ size: 256 * 1024 }), logLevel: 'silent', trustSystemClock: true });
  const card = new Card(host, { hubHost: `127.0.0.1:${lb.port}` });
  cards.push(card);
  req(card, { req: 'hub.set', product: a.productUID, mode: 'minimum' });
  return card;
}

function req(card: Card, r: object): Record<string, unknown> {
  return JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
}

/** hub.sync and wait for its end; the status line. */
async function syncOnce(card: Card): Promise<string> {
  req(card, { req: 'hub.sync' });
  await until('the sync to end', () => !card.engine!.running);
  return String(req(card, { req: 'hub.sync.status' }).status);
}

beforeAll(async () => {
  cluster = await startCluster();
  ({ a, b, balancer: lb } = cluster);
}, 60_000);

afterAll(async () => {
  for (const c of cards) c.shutdown();
  await cluster?.stop();
});

it('pushes an inbound note and an environment change made through one hub to a card connected to the other', async () => {
  const card = newCard();
  lb.pin = 1; // the card's session is on hub B; the API calls go to hub A
  expect(await syncOnce(card)).toContain('{sync-end}');
  const uid = card.deviceUID;
  req(card, { req: 'hub.set', mode: 'continuous' });
  await until('the continuous session', () => req(card, { req: 'hub.status' }).connected === true);
  expect(lb.chosen.at(-1)).toBe(1);
  const api = (path: string, method: string, body: unknown) => call(`${a.url}/v1/projects/${a.projectUID}/devices/${uid}${path}`, a.token, method, body);

  expect((await api('/notes/data.qi', 'POST', { body: { push: 1 } })).status).toBe(200);
  const got = await until('the pushed note', () => { const r = req(card, { req: 'note.get', file: 'data.qi', delete: true }); return r.err ? undefined : r; });
  expect(got.body).toEqual({ push: 1 });

  expect((await api('/environment_variables', 'PUT', { environment_variables: { rate: '42' } })).status).toBe(200);
  await until('the pushed environment', () => req(card, { req: 'env.get', name: 'rate' }).text === '42');
  // still the one session it opened on hub B: nothing reached it any other way
  expect(lb.chosen.filter((i) => i === 1).length).toBe(lb.chosen.length);
  req(card, { req: 'hub.set', mode: 'minimum' });
  await until('the session to end', () => req(card, { req: 'hub.status' }).connected === false);
}, 60_000);

it('ends a session left open on one hub when its card connects to the other (one session per device)', async () => {
  const card = newCard();
  lb.pin = 1;
  req(card, { req: 'hub.set', mode: 'continuous' });
  await until('the session on hub B', () => req(card, { req: 'hub.status' }).connected === true);
  // the card's link dies without either side closing it; the card comes back through hub A
  lb.pin = 0;
  lb.strand();
  await until('the session on hub A', () => lb.chosen.at(-1) === 0 && req(card, { req: 'hub.status' }).connected === true);
  const db = new pg.Client({ connectionString: cluster.db });
  await db.connect();
  try {
    const reasons = await until('the stale session to end', async () => {
      const r = await db.query('SELECT reason FROM sync_sessions WHERE device_uid = $1 AND ended IS NOT NULL', [card.deviceUID]);
      return r.rows.length ? r.rows.map((x: { reason: string }) => x.reason) : undefined;
    }, 10_000);
    expect(reasons).toEqual(['replaced by a newer connection to another hub process']);
  } finally { await db.end(); }
  req(card, { req: 'hub.set', mode: 'minimum' });
  await until('the session to end', () => req(card, { req: 'hub.status' }).connected === false);
}, 60_000);

it('a signal sent through one hub reaches a card connected to the other, and the API says it did', async () => {
  const card = newCard();
  lb.pin = 1; // the card's session is on hub B; the API calls go to hub A
  expect(await syncOnce(card)).toContain('{sync-end}');
  req(card, { req: 'hub.set', mode: 'continuous' });
  await until('the continuous session', () => req(card, { req: 'hub.status' }).connected === true);
  const signal = (body: object) => call(`${a.url}/v1/projects/${a.projectUID}/devices/${card.deviceUID}/signal`, a.token, 'POST', { body });
  expect(await signal({ led: 'on' })).toMatchObject({ status: 200, body: { connected: true } });
  const got = await until('the signal', () => { const r = req(card, { req: 'hub.signal' }); return r.body ? r : undefined; });
  expect(got.body).toEqual({ led: 'on' });
  req(card, { req: 'hub.set', mode: 'minimum' });
  await until('the session to end', () => req(card, { req: 'hub.status' }).connected === false);
  // no session on any hub: not delivered, and said so
  expect(await signal({ led: 'off' })).toMatchObject({ status: 200, body: { connected: false } });
}, 60_000);

it('the event stream of one hub carries the events stored through the other', async () => {
  const card = newCard();
  expect(await syncOnce(card)).toContain('{sync-end}');
  const ac = new AbortController();
  const res = await fetch(`${b.url}/v1/projects/${a.projectUID}/events/stream`, { headers: { Authorization: `Bearer ${a.token}` }, signal: ac.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let text = '';
  const readUntil = async (what: string): Promise<void> => {
    while (!text.includes(what)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${what}`);
      text += Buffer.from(value).toString();
    }
  };
  try {
    await readUntil(': stream open');
    const up = await call(`${a.url}/v1/projects/${a.projectUID}/devices/${card.deviceUID}/events`, a.token, 'POST', { file: 'streamed.qo', body: { n: 7 } });
    expect(up.status).toBe(200);
    await readUntil('streamed.qo');
    const line = text.split('\n').find((l) => l.startsWith('data: ') && l.includes('streamed.qo'))!;
    expect(JSON.parse(line.slice(6))).toMatchObject({ device: card.deviceUID, file: 'streamed.qo', body: { n: 7 } });
  } finally { ac.abort(); }
}, 60_000);

it('delivers every note exactly once when one of two hubs is killed while cards sync through both', async () => {
  lb.pin = undefined; // round robin: each sync may land on either hub
  const fleet = [newCard(), newCard(), newCard()];
  const added = fleet.map(() => 0);
  const uids = fleet.map((c) => c.deviceUID);
  let killed = false;
  const rounds = 8;
  await Promise.all(fleet.map(async (card, k) => {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 5; i++) req(card, { req: 'note.add', file: 'up.qo', body: { card: k, n: added[k]++ } });
      if (k === 0 && round === 3 && !killed) {
        // hub B dies mid-run, with syncs of the other cards in flight; the balancer drops it
        killed = true;
        b.child.kill('SIGKILL');
        lb.backends[1] = 0;
      }
      await syncOnce(card);
    }
  }));
  expect(killed).toBe(true);
  expect(new Set(lb.chosen)).toEqual(new Set([0, 1]));
  // clean syncs through the hub left: whatever was cut is sent again, and stored once
  for (const card of fleet) {
    let status = '';
    for (let i = 0; i < 5 && !status.includes('{sync-end}'); i++) status = await syncOnce(card);
    expect(status).toContain('{sync-end}');
    expect(Number(req(card, { req: 'file.changes.pending' }).total ?? 0)).toBe(0);
  }
  const r = await call(`${a.url}/v1/projects/${a.projectUID}/events?files=up.qo&pageSize=1000`, a.token);
  const events = r.body.events as { device: string; body: { card: number; n: number } }[];
  fleet.forEach((_, k) => {
    const ns = events.filter((e) => e.device === uids[k]).map((e) => e.body.n).sort((x, y) => x - y);
    expect(ns).toEqual([...Array(added[k]).keys()]);
  });
}, 120_000);
