// The hub on PostgreSQL is bound by its round trips (each statement is one): what one API
// request costs in statements, counted where the hub sends them (pg's Client.query).
import pg from 'pg';
import { startHub, type RunningHub } from '../../hub/server';
import { testDatabase } from './stores';
import { call, tempDir } from './helpers';

let h: RunningHub;
let sent: string[] = [];
/** the NOTIFY statements sent: the notifications each carried */
const notifies: string[][] = [];
const query = pg.Client.prototype.query;

beforeAll(async () => {
  h = await startHub({ db: await testDatabase('postgres'), dataDir: tempDir('pg-roundtrips'), port: 0, log: () => undefined });
  await h.hub.devices.provisionDevice(h.bootstrap!.productUID, 'dev:rt', {});
  (pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: pg.Client, ...a: unknown[]) {
    const q = a[0] as string | { text?: string };
    const text = typeof q === 'string' ? q : q?.text ?? '';
    if (text.includes('pg_notify')) {
      const texts = (a[1] as unknown[] | undefined)?.[1];
      notifies.push(Array.isArray(texts) ? texts.map(String) : [String(texts)]);
    } else if (!text.includes('FROM deliveries q')) sent.push(text); // route delivery's own polling is not a request's
    return (query as (...x: unknown[]) => unknown).apply(this, a);
  };
}, 30_000);
afterAll(async () => {
  pg.Client.prototype.query = query;
  await h?.close();
});

const P = (): string => `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
/** Statements sent while `fn`'s requests are answered (NOTIFYs apart: they follow a few ms later). */
async function count(fn: () => Promise<unknown>): Promise<number> {
  sent = [];
  await fn();
  return sent.length;
}
const ingest = (n: number) => call(`${P()}/devices/dev:rt/events`, h.bootstrap!.token, 'POST', { file: 'rt.qo', notes: [{ body: { n } }] });

it('an ingest is two statements (device, the batch with its deliveries and device touch)', async () => {
  await ingest(0); // the first request reads the token, user, project and membership once
  expect(await count(() => ingest(1))).toBe(2);
});

it('a page of events is one statement', async () => {
  await call(`${P()}/events?pageSize=5`, h.bootstrap!.token);
  expect(await count(() => call(`${P()}/events?pageSize=5`, h.bootstrap!.token))).toBe(1);
});

it('a statement with arguments is sent prepared: parsed and planned once per connection', async () => {
  const named: (string | undefined)[] = [];
  const q = pg.Client.prototype.query;
  (pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: pg.Client, ...a: unknown[]) {
    const q0 = a[0] as string | { text?: string; name?: string };
    if (typeof q0 === 'string' ? !q0.includes('pg_notify') : !q0.text?.includes('FROM deliveries q')) named.push(typeof q0 === 'string' ? q0 : q0.name ?? q0.text);
    return (q as (...x: unknown[]) => unknown).apply(this, a);
  };
  try {
    await ingest(2);
    await call(`${P()}/events?pageSize=5`, h.bootstrap!.token);
  } finally { pg.Client.prototype.query = q; }
  expect(named.length).toBeGreaterThanOrEqual(3);
  expect(named.filter((n) => !/^s\d+$/.test(n ?? ''))).toEqual([]);
});

it('hub events published together go to the other processes in one NOTIFY statement (one commit on the queue lock)', async () => {
  for (let i = 0; i < 10; i++) h.hub.store.bus!.publish('notes', { deviceUID: 'dev:rt', file: `together${i}.qi` });
  const ours = (): number[] => notifies.map((n) => n.filter((t) => t.includes('together')).length).filter((k) => k > 0);
  const deadline = Date.now() + 10_000;
  while (ours().reduce((s, k) => s + k, 0) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(ours()).toEqual([10]);
});
