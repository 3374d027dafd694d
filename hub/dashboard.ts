/**
 * The dashboard: a small Preact app (dashboard/app.jsx, bundled by esbuild into dist/dashboard
 * at build time, never committed) served at `/`, plus the two routes only it needs: a stream of
 * a project's new events (server-sent events) and a web terminal for the cards this process hosts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { HubError, type LocalCard } from './hub';
import type { Ctx, Router } from './http';
import { params } from './schemas';
import type { DfuRecord, EventRecord, RouteLogRecord } from './store/types';

const iso = (t: number): string => new Date(t * 1000).toISOString();
/** A device's update as the stream carries it (the fields of GET .../dfu/{type}/status, with the bytes read). */
export const dfuJson = (d: DfuRecord): Record<string, unknown> => ({
  device_uid: d.deviceUID, type: d.type, filename: d.filename, status: d.status, description: d.text, updated: iso(d.updated),
  read: d.read, length: d.length, version: d.version,
});
/**
 * A route's delivery attempt as its log shows it (GET .../route-logs, and the stream's `delivery`
 * events): `attn` when it failed, `status` the HTTP status ('' when no answer came), `text` the
 * start of the answer or why none came.
 */
export const routeLogJson = (l: RouteLogRecord): Record<string, unknown> => ({
  date: iso(l.when), routeUID: l.routeUID, eventUID: l.eventUID, attn: l.error !== null, status: l.status === null ? '' : String(l.status),
  text: l.status === null ? l.error ?? '' : l.text, url: l.url, attempt: l.attempt, dead: l.dead,
});

/** dist/dashboard, next to dist/hub where this file runs from. */
export const DASHBOARD_DIR = join(__dirname, '..', 'dashboard');
const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
const KEEPALIVE_MS = 25_000;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>notehub-lite</title><link rel="stylesheet" href="/dashboard/app.css"></head>
<body><div id="app"></div><script src="/dashboard/app.js"></script></body></html>
`;

export function dashboardRoutes(r: Router): void {
  r.add('GET', '/', 'none', { summary: 'the dashboard (HTML)' }, async () => ({ text: PAGE, type: 'text/html; charset=utf-8' }));
  r.add('GET', '/dashboard/:file', 'none', { params: params('file'), summary: 'the dashboard\'s assets' }, async (c) => {
    const type = Object.prototype.hasOwnProperty.call(ASSETS, c.params.file) ? ASSETS[c.params.file] : undefined;
    if (!type) throw new HubError(404, `no such dashboard file: ${c.params.file}`);
    try {
      return { text: await readFile(join(DASHBOARD_DIR, c.params.file), 'utf8'), type };
    } catch {
      throw new HubError(503, 'the dashboard is not built: run npm run build');
    }
  });

  const P = '/v1/projects/:project';
  // opencard extension: the project's new events as server-sent events, one `data:` line of event JSON each
  r.add('GET', `${P}/events/stream`, 'project', { params: params('project'), summary: 'opencard: new events as server-sent events' }, async (c) => {
    const project = c.project.uid;
    const hub = c.hub;
    return {
      stream: (res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
        res.write(': stream open\n\n'); // tells the client it is listening
        const onEvents = (events: EventRecord[]): void => {
          for (const e of events) if (e.app === project) res.write(`data: ${JSON.stringify(e)}\n\n`);
        };
        // named SSE events: a device's firmware update phase (`dfu`) and a route's delivery attempt (`delivery`)
        const onDfu = (d: DfuRecord): void => {
          if (d.projectUID === project) res.write(`event: dfu\ndata: ${JSON.stringify(dfuJson(d))}\n\n`);
        };
        const onDelivery = (l: RouteLogRecord): void => {
          if (l.projectUID === project) res.write(`event: delivery\ndata: ${JSON.stringify(routeLogJson(l))}\n\n`);
        };
        const ping = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
        hub.on('events', onEvents);
        hub.on('dfu', onDfu);
        hub.on('delivery', onDelivery);
        res.on('close', () => { clearInterval(ping); hub.off('events', onEvents); hub.off('dfu', onDfu); hub.off('delivery', onDelivery); });
      },
    };
  });
  // opencard extension: one request line to a card hosted in this process (the simulator with --with-hub)
  const hosted = async (c: Ctx): Promise<LocalCard> => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const card = c.hub.localCards.get(d.uid);
    if (!card) throw new HubError(409, `${d.uid} is not a card this hub process hosts (start the simulator with --with-hub)`);
    return card;
  };
  r.add('GET', `${P}/devices/:device/terminal`, 'project', {
    params: params('project', 'device'), response: Type.Object({ requests: Type.Array(Type.String()) }),
    summary: 'opencard: the request names a card this hub process hosts knows (409 for any other)',
  }, async (c) => ({ json: { requests: [...(await hosted(c)).requests] } }));
  r.add('POST', `${P}/devices/:device/terminal`, 'project', {
    params: params('project', 'device'), body: Type.Object({ req: Type.String({ maxLength: 65536 }) }),
    response: Type.Object({ reply: Type.String() }), summary: 'opencard: send a request line to a card this hub process hosts',
  }, async (c) => {
    const card = await hosted(c);
    return { json: { reply: await card.request(String((await c.body()).req)) } };
  });
}
