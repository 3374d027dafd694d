// A card whose store is full (templated queues whose template keeps changing) still syncs: the
// hub's acknowledgements drain its queues even while what the hub sends down (inbound notes,
// environment variables) has no room yet; once there is room, the next sync brings those.
import { Card } from '../../src/card';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../../hosts/node/node-host';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { removeDir } from '../hub/helpers';
import { sleep } from '../support/wait';

let running: RunningHub;
let dir: string;
let card: Card;

function request(req: object): Record<string, any> {
  return JSON.parse(card.request(JSON.stringify(req)).text!);
}

async function syncOnce(): Promise<string> {
  request({ req: 'hub.sync' });
  for (let i = 0; i < 1000 && card.engine!.running; i++) await sleep(5);
  return String(request({ req: 'hub.sync.status' }).status);
}

async function api(method: string, path: string, body?: object): Promise<number> {
  const b = running.bootstrap!;
  const res = await fetch(`${running.url}/v1/projects/${b.projectUID}${path}`, {
    method,
    headers: { Authorization: `Bearer ${b.token}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

beforeAll(async () => {
  dir = tempDir('opencard-full-');
  running = await startHub({ dataDir: dir, port: 0, devicePort: 0, log: () => {} });
  const host = { ...nodeHost({ flash: new RamFlash({ size: 12 * 1024, blockSize: 1024 }), logLevel: 'silent', trustSystemClock: true }), net: nodeNet };
  card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
});

afterAll(async () => {
  card?.shutdown();
  await running?.close();
  removeDir(dir);
});

it('drains a full card through the hub, then takes what the hub had for it', async () => {
  expect(await syncOnce()).toContain('{sync-end}');
  const templates = [{ t: 12.1, s: '12' }, { s: '12', t: 24, n: 22 }];
  let full = 0;
  let added = 0;
  for (let i = 0; full < 20; i++) {
    if (i % 25 === 0) request({ req: 'note.template', file: 's.qo', body: templates[(i / 25) % 2], port: 5 });
    const r = i % 3 ? request({ req: 'note.add', file: 's.qo', body: { t: i % 90, s: 'n' + i } }) : request({ req: 'note.add', file: 'p.qo', body: { i, pad: 'p'.repeat(i % 80) } });
    if (String(r.err).includes('{storage-full}')) full++;
    else if (r.err === undefined) added++;
  }
  expect(card.store.check()).toEqual([]);
  // The hub has things for the card that cannot be stored yet.
  const device = card.deviceUID;
  for (let n = 0; n < 5; n++) expect(await api('POST', `/devices/${device}/notes/data.qi`, { body: { n } })).toBeLessThan(300);

  let status = await syncOnce();
  for (let i = 0; i < 3 && !status.includes('{sync-end}'); i++) status = await syncOnce();
  expect(status).toContain('{sync-end}');
  expect(request({ req: 'file.changes.pending' })).toEqual({ changes: 0, total: 0 });
  expect(added).toBeGreaterThan(100);
  expect(card.store.check()).toEqual([]);

  // Now there is room: the next sync brings the inbound notes and the variable.
  expect(await syncOnce()).toContain('{sync-end}');
  const got: number[] = [];
  for (let n = 0; n < 6; n++) {
    const r = request({ req: 'note.get', file: 'data.qi', delete: true });
    if (r.body) got.push(r.body.n);
  }
  expect(got).toEqual([0, 1, 2, 3, 4]);
}, 60_000);

it('completes a sync while the card has no room for what the hub sends, and takes it once there is room', async () => {
  request({ req: 'note.add', file: 'out.qo', body: { hello: 1 } });
  // Local-only notes fill the store: acknowledgements free almost nothing.
  let full = 0;
  for (let i = 0; full < 5; i++) {
    const r = request({ req: 'note.add', file: 'local.dbx', note: 'n' + i, body: { pad: 'p'.repeat(120) } });
    if (String(r.err).includes('{storage-full}')) full++;
  }
  const device = card.deviceUID;
  for (let n = 10; n < 13; n++) expect(await api('POST', `/devices/${device}/notes/data.qi`, { body: { n, pad: 'q'.repeat(200) } })).toBeLessThan(300);
  expect(await api('PUT', `/devices/${device}/environment_variables`, { environment_variables: { other: 'y'.repeat(80) } })).toBeLessThan(300);

  const status = await syncOnce();
  expect(status).toContain('{sync-end}');
  expect(status).toContain('{storage-full}');
  expect(request({ req: 'file.changes.pending' })).toEqual({ changes: 0, total: 0 }); // out.qo went up
  expect(request({ req: 'note.get', file: 'data.qi' }).err).toContain('{note-noexist}');
  expect(card.store.check()).toEqual([]);

  expect(request({ req: 'file.delete', files: ['local.dbx'] })).toEqual({});
  expect(await syncOnce()).toBe('completed {sync-end}');
  const got: number[] = [];
  for (let n = 0; n < 4; n++) {
    const r = request({ req: 'note.get', file: 'data.qi', delete: true });
    if (r.body) got.push(r.body.n);
  }
  expect(got).toEqual([10, 11, 12]);
  expect(request({ req: 'env.get', name: 'other' }).text).toBe('y'.repeat(80));
}, 60_000);
