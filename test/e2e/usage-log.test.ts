// card.usage.get counts what the sync engine really moved, and keeps it across restarts;
// hub.log's messages reach the hub as events of the system notefile _health_host.qo.
// The card's engine against the real hub in this process, over loopback TCP.
import { Card } from '../../src/card';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

type Data = Record<string, any>;

let running: RunningHub;

beforeAll(async () => {
  running = await startHub({ dataDir: tempDir('opencard-usage-'), port: 0, devicePort: 0, log: () => {} });
});
afterAll(async () => {
  await running?.close();
});

function newCard(flash = new RamFlash({ size: 256 * 1024 })): { card: Card; req: (r: object) => Data; flash: RamFlash } {
  const host = { ...nodeHost({ flash, logLevel: 'silent', trustSystemClock: true, binaryMax: 16384 }), net: nodeNet };
  const card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  const req = (r: object): Data => JSON.parse(card.request(JSON.stringify(r)).text!);
  return { card, req, flash };
}

async function syncOnce(c: { card: Card; req: (r: object) => Data }): Promise<Data> {
  c.req({ req: 'hub.sync' });
  for (let i = 0; i < 1000 && c.card.engine!.running; i++) await sleep(5);
  return c.req({ req: 'hub.sync.status' });
}

async function events(uid: string, file: string): Promise<Data[]> {
  const b = running.bootstrap!;
  const res = await fetch(`${running.url}/v1/projects/${b.projectUID}/events?deviceUID=${encodeURIComponent(uid)}&files=${encodeURIComponent(file)}&pageSize=1000`, {
    headers: { Authorization: `Bearer ${b.token}` },
  });
  return ((await res.json()) as Data).events as Data[];
}

it('hub.log messages sync to the hub; card.usage.get counts bytes, notes and sessions and keeps them', async () => {
  const c = newCard();
  c.req({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  expect(c.req({ req: 'card.usage.get' })).toEqual({
    bytes_sent: 0, bytes_received: 0, notes_sent: 0, notes_received: 0, sessions_standard: 0, sessions_secure: 0,
  });
  expect(c.req({ req: 'hub.log', text: 'pump failed', alert: true })).toEqual({});
  expect(c.req({ req: 'hub.log', text: 'all well' })).toEqual({});
  expect(c.req({ req: 'note.add', body: { n: 1 } })).toEqual({ total: 1 });
  expect((await syncOnce(c)).status).toContain('{sync-end}');

  const logged = await events(c.card.deviceUID, '_health_host.qo');
  expect(logged.map((e) => e.body)).toEqual([{ text: 'pump failed', alert: true }, { text: 'all well' }]);

  const u1 = c.req({ req: 'card.usage.get' });
  expect(u1).toMatchObject({ notes_sent: 3, notes_received: 0, sessions_standard: 0, sessions_secure: 1 });
  expect(u1.bytes_sent).toBeGreaterThan(100);
  expect(u1.bytes_received).toBeGreaterThan(50);
  expect(u1.time).toBeGreaterThan(1_700_000_000);

  // An inbound note from the hub counts as received.
  const b = running.bootstrap!;
  const add = await fetch(`${running.url}/v1/projects/${b.projectUID}/devices/${encodeURIComponent(c.card.deviceUID)}/notes/data.qi`, {
    method: 'POST', headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ body: { cmd: 'go' } }),
  });
  expect(add.status).toBeLessThan(300);
  expect((await syncOnce(c)).status).toContain('{sync-end}');
  const u2 = c.req({ req: 'card.usage.get' });
  expect(u2).toMatchObject({ notes_sent: 3, notes_received: 1, sessions_secure: 2 });
  expect(u2.bytes_sent).toBeGreaterThan(u1.bytes_sent);
  expect(u2.bytes_received).toBeGreaterThan(u1.bytes_received);
  // This hour and this day hold it all.
  expect(c.req({ req: 'card.usage.get', mode: '1hour' })).toMatchObject({ seconds: 3600, notes_sent: 3, bytes_sent: u2.bytes_sent });
  expect(c.req({ req: 'card.usage.get', mode: '1day', offset: 1 })).toMatchObject({ seconds: 86400, bytes_sent: 0, sessions_secure: 0 });

  // A restart keeps the counts.
  c.card.shutdown();
  const again = newCard(c.flash);
  expect(again.req({ req: 'card.usage.get' })).toMatchObject({ bytes_sent: u2.bytes_sent, bytes_received: u2.bytes_received, sessions_secure: 2, notes_received: 1 });
  const test = again.req({ req: 'card.usage.test', days: 1, megabytes: 1 });
  expect(test).toMatchObject({ days: 1, seconds: 86400, bytes_per_day: u2.bytes_sent + u2.bytes_received });
  expect(test.max).toBe(Math.floor(1048576 / test.bytes_per_day));
  again.card.shutdown();
});
