/**
 * What the dashboard's firmware and routes views read: a device's DFU phases and each route
 * delivery attempt pushed on the project's event stream (named SSE events `dfu` and `delivery`),
 * and the routes' logs (GET .../routes/{R}/route-logs, .../events/{E}/route-logs), which a
 * restart keeps.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/server';
import { removeDir, tempDir } from './helpers';

let dir: string;
let h: RunningHub;
let sink: Server;
let sinkUrl: string;
const DEV = 'dev:864475040000001';

/** A project's event stream: the SSE messages as {event, data}, read as they come. */
class Stream {
  readonly messages: { event: string; data: any }[] = [];
  readonly #abort = new AbortController();
  #wake: (() => void) | undefined;
  static async open(url: string, token: string): Promise<Stream> {
    const s = new Stream();
    const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: s.#abort.signal });
    expect(r.status).toBe(200);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let opened: () => void = () => undefined;
    const open = new Promise<void>((ok) => { opened = ok; });
    void (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (chunk.startsWith(': stream open')) opened();
          let event = 'message';
          for (const line of chunk.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) s.messages.push({ event, data: JSON.parse(line.slice(6)) });
          }
          s.#wake?.();
        }
      }
    })().catch(() => undefined);
    await open;
    return s;
  }
  /** Resolves with the first message (from `from` on) that matches. */
  async next(match: (m: { event: string; data: any }) => boolean, from = 0): Promise<{ event: string; data: any }> {
    for (;;) {
      const m = this.messages.slice(from).find(match);
      if (m) return m;
      await new Promise<void>((ok) => { this.#wake = ok; });
    }
  }
  close(): void { this.#abort.abort(); }
}

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const r = await fetch(`${h.url}/v1/projects/${h.bootstrap!.projectUID}${path}`, {
    method, headers: { Authorization: `Bearer ${h.bootstrap!.token}` }, body: body instanceof Uint8Array ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
};

beforeAll(async () => {
  dir = tempDir('dash-feeds');
  h = await startHub({ dataDir: join(dir, 'hub'), port: 0, log: () => undefined, adminPassword: 'admin-password-1', delivery: { pollMs: 20, baseDelayMs: 60_000 } });
  await h.hub.devices.provisionDevice(h.bootstrap!.productUID, DEV, { sn: 'feeds' });
  // /ok answers 200, anything else 500
  sink = createServer((req, res) => { req.resume(); res.writeHead(req.url === '/ok' ? 200 : 500).end(req.url === '/ok' ? 'thanks' : 'nope'); });
  await new Promise<void>((ok) => sink.listen(0, '127.0.0.1', ok));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
  await new Promise((ok) => sink?.close(ok));
  if (dir) removeDir(dir);
});

it('pushes each phase of a device\'s update on the event stream as a `dfu` event', async () => {
  const s = await Stream.open(`${h.url}/v1/projects/${h.bootstrap!.projectUID}/events/stream`, h.bootstrap!.token);
  try {
    const put = await api('PUT', '/firmware/host/app.bin?version=1.2.3', new Uint8Array(1000));
    expect(put.status).toBe(200);
    expect((await api('POST', `/dfu/host/update?deviceUID=${DEV}`, { filename: 'app.bin' })).json).toEqual({ devices: [DEV] });
    expect((await s.next((m) => m.event === 'dfu')).data).toMatchObject({ device_uid: DEV, type: 'host', filename: put.json.filename, status: 'pending', length: 1000 });
    // the card's reports (what the sync listener hands the service)
    await h.hub.firmware.report(DEV, 'host', put.json.filename, 'downloading', 'downloaded 40% (400/1000)', '');
    expect((await s.next((m) => m.event === 'dfu' && m.data.status === 'downloading')).data)
      .toMatchObject({ device_uid: DEV, description: 'downloaded 40% (400/1000)', read: 400, length: 1000 });
    await h.hub.firmware.report(DEV, 'host', put.json.filename, 'error', 'md5 mismatch', '');
    expect((await s.next((m) => m.event === 'dfu' && m.data.status === 'error')).data).toMatchObject({ description: 'md5 mismatch' });
    // nothing of it is an event (the events view reads only unnamed messages)
    expect(s.messages.filter((m) => m.event === 'message')).toEqual([]);
  } finally { s.close(); }
});

it('pushes route delivery attempts and logs them, across a restart', async () => {
  const s = await Stream.open(`${h.url}/v1/projects/${h.bootstrap!.projectUID}/events/stream`, h.bootstrap!.token);
  let good: { uid: string }, bad: { uid: string }, event: string, okMsg: { data: any }, badMsg: { data: any };
  try {
    good = (await api('POST', '/routes', { label: 'good', type: 'http', http: { url: `${sinkUrl}/ok` } })).json;
    bad = (await api('POST', '/routes', { label: 'bad', type: 'http', http: { url: `${sinkUrl}/fail` } })).json;
    const up = await api('POST', `/devices/${DEV}/events`, { file: 'data.qo', body: { n: 1 } });
    [event] = up.json.events as string[];
    okMsg = await s.next((m) => m.event === 'delivery' && m.data.routeUID === good.uid);
    expect(okMsg.data).toEqual({ date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), routeUID: good.uid, eventUID: event, attn: false, status: '200',
      text: 'thanks', url: `${sinkUrl}/ok`, attempt: 1, dead: false });
    badMsg = await s.next((m) => m.event === 'delivery' && m.data.routeUID === bad.uid);
    expect(badMsg.data).toMatchObject({ eventUID: event, attn: true, status: '500', text: 'nope', attempt: 1, dead: false });
  } finally { s.close(); }
  // the logs are in the database: a restarted hub has them
  const project = h.bootstrap!.projectUID;
  await h.close();
  h = await startHub({ dataDir: join(dir, 'hub'), port: 0, log: () => undefined, delivery: { pollMs: 20, baseDelayMs: 60_000 } });
  const { token } = await h.hub.accounts.createToken('admin');
  const call = async (path: string, method = 'GET'): Promise<{ status: number; json: any }> => {
    const r = await fetch(`${h.url}/v1/projects/${project}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, json: await r.json() };
  };
  const routesOf = (logs: { routeUID: string }[]): string[] => logs.map((l) => l.routeUID);
  expect((await call(`/routes/${good.uid}/route-logs`)).json).toEqual([okMsg.data]);
  expect((await call(`/routes/${bad.uid}/route-logs`)).json).toEqual([badMsg.data]);
  expect(routesOf((await call(`/events/${event}/route-logs`)).json).sort()).toEqual([good.uid, bad.uid].sort());
  expect((await call(`/routes/${good.uid}/route-logs?deviceUID=sn:feeds`)).json).toEqual([okMsg.data]);
  expect((await call(`/routes/${good.uid}/route-logs?deviceUID=sn:nobody`)).json).toEqual([]);
  expect((await call(`/routes/${good.uid}/route-logs?systemFilesOnly=true`)).json).toEqual([]);
  expect((await call('/routes/no-such-route/route-logs')).status).toBe(404);
  // a deleted route's log goes with it
  expect((await call(`/routes/${good.uid}`, 'DELETE')).status).toBe(200);
  expect((await call(`/routes/${good.uid}/route-logs`)).status).toBe(404);
  expect(routesOf((await call(`/events/${event}/route-logs`)).json)).toEqual([bad.uid]);
});
