/**
 * The Notehub-compatible HTTP API: the route table and the JSON shapes @blues-inc/notehub-js reads.
 *
 * The route table (apiRouter, below): one entry per operation,
 *
 *   r.add(METHOD, PATH, ACCESS, { params, querystring, body, response, operationId }, handler, { limit, body })
 *
 * - PATH: ':name' segments are path parameters, handed to the handler percent-decoded (c.params.name).
 * - ACCESS: 'none' public; 'token' any valid token; 'project' a token that reaches :project (c.project).
 * - schemas (TypeBox, hub/schemas.ts) check the request before the handler runs (400 otherwise) and
 *   serialize the 200 reply; they also make the OpenAPI document (GET /openapi.json). `operationId`
 *   names the @blues-inc/notehub-js operation the route serves; test/hub/openapi.test checks the claim.
 * - handler: reads c.params, c.query (c.str/int/list/bool), await c.body() or c.raw(), calls hub/services,
 *   returns ok(json), {text} (JSON already serialized) or {bytes}; throws HubError for a non-2xx.
 * - options: limit (body bytes, default 1 MiB), body: 'json' (default: an object whatever the
 *   Content-Type), 'form' (urlencoded) or 'raw' (bytes, with c.raw()).
 * - optString/optObject/optStrings/payloadOf type a body field (400 if it is the wrong type).
 *
 * Porting an entry of the former table, r.add(M, PATH, ACCESS, handler, limit): insert the schemas
 * object after ACCESS (`{}` works: no checks, an open reply) and pass the limit as { limit }; a route
 * that reads c.raw() also passes { body: 'raw' }. Then give it its schemas.
 */
import { HubError, type Principal } from './hub';
import { Ctx, FIRMWARE_LIMIT, Router, type Reply } from './http';
import { Type } from '@sinclair/typebox';
import {
  DeviceEnvJ, DeviceJ, DevicesPageJ, DevicesQuery, DfuBody, DfuStatusJ, DfuTargets, EmptyJ, EnvBody, EnvJ, EventsCursorJ, EventsCursorQuery, EventsPageJ,
  EventsQuery, FirmwareJ, Flag, FleetJ, FleetUIDsBody, IngestBody, Int, LabelBody, LoginBody, NoteBody, NoteChangesJ, NoteJ, NotesJ,
  FileChangesJ, HealthLogJ, LatestJ, List, MembersJ, ProductBody, ProductJ, ProjectJ, ProvisionBody, RouteBody, RouteJ, RouteLogJ, RouteLogsQuery, SessionsJ, SignalJ, TokenForm, params, query,
} from './schemas';
import { dashboardRoutes, routeLogJson } from './dashboard';
import { firmwareType } from './services/firmware';
import type { RouteSpec } from './services/routes';
import { PublishingService, isShortId, statDate, type NoteParams } from './services/publishing';
import { PAGE_CSP, notePage } from './pages';
import type {
  DfuRecord, DeviceRecord, EventQuery, FirmwareRecord, FleetRecord, JsonObject, NoteRecord, ProductRecord, ProjectRecord, RouteRecord,
} from './store/types';

const iso = (t: number | null): string | undefined => (t === null ? undefined : new Date(t * 1000).toISOString());
const ok = (json: unknown = {}): Reply => ({ json });

// ---------------------------------------------------------------- JSON shapes

const projectJson = (p: ProjectRecord, who: Principal): JsonObject => ({
  uid: p.uid, label: p.label, created: iso(p.created)!,
  role: who.kind === 'user' && who.userId === p.ownerId ? 'owner' : 'developer',
});
const productJson = (p: ProductRecord): JsonObject => ({
  uid: p.uid, label: p.label, auto_provision_fleets: p.autoProvisionFleets, disable_devices_by_default: p.disableDevicesByDefault,
});
const fleetJson = (f: FleetRecord): JsonObject => ({ uid: f.uid, label: f.label, created: iso(f.created)! });
function deviceJson(d: DeviceRecord): JsonObject {
  const out: JsonObject = {
    uid: d.uid, serial_number: d.sn, provisioned: iso(d.provisioned)!, product_uid: d.productUID,
    fleet_uids: d.fleetUIDs, tags: d.tags, sku: d.sku, disabled: d.disabled,
  };
  if (d.lastActivity !== null) out.last_activity = iso(d.lastActivity)!;
  if (d.voltage !== null) out.voltage = d.voltage;
  if (d.temperature !== null) out.temperature = d.temperature;
  if (d.lat !== null && d.lon !== null) out.gps_location = { when: iso(d.locationWhen ?? d.provisioned)!, latitude: d.lat, longitude: d.lon };
  return out;
}
const noteJson = (n: NoteRecord): JsonObject => {
  const out: JsonObject = { time: Math.floor(n.time) };
  if (n.body !== null) out.body = n.body;
  if (n.payload !== null) out.payload = n.payload;
  if (n.deleted) out.deleted = true;
  return out;
};
const firmwareJson = (f: FirmwareRecord): JsonObject => ({
  filename: f.filename, version: f.version, MD5: f.md5, type: f.type, length: f.length, description: f.notes,
  created: iso(f.created)!, target: f.type === 'notecard' ? 'notecard' : 'host', published: true,
  source: f.source, crc32: f.crc32, modified: iso(f.modified)!,
});
/** A device's update as notehub-js reads it (DFUState), with the phases the hub saw. */
const dfuStateJson = (rec: DfuRecord): JsonObject => {
  const out: JsonObject = {
    type: rec.type === 'notecard' ? 'card' : 'user', file: rec.filename, mode: rec.status, status: rec.text,
    began: Math.floor(rec.requested), updated: Math.floor(rec.updated),
  };
  if (rec.length !== undefined) out.length = rec.length;
  if (rec.read !== undefined) out.read = rec.read;
  if (rec.version !== undefined) out.version = rec.version;
  return out;
};
const routeJson = (r: RouteRecord): JsonObject => r.type === 'notehub' ? {
  // the PSK is a secret: never in output
  uid: r.uid, label: r.label, type: 'notehub', route_type: 'notehub', modified: iso(r.modified)!, disabled: r.disabled,
  notehub: { url: r.url, pid: r.publisher?.pid ?? '', filter: { type: r.files.length ? 'include' : 'all', files: r.files } },
} : r.type === 'proxy' ? {
  uid: r.uid, label: r.label, type: 'proxy', route_type: 'proxy', modified: iso(r.modified)!, disabled: r.disabled,
  proxy: { url: r.url, alias: r.proxy?.alias ?? '', http_headers: r.headers, timeout: r.proxy?.timeout ?? 0, fleets: r.proxy?.fleets ?? [] },
} : {
  uid: r.uid, label: r.label, type: 'http', route_type: 'http', modified: iso(r.modified)!, disabled: r.disabled,
  http: { url: r.url, http_headers: r.headers, filter: { type: r.files.length ? 'include' : 'all', files: r.files } },
};

// ---------------------------------------------------------------- body helpers

// The route's schema has checked the body; these give its fields their types (and keep an
// entry without a body schema safe).
function optString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HubError(400, `${name} must be a string`);
  return v;
}
function optObject(v: unknown, name: string): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new HubError(400, `${name} must be a JSON object`);
  return v as JsonObject;
}
function optStrings(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HubError(400, `${name} must be an array of strings`);
  return v as string[];
}
function payloadOf(v: unknown): string | undefined {
  const p = optString(v, 'payload');
  if (p !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(p)) throw new HubError(400, 'payload must be base64');
  return p;
}
const userIdOf = (c: Ctx): number => {
  if (c.principal.kind !== 'user') throw new HubError(403, 'this needs a user token, not a project client token');
  return c.principal.userId;
};

// ---------------------------------------------------------------- events

/** Page paging reaches this deep into the events; past it a query's cost grows with the depth: use the cursor. */
export const MAX_EVENT_DEPTH = 10_000;

async function eventsPage(c: Ctx, fleetUID?: string): Promise<Reply> {
  const pageSize = c.int('pageSize', 50, 1, 1000);
  const pageNum = c.int('pageNum', 1, 1, 1_000_000);
  if (pageNum * pageSize > MAX_EVENT_DEPTH) {
    throw new HubError(400, `pageNum * pageSize may be at most ${MAX_EVENT_DEPTH}; read further with events-cursor`);
  }
  const q = eventFilter(c, fleetUID);
  const page = await c.hub.events.query({ ...q, limit: pageSize, offset: (pageNum - 1) * pageSize });
  return { text: `{"events":[${page.json.join(',')}],"has_more":${page.hasMore}}` };
}

async function eventsCursor(c: Ctx, fleetUID?: string): Promise<Reply> {
  const limit = c.int('limit', 50, 1, 1000);
  const cursor = c.str('cursor');
  let afterSeq: number | undefined;
  if (cursor !== undefined) {
    const s = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!/^\d{1,15}$/.test(s)) throw new HubError(400, 'invalid cursor');
    afterSeq = Number(s);
  }
  const filter = eventFilter(c, fleetUID);
  // a forward walk is a cursor read from its first page on (seq 0: before every event)
  const page = await c.hub.events.query({ ...filter, limit, afterSeq: afterSeq ?? (filter.descending ? undefined : 0) });
  const last = page.seqs.length ? page.seqs[page.seqs.length - 1] : afterSeq;
  const next = last === undefined ? '' : Buffer.from(String(last)).toString('base64url');
  return { text: `{"events":[${page.json.join(',')}],"next_cursor":${JSON.stringify(next)},"has_more":${page.hasMore}}` };
}

/** A startDate/endDate argument (unix seconds; the route's schema has made it a number). */
const dateArg = (c: Ctx, name: string): number | undefined => (typeof c.query[name] === 'number' ? c.query[name] as number : undefined);

/** The filters shared by both event reads (their schema, EventsQuery, has checked them). */
function eventFilter(c: Ctx, fleetUID?: string): Omit<EventQuery, 'limit'> {
  const fleets = c.list('fleetUID') ?? [];
  if (fleetUID) fleets.push(fleetUID);
  return {
    projectUID: c.project.uid, descending: c.str('sortOrder') === 'desc',
    deviceUIDs: [...(c.list('deviceUID') ?? []), ...(c.list('deviceUIDs') ?? [])].filter(Boolean),
    files: c.list('files', true), fleetUIDs: fleets.length ? fleets : undefined, sessionUIDs: c.list('sessionUID'), eventUIDs: c.list('eventUID'),
    serialNumbers: c.list('serialNumber'), startDate: dateArg(c, 'startDate'), endDate: dateArg(c, 'endDate'),
  };
}

// ---------------------------------------------------------------- the table

export function apiRouter(): Router {
  const r = new Router();
  const P = '/v1/projects/:project';
  const D = `${P}/devices/:device`;
  const pP = params('project');
  const pD = params('project', 'device');
  const pF = params('project', 'fleet');

  // authentication
  r.add('POST', '/auth/login', 'none', { body: LoginBody, response: Type.Object({ session_token: Type.String() }), operationId: 'login' }, async (c) => {
    const b = await c.body();
    return ok({ session_token: await c.hub.accounts.login(b.username as string, b.password as string, c.req.socket.remoteAddress) });
  });
  // thingsHub's login: the session token with its expiry and the user (its blank fields are kept for clients that read them)
  r.add('POST', '/auth/token', 'none', { body: LoginBody, summary: 'thingsHub-style login: {User, expires, token}' }, async (c) => {
    const b = await c.body();
    const s = await c.hub.accounts.session(b.username as string, b.password as string, c.req.socket.remoteAddress);
    const at = (t: number): string => new Date(t * 1000).toISOString();
    return ok({
      User: { country: '', created_at: at(s.user.created), email: '', full_name: '', id: s.user.id, last_login_at: at(s.now), password: '', updated_at: at(s.now), username: s.user.username },
      expires: at(s.expires), token: s.token,
    });
  });
  r.add('POST', '/oauth2/token', 'none', {
    body: TokenForm, response: Type.Object({ access_token: Type.String(), token_type: Type.String(), expires_in: Type.Integer() }, { additionalProperties: true }),
  }, async (c) => {
    const b = await c.body();
    return ok(await c.hub.accounts.clientToken(b.client_id as string, b.client_secret as string, c.req.socket.remoteAddress));
  }, { body: 'form' });

  // accounts and projects
  r.add('GET', '/v1/billing-accounts', 'token', {
    response: Type.Object({ billing_accounts: Type.Array(Type.Object({ uid: Type.String(), name: Type.String(), role: Type.String() }, { additionalProperties: true })) }),
    operationId: 'getBillingAccounts',
  }, async (c) => ok({
    billing_accounts: [{ uid: c.principal.account, name: c.principal.kind === 'user' ? c.principal.username : c.principal.account, role: 'owner' }],
  }));
  r.add('GET', '/v1/projects', 'token', { response: Type.Object({ projects: Type.Array(ProjectJ) }), operationId: 'getProjects' },
    async (c) => ok({ projects: (await c.hub.projects.projectsOf(c.principal)).map((p) => projectJson(p, c.principal)) }));
  r.add('POST', '/v1/projects', 'token', { body: LabelBody(true), response: ProjectJ, operationId: 'createProject' }, async (c) => {
    const userId = userIdOf(c);
    return ok(projectJson(await c.hub.projects.createProjectFor(userId, (await c.body()).label as string), c.principal));
  });
  r.add('GET', P, 'project', { params: pP, response: ProjectJ, operationId: 'getProject' }, async (c) => ok(projectJson(c.project, c.principal)));
  r.add('GET', '/v1/products/:project/project', 'project', { params: pP, response: ProjectJ, operationId: 'getProjectByProduct' },
    async (c) => ok(projectJson(c.project, c.principal)));
  // the hub has usernames, not e-mail addresses: `email` is empty
  r.add('GET', `${P}/members`, 'project', { params: pP, response: MembersJ, operationId: 'getProjectMembers' },
    async (c) => ok({ members: (await c.hub.projects.members(c.project.uid)).map((m) => ({ name: m.username, email: '', role: m.role })) }));
  r.add('GET', `${P}/products`, 'project', { params: pP, response: Type.Object({ products: Type.Array(ProductJ) }), operationId: 'getProjectProducts' },
    async (c) => ok({ products: (await c.hub.projects.products(c.project.uid)).map(productJson) }));
  r.add('POST', `${P}/products`, 'project', { params: pP, body: ProductBody, response: ProductJ, operationId: 'createProduct' }, async (c) => {
    const b = await c.body();
    return ok(productJson(await c.hub.projects.createProduct(c.project.uid, b.product_uid as string, optString(b.label, 'label'), {
      disableDevicesByDefault: b.disable_devices_by_default === true, autoProvisionFleets: optStrings(b.auto_provision_fleets, 'auto_provision_fleets'),
    })));
  });

  // fleets
  r.add('GET', `${P}/fleets`, 'project', { params: pP, response: Type.Object({ fleets: Type.Array(FleetJ) }), operationId: 'getProjectFleets' },
    async (c) => ok({ fleets: (await c.hub.projects.fleets(c.project.uid)).map(fleetJson) }));
  r.add('POST', `${P}/fleets`, 'project', { params: pP, body: LabelBody(true), response: FleetJ, operationId: 'createFleet' },
    async (c) => ok(fleetJson(await c.hub.projects.createFleet(c.project.uid, (await c.body()).label as string))));
  r.add('GET', `${P}/fleets/:fleet`, 'project', { params: pF, response: FleetJ },
    async (c) => ok(fleetJson(await c.hub.projects.fleetIn(c.project.uid, c.params.fleet))));
  r.add('PUT', `${P}/fleets/:fleet`, 'project', { params: pF, body: LabelBody(false), response: FleetJ, operationId: 'updateFleet' }, async (c) => {
    await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok(fleetJson(await c.hub.projects.renameFleet(c.project.uid, c.params.fleet, optString((await c.body()).label, 'label'))));
  });
  r.add('DELETE', `${P}/fleets/:fleet`, 'project', { params: pF, response: EmptyJ, operationId: 'deleteFleet' }, async (c) => {
    await c.hub.projects.deleteFleet(c.project.uid, c.params.fleet);
    return ok();
  });
  r.add('GET', `${P}/fleets/:fleet/devices`, 'project', {
    params: pF, querystring: DevicesQuery, response: DevicesPageJ, operationId: 'getProjectFleetDevices',
  }, async (c) => {
    await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return devicesPage(c, [c.params.fleet]);
  });
  r.add('GET', `${P}/fleets/:fleet/events`, 'project', { params: pF, querystring: EventsQuery, response: EventsPageJ, operationId: 'getFleetEvents' },
    async (c) => eventsPage(c, (await c.hub.projects.fleetIn(c.project.uid, c.params.fleet)).uid));
  r.add('GET', `${P}/fleets/:fleet/events-cursor`, 'project', {
    params: pF, querystring: EventsCursorQuery, response: EventsCursorJ, operationId: 'getFleetEventsByCursor',
  }, async (c) => eventsCursor(c, (await c.hub.projects.fleetIn(c.project.uid, c.params.fleet)).uid));

  // devices
  async function devicesPage(c: Ctx, fleetUIDs?: string[]): Promise<Reply> {
    const pageSize = c.int('pageSize', 50, 1, 1000);
    const pageNum = c.int('pageNum', 1, 1, 1_000_000);
    const { devices, hasMore } = await c.hub.devices.devices(c.project.uid, {
      tags: c.list('tag'), serialNumbers: c.list('serialNumber'), fleetUIDs: fleetUIDs ?? c.list('fleetUID'),
      deviceUIDs: c.list('deviceUID'), productUIDs: c.list('productUID'), skus: c.list('sku'),
    }, pageSize, pageNum);
    return ok({ devices: devices.map(deviceJson), has_more: hasMore });
  }
  r.add('GET', `${P}/devices`, 'project', { params: pP, querystring: DevicesQuery, response: DevicesPageJ, operationId: 'getProjectDevices' },
    (c) => devicesPage(c));
  r.add('GET', D, 'project', { params: pD, response: DeviceJ, operationId: 'getDevice' }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const out = deviceJson(d);
    // the device's firmware updates, as Notehub's device JSON carries them
    const dfu: JsonObject = {};
    for (const [type, key] of [['host', 'user'], ['notecard', 'card']] as const) {
      const rec = await c.hub.firmware.dfuStatus(c.project.uid, d.uid, type);
      if (rec) dfu[key] = dfuStateJson(rec);
    }
    if (Object.keys(dfu).length) out.dfu = dfu;
    return ok(out);
  });
  r.add('DELETE', D, 'project', { params: pD, response: EmptyJ, operationId: 'deleteProjectDevice' }, async (c) => {
    await c.hub.devices.deleteDevice(c.project.uid, c.params.device);
    return ok();
  });
  r.add('POST', `${D}/provision`, 'project', { params: pD, body: ProvisionBody, response: DeviceJ, operationId: 'postProvisionProjectDevice' }, async (c) => {
    const b = await c.body();
    return ok(deviceJson(await c.hub.devices.provisionIn(c.project.uid, b.product_uid as string, c.params.device, { sn: optString(b.device_sn, 'device_sn') })));
  });
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    r.add('POST', `${D}/${verb}`, 'project', { params: pD, response: EmptyJ, operationId: `${verb}Device` }, async (c) => {
      await c.hub.devices.setDisabled(c.project.uid, c.params.device, disabled);
      return ok();
    });
  }
  const FleetsJ = Type.Object({ fleets: Type.Array(FleetJ) });
  r.add('GET', `${D}/fleets`, 'project', { params: pD, response: FleetsJ, operationId: 'getDeviceFleets' }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    return ok({ fleets: await Promise.all(d.fleetUIDs.map(async (f) => fleetJson(await c.hub.projects.fleetIn(c.project.uid, f)))) });
  });
  for (const method of ['PUT', 'DELETE'] as const) {
    r.add(method, `${D}/fleets`, 'project', {
      params: pD, body: FleetUIDsBody, response: FleetsJ, operationId: method === 'PUT' ? 'putDeviceFleets' : 'deleteDeviceFleets',
    }, async (c) => {
      await c.hub.devices.deviceIn(c.project.uid, c.params.device);
      const given = optStrings((await c.body()).fleet_uids, 'fleet_uids') ?? [];
      const next = await c.hub.devices.changeFleets(c.project.uid, c.params.device, given, method === 'PUT');
      return ok({ fleets: await Promise.all(next.map(async (f) => fleetJson(await c.hub.projects.fleetIn(c.project.uid, f)))) });
    });
  }

  // events
  r.add('GET', `${P}/events`, 'project', { params: pP, querystring: EventsQuery, response: EventsPageJ, operationId: 'getProjectEvents' },
    (c) => eventsPage(c));
  r.add('GET', `${P}/events-cursor`, 'project', { params: pP, querystring: EventsCursorQuery, response: EventsCursorJ, operationId: 'getProjectEventsByCursor' },
    (c) => eventsCursor(c));
  r.add('GET', `${D}/latest`, 'project', { params: pD, response: LatestJ, operationId: 'getDeviceLatest' },
    async (c) => ({ text: `{"latest_events":[${(await c.hub.events.latest(c.project.uid, c.params.device)).join(',')}]}` }));
  r.add('GET', `${D}/health-log`, 'project', { params: pD, response: HealthLogJ, operationId: 'getDeviceHealthLog' },
    async (c) => ok({ health_log: (await c.hub.events.healthLog(c.project.uid, c.params.device)).map((h) => ({ ...h, when: iso(h.when) })) }));
  r.add('GET', `${D}/sessions`, 'project', {
    params: pD, querystring: query({ pageSize: Int(1, 1000, 50), pageNum: Int(1, 1_000_000, 1) }), response: SessionsJ, operationId: 'getDeviceSessions',
  }, async (c) => {
    const { device: d, sessions, hasMore } = await c.hub.devices.sessions(c.project.uid, c.params.device, c.int('pageSize', 50, 1, 1000), c.int('pageNum', 1, 1, 1_000_000));
    return ok({
      sessions: sessions.map((s) => ({
        session: s.uid, device: d.uid, sn: d.sn, product: d.productUID, fleets: d.fleetUIDs, when: s.started,
        ip: s.remote.replace(/:\d+$/, ''), tls: s.tls, events: s.notesUp,
      })),
      has_more: hasMore,
    });
  });
  // opencard extension: upload notes as a device would (the sync listener's ingest, over HTTP)
  r.add('POST', `${D}/events`, 'project', {
    params: pD, body: IngestBody, response: Type.Object({ events: Type.Array(Type.String()) }), summary: 'opencard: upload notes as the device',
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const b = await c.body();
    const raw = (b.notes === undefined ? [b] : b.notes) as JsonObject[];
    const notes = raw.map((o) => ({ id: optString(o.note, 'note'), body: optObject(o.body, 'body'), payload: payloadOf(o.payload), when: o.when as number | undefined, key: optString(o.key, 'key') }));
    const events = await c.hub.events.ingestNotes(d, optString(b.file, 'file') ?? 'data.qo', notes);
    return ok({ events: events.map((e) => e.event) });
  });

  // device notefiles
  const pFile = params('project', 'device', 'file');
  const pNote = params('project', 'device', 'file', 'note');
  r.add('POST', `${D}/notes/:file`, 'project', { params: pFile, body: NoteBody, response: EmptyJ, operationId: 'handleNoteAdd' }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const b = await c.body();
    await c.hub.notes.addInbound(d.uid, c.params.file, optObject(b.body, 'body'), payloadOf(b.payload));
    return ok();
  });
  // a signal: straight to the device's live session (continuous mode), never stored as a note
  r.add('POST', `${D}/signal`, 'project', { params: pD, body: NoteBody, response: SignalJ, operationId: 'handleNoteSignal' }, async (c) => {
    const b = await c.body();
    const body = optObject(b.body, 'body');
    const payload = payloadOf(b.payload);
    if (!body && payload === undefined) throw new HubError(400, 'a signal needs a body or a payload');
    return ok({ connected: await c.hub.deviceSync.signal(c.project.uid, c.params.device, { body, payload }) });
  });
  r.add('GET', `${D}/notes/:file`, 'project', { params: pFile, querystring: query({ deleted: Flag() }), response: NotesJ }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const notes: JsonObject = {};
    const list = await c.hub.notes.notes(d.uid, c.params.file, c.bool('deleted'));
    for (const n of list) notes[n.id] = noteJson(n);
    return ok({ total: list.filter((n) => !n.deleted).length, notes });
  });
  r.add('GET', `${D}/notes/:file/changes`, 'project', {
    params: pFile, response: NoteChangesJ, operationId: 'handleNoteChanges',
    querystring: query({ tracker: Type.String(), max: Int(1, 10000), start: Flag(), stop: Flag(), deleted: Flag(), delete: Flag() }),
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const max = c.query.max === undefined ? undefined : c.int('max', 0, 1, 10000);
    const r = await c.hub.notes.noteChanges(d.uid, c.params.file, {
      tracker: c.str('tracker'), max, start: c.bool('start'), stop: c.bool('stop'), deleted: c.bool('deleted'), delete: c.bool('delete'),
    });
    const notes: JsonObject = {};
    for (const n of r.notes) notes[n.id] = noteJson(n);
    return ok({ changes: r.changes, total: r.total, notes });
  });
  r.add('GET', `${D}/notes/:file/:note`, 'project', {
    params: pNote, querystring: query({ deleted: Flag(), delete: Flag() }), response: NoteJ, operationId: 'handleNoteGet',
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    return ok(noteJson(await c.hub.notes.dbGet(d.uid, c.params.file, c.params.note, { deleted: c.bool('deleted'), delete: c.bool('delete') })));
  });
  for (const [method, mode] of [['POST', 'create'], ['PUT', 'update']] as const) {
    r.add(method, `${D}/notes/:file/:note`, 'project', {
      params: pNote, body: NoteBody, response: EmptyJ, operationId: method === 'POST' ? 'handleNoteCreateAdd' : 'handleNoteUpdate',
    }, async (c) => {
      const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
      const b = await c.body();
      await c.hub.notes.dbPut(d.uid, c.params.file, c.params.note, optObject(b.body, 'body'), payloadOf(b.payload), mode);
      return ok();
    });
  }
  r.add('DELETE', `${D}/notes/:file/:note`, 'project', { params: pNote, response: EmptyJ, operationId: 'handleNoteDelete' }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.notes.dbDelete(d.uid, c.params.file, c.params.note);
    return ok();
  });
  r.add('GET', `${D}/files`, 'project', {
    params: pD, response: Type.Object({ info: Type.Record(Type.String(), Type.Object({ total: Type.Integer() }, { additionalProperties: true })) }),
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const info: JsonObject = {};
    for (const f of await c.hub.notes.notefiles(d.uid)) info[f.file] = { total: f.total };
    return ok({ info });
  });

  r.add('GET', `${D}/files/changes`, 'project', {
    params: pD, querystring: query({ tracker: Type.String(), files: List('Notefile names, comma-separated or repeated') }), response: FileChangesJ,
    operationId: 'handleNotefileChanges',
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    return ok(await c.hub.notes.fileChanges(d.uid, { tracker: c.str('tracker'), files: c.list('files', true) }));
  });
  r.add('GET', `${D}/files/changes/pending`, 'project', {
    params: pD, response: Type.Composite([FileChangesJ, Type.Object({ pending: Type.Boolean() })]), operationId: 'handleNotefileChangesPending',
  }, async (c) => ok(await c.hub.notes.pendingChanges((await c.hub.devices.deviceIn(c.project.uid, c.params.device)).uid)));

  // environment variables
  const envBody = async (c: Ctx): Promise<unknown> => (await c.body()).environment_variables;
  const pKey = params('project', 'key');
  r.add('GET', `${P}/environment_variables`, 'project', { params: pP, response: EnvJ, operationId: 'getProjectEnvironmentVariables' },
    async (c) => ok({ environment_variables: await c.hub.env.envGet('project', c.project.uid) }));
  r.add('PUT', `${P}/environment_variables`, 'project', { params: pP, body: EnvBody, response: EnvJ, operationId: 'putProjectEnvironmentVariables' },
    async (c) => ok({ environment_variables: await c.hub.env.envPut('project', c.project.uid, await envBody(c)) }));
  r.add('DELETE', `${P}/environment_variables/:key`, 'project', { params: pKey, response: EnvJ, operationId: 'deleteProjectEnvironmentVariable' },
    async (c) => ok({ environment_variables: await c.hub.env.envDelete('project', c.project.uid, c.params.key) }));
  r.add('GET', `${P}/fleets/:fleet/environment_variables`, 'project', { params: pF, response: EnvJ, operationId: 'getFleetEnvironmentVariables' }, async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envGet('fleet', f.uid) });
  });
  r.add('PUT', `${P}/fleets/:fleet/environment_variables`, 'project', {
    params: pF, body: EnvBody, response: EnvJ, operationId: 'putFleetEnvironmentVariables',
  }, async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envPut('fleet', f.uid, await envBody(c)) });
  });
  r.add('DELETE', `${P}/fleets/:fleet/environment_variables/:key`, 'project', {
    params: params('project', 'fleet', 'key'), response: EnvJ, operationId: 'deleteFleetEnvironmentVariable',
  }, async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envDelete('fleet', f.uid, c.params.key) });
  });
  const deviceEnv = async (c: Ctx, uid: string): Promise<Reply> => ok({
    environment_variables: await c.hub.env.envGet('device', uid),
    environment_variables_env_default: await c.hub.env.envGet('device_default', uid),
    environment_variables_effective: await c.hub.env.effectiveEnv(uid),
  });
  r.add('GET', `${D}/environment_variables`, 'project', { params: pD, response: DeviceEnvJ, operationId: 'getDeviceEnvironmentVariables' },
    async (c) => deviceEnv(c, (await c.hub.devices.deviceIn(c.project.uid, c.params.device)).uid));
  r.add('PUT', `${D}/environment_variables`, 'project', { params: pD, body: EnvBody, response: DeviceEnvJ, operationId: 'putDeviceEnvironmentVariables' }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.env.envPut('device', d.uid, await envBody(c));
    return deviceEnv(c, d.uid);
  });
  r.add('DELETE', `${D}/environment_variables/:key`, 'project', {
    params: params('project', 'device', 'key'), response: DeviceEnvJ, operationId: 'deleteDeviceEnvironmentVariable',
  }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.env.envDelete('device', d.uid, c.params.key);
    return deviceEnv(c, d.uid);
  });

  // firmware and DFU
  const pFw = params('project', 'type', 'filename');
  r.add('GET', `${P}/firmware`, 'project', {
    params: pP, querystring: query({ firmwareType: Type.String(), type: Type.String(), filename: Type.String(), version: Type.String() }),
    response: Type.Array(FirmwareJ), operationId: 'getFirmwareInfo',
  }, async (c) => ok((await c.hub.firmware.firmware(c.project.uid, {
    type: c.str('firmwareType') ?? c.str('type'), filename: c.str('filename'), version: c.str('version'),
  })).map(firmwareJson)));
  r.add('PUT', `${P}/firmware/:type/:filename`, 'project', {
    params: pFw, querystring: query({ version: Type.String(), notes: Type.String() }), response: FirmwareJ, summary: 'upload a firmware image (the body)',
  }, async (c) => {
    const data = await c.raw();
    if (!data.length) throw new HubError(400, 'the body must hold the firmware image');
    return ok(firmwareJson(await c.hub.firmware.putFirmware(c.project.uid, firmwareType(c.params.type), c.params.filename, data,
      { version: c.str('version'), notes: c.str('notes') })));
  }, { limit: FIRMWARE_LIMIT, body: 'raw' });
  r.add('GET', `${P}/firmware/:type/:filename`, 'project', { params: pFw, response: Type.String({ format: 'binary' }), summary: 'download a firmware image' },
    async (c) => ({ bytes: await c.hub.firmware.firmwareData(c.project.uid, firmwareType(c.params.type), c.params.filename) }));
  for (const action of ['update', 'cancel'] as const) {
    r.add('POST', `${P}/dfu/:type/${action}`, 'project', {
      params: params('project', 'type'), querystring: DfuTargets, body: action === 'update' ? DfuBody : undefined,
      response: Type.Object({ devices: Type.Array(Type.String()) }),
    }, async (c) => {
      const type = firmwareType(c.params.type);
      const filename = action === 'update' ? optString((await c.body()).filename, 'filename') ?? null : null;
      const recs = await c.hub.firmware.requestDfuFor(c.project.uid, type, { deviceUIDs: c.list('deviceUID'), tags: c.list('tag'), fleetUIDs: c.list('fleetUID') }, filename);
      return ok({ devices: recs.map((x) => x.deviceUID) });
    });
  }
  r.add('GET', `${D}/dfu/:type/status`, 'project', { params: params('project', 'device', 'type'), response: DfuStatusJ }, async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const type = firmwareType(c.params.type);
    const rec = await c.hub.firmware.dfuStatus(c.project.uid, d.uid, type);
    if (!rec) return ok({ device_uid: d.uid, type, status: 'idle' });
    return ok({ device_uid: d.uid, type, filename: rec.filename, status: rec.status, description: rec.text,
      requested: iso(rec.requested), updated: iso(rec.updated), dfu: dfuStateJson(rec),
      history: (rec.history ?? []).map((h) => ({ when: iso(h.when)!, status: h.status, description: h.text })) });
  });

  // routes
  const routeSpec = (b: Record<string, unknown>): Omit<RouteSpec, 'url'> & { url?: string } => {
    const type = b.type ?? b.route_type;
    if (type === 'proxy') {
      // Notehub's REST shape nests proxy settings under `proxy`; notehub-js (Route model) under `schema`
      const p = optObject(b.proxy ?? b.schema, 'proxy') ?? {};
      const headers = optObject(p.http_headers, 'proxy.http_headers');
      if (headers && !Object.values(headers).every((v) => typeof v === 'string')) throw new HubError(400, 'http_headers values must be strings');
      if (p.timeout !== undefined && typeof p.timeout !== 'number') throw new HubError(400, 'proxy.timeout must be a number of seconds');
      const disabled = b.disabled;
      if (disabled !== undefined && typeof disabled !== 'boolean') throw new HubError(400, 'disabled must be true or false');
      return { type: 'proxy', label: optString(b.label, 'label'), url: optString(p.url, 'proxy.url'), alias: optString(p.alias, 'proxy.alias'),
        headers: headers as { [k: string]: string } | undefined, timeout: p.timeout as number | undefined, fleets: optStrings(p.fleets, 'proxy.fleets'), disabled };
    }
    if (type === 'notehub') {
      // opencard: publish each event as a note to a NoteHub API server (url: its /api/note)
      const n = optObject(b.notehub ?? b.schema, 'notehub') ?? {};
      const filter = optObject(n.filter, 'notehub.filter') ?? {};
      const disabled = b.disabled;
      if (disabled !== undefined && typeof disabled !== 'boolean') throw new HubError(400, 'disabled must be true or false');
      return { type: 'notehub', label: optString(b.label, 'label'), url: optString(n.url, 'notehub.url'), pid: optString(n.pid, 'notehub.pid'),
        psk: optString(n.psk, 'notehub.psk'), files: optStrings(filter.files, 'notehub.filter.files'), disabled };
    }
    if (type !== undefined && type !== 'http') throw new HubError(400, 'only http, proxy and notehub routes are supported');
    // Notehub's REST shape nests settings under `http`; notehub-js (Route model) under `schema`
    const http = optObject(b.http ?? b.schema, 'http') ?? {};
    const filter = optObject(http.filter, 'http.filter') ?? {};
    const headers = optObject(http.http_headers, 'http.http_headers');
    if (headers && !Object.values(headers).every((v) => typeof v === 'string')) throw new HubError(400, 'http_headers values must be strings');
    const disabled = b.disabled;
    if (disabled !== undefined && typeof disabled !== 'boolean') throw new HubError(400, 'disabled must be true or false');
    return { type: type === 'http' ? 'http' : undefined, label: optString(b.label, 'label'), url: optString(http.url ?? b.url, 'url'), headers: headers as { [k: string]: string } | undefined,
      files: optStrings(filter.files, 'http.filter.files'), disabled };
  };
  const pRoute = params('project', 'route');
  r.add('GET', `${P}/routes`, 'project', { params: pP, response: Type.Array(RouteJ), operationId: 'getRoutes' },
    async (c) => ok((await c.hub.routes.routesOf(c.project.uid)).map(routeJson)));
  r.add('POST', `${P}/routes`, 'project', { params: pP, body: RouteBody, response: RouteJ, operationId: 'createRoute' }, async (c) => {
    const s = routeSpec(await c.body());
    if (!s.url) throw new HubError(400, `${s.type ?? 'http'}.url is required`);
    return ok(routeJson(await c.hub.routes.putRoute(c.project.uid, { ...s, url: s.url })));
  });
  r.add('GET', `${P}/routes/:route`, 'project', { params: pRoute, response: RouteJ, operationId: 'getRoute' },
    async (c) => ok(routeJson(await c.hub.routes.routeIn(c.project.uid, c.params.route))));
  r.add('PUT', `${P}/routes/:route`, 'project', { params: pRoute, body: RouteBody, response: RouteJ, operationId: 'updateRoute' }, async (c) => {
    const old = await c.hub.routes.routeIn(c.project.uid, c.params.route);
    const spec = routeSpec(await c.body());
    return ok(routeJson(await c.hub.routes.putRoute(c.project.uid, { ...spec, uid: old.uid, url: spec.url ?? old.url })));
  });
  r.add('DELETE', `${P}/routes/:route`, 'project', { params: pRoute, response: EmptyJ, operationId: 'deleteRoute' }, async (c) => {
    await c.hub.routes.deleteRoute(c.project.uid, c.params.route);
    return ok();
  });
  // route logs: each delivery attempt, the newest 1000 per route (as Notehub keeps them for a while)
  r.add('GET', `${P}/routes/:route/route-logs`, 'project', {
    params: pRoute, querystring: RouteLogsQuery, response: Type.Array(RouteLogJ), operationId: 'getRouteLogsByRoute',
  }, async (c) => {
    const pageSize = c.int('pageSize', 50, 1, 1000);
    const logs = await c.hub.routes.routeLogs(c.project.uid, c.params.route, {
      deviceUIDs: c.list('deviceUID'), files: c.list('files', true), systemFilesOnly: c.bool('systemFilesOnly'),
      startDate: dateArg(c, 'startDate'), endDate: dateArg(c, 'endDate'), sortBy: c.str('sortBy') === 'date' ? 'date' : 'captured',
      descending: c.str('sortOrder') === 'desc', limit: pageSize, offset: (c.int('pageNum', 1, 1, 1_000_000) - 1) * pageSize,
    });
    return ok(logs.map(routeLogJson));
  });
  r.add('GET', `${P}/events/:event/route-logs`, 'project', {
    params: params('project', 'event'), response: Type.Array(RouteLogJ), operationId: 'getRouteLogsByEvent',
  }, async (c) => ok((await c.hub.routes.eventRouteLogs(c.project.uid, c.params.event)).map(routeLogJson)));

  // the dashboard at / and its event stream and web terminal (hub/dashboard.ts)
  dashboardRoutes(r);
  // the NoteHub publishing API (version 1.3) and its pages: public, signed with the publisher's PSK
  const noteApi = (fn: (c: Ctx, p: NoteParams, base: string) => Promise<JsonObject>) => async (c: Ctx): Promise<Reply> => {
    const base = `${(c.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${c.req.headers.host ?? 'localhost'}`;
    try {
      return { text: JSON.stringify(await fn(c, noteParams(c, await c.raw()), base)) };
    } catch (e) {
      if (!(e instanceof HubError)) throw e;
      // refusals keep the API's shape (status.success false, the reason in status.comment)
      return { status: e.status, text: JSON.stringify({ status: { success: false, comment: e.message }, error: e.message, code: e.status }) };
    }
  };
  const done = { success: true, comment: '' };
  r.add('GET', '/api/note', 'none', { summary: 'NoteHub API: read a published note (noteID, version)' }, noteApi(async (c, p, base) => {
    const { rec, publisher } = await c.hub.publishing.get(p);
    const u = PublishingService.urls(base, rec);
    const statistics: JsonObject = { published: statDate(rec.published)!, views: rec.views };
    if (rec.edited !== null) statistics.edited = statDate(rec.edited)!;
    return { note: rec.note, title: rec.title, longURL: u.longURL, shortURL: u.shortURL, statistics, status: done, publisher };
  }), { body: 'raw' });
  r.add('POST', '/api/note', 'none', { summary: 'NoteHub API: publish a note (signature = md5(pid + psk + note))' }, noteApi(async (c, p, base) => {
    const u = PublishingService.urls(base, await c.hub.publishing.publish(p), p);
    return { noteID: u.noteID, longURL: u.longURL, shortURL: u.shortURL, status: done };
  }), { body: 'raw' });
  r.add('PUT', '/api/note', 'none', { summary: 'NoteHub API: update a note (signature = md5(pid + psk + noteID + note + password))' }, noteApi(async (c, p, base) => {
    const u = PublishingService.urls(base, await c.hub.publishing.update(p), p);
    return { longURL: u.longURL, shortURL: u.shortURL, status: done };
  }), { body: 'raw' });
  // publishers: any user of this hub may register one (opencard extension; notehub.org did it by email)
  r.add('POST', '/v1/publishers', 'token', {
    body: Type.Object({ pid: Type.String({ minLength: 1, maxLength: 16 }), description: Type.Optional(Type.String({ maxLength: 200 })) }),
    response: Type.Object({ pid: Type.String(), psk: Type.String() }), summary: 'opencard: a NoteHub API publisher (a new PSK for an existing PID)',
  }, async (c) => {
    userIdOf(c);
    const b = await c.body();
    const p = await c.hub.publishing.createPublisher(b.pid as string, optString(b.description, 'description'));
    return ok({ pid: p.pid, psk: p.psk });
  });
  r.add('DELETE', '/v1/publishers/:pid', 'token', { params: params('pid'), response: EmptyJ, summary: 'opencard: revoke a publisher' }, async (c) => {
    userIdOf(c);
    await c.hub.publishing.revokePublisher(c.params.pid);
    return ok();
  });
  const page = async (c: Ctx, id: string | null): Promise<Reply> => {
    const rec = id === null ? null : await c.hub.publishing.view(id);
    if (!rec) throw new HubError(404, `no such route: GET ${c.req.url?.split('?')[0]}`);
    return { text: notePage(rec), type: 'text/html; charset=utf-8', headers: { 'Content-Security-Policy': PAGE_CSP, 'X-Content-Type-Options': 'nosniff' } };
  };
  r.add('GET', '/:year/:month/:day/:slug', 'none', { params: params('year', 'month', 'day', 'slug'), summary: 'a published note (its long URL)' }, (c) => {
    const { year, month, day, slug } = c.params;
    const digits = (s: string, max: number): boolean => s.length > 0 && s.length <= max && [...s].every((ch) => ch >= '0' && ch <= '9');
    return page(c, digits(year, 4) && digits(month, 2) && digits(day, 2) ? `${year}/${month}/${day}/${slug}` : null);
  });
  r.add('GET', '/:short', 'none', { params: params('short'), summary: 'a published note (its short URL)' },
    (c) => page(c, isShortId(c.params.short) ? c.params.short : null));

  return r;
}

/** The API's parameters: from the query, then a urlencoded or JSON body (strings only). */
function noteParams(c: Ctx, raw: Buffer): NoteParams {
  const out: NoteParams = {};
  for (const [k, v] of Object.entries(c.query)) if (typeof v === 'string') out[k] = v;
  if (!raw.length) return out;
  const text = raw.toString('utf8');
  if (/^application\/json/i.test(c.req.headers['content-type'] ?? '')) {
    let v: unknown;
    try { v = JSON.parse(text); } catch { throw new HubError(400, 'malformed JSON body'); }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HubError(400, 'the body must be a JSON object');
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  } else {
    for (const [k, x] of new URLSearchParams(text)) out[k] = x;
  }
  return out;
}
