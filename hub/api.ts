/** The Notehub-compatible HTTP API: the route table and the JSON shapes @blues-inc/notehub-js reads. */
import { HubError, type Principal } from './hub';
import { Ctx, FIRMWARE_LIMIT, Router, type Reply } from './http';
import { firmwareType } from './services/firmware';
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
const routeJson = (r: RouteRecord): JsonObject => ({
  uid: r.uid, label: r.label, type: 'http', route_type: 'http', modified: iso(r.modified)!, disabled: r.disabled,
  http: { url: r.url, http_headers: r.headers, filter: { type: r.files.length ? 'include' : 'all', files: r.files } },
});

// ---------------------------------------------------------------- argument helpers

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
  const page = await c.hub.events.query({ ...eventFilter(c, fleetUID), limit, afterSeq });
  const last = page.seqs.length ? page.seqs[page.seqs.length - 1] : afterSeq;
  const next = last === undefined ? '' : Buffer.from(String(last)).toString('base64url');
  return { text: `{"events":[${page.json.join(',')}],"next_cursor":${JSON.stringify(next)},"has_more":${page.hasMore}}` };
}

function eventFilter(c: Ctx, fleetUID?: string): Omit<EventQuery, 'limit'> {
  const order = c.str('sortOrder') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw new HubError(400, 'sortOrder is asc or desc');
  const fleets = c.list('fleetUID') ?? [];
  if (fleetUID) fleets.push(fleetUID);
  const date = (name: string): number | undefined => {
    const v = c.str(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,12}$/.test(v)) throw new HubError(400, `${name} must be unix seconds`);
    return Number(v);
  };
  const files = c.list('files', true);
  return {
    projectUID: c.project.uid, descending: order === 'desc',
    deviceUIDs: [...(c.list('deviceUID') ?? []), ...(c.list('deviceUIDs') ?? [])].filter(Boolean),
    files, fleetUIDs: fleets.length ? fleets : undefined, sessionUIDs: c.list('sessionUID'), eventUIDs: c.list('eventUID'),
    serialNumbers: c.list('serialNumber'), startDate: date('startDate'), endDate: date('endDate'),
  };
}

// ---------------------------------------------------------------- the table

export function apiRouter(): Router {
  const r = new Router();
  const P = '/v1/projects/:project';
  const D = `${P}/devices/:device`;

  // authentication
  r.add('POST', '/auth/login', 'none', async (c) => {
    const b = await c.body();
    const username = optString(b.username, 'username');
    const password = optString(b.password, 'password');
    if (!username || !password) throw new HubError(400, 'username and password are required');
    return ok({ session_token: await c.hub.accounts.login(username, password, c.req.socket.remoteAddress) });
  });
  r.add('POST', '/oauth2/token', 'none', async (c) => {
    if (!/^application\/x-www-form-urlencoded/i.test(c.req.headers['content-type'] ?? '')) {
      throw new HubError(400, 'send the token request as application/x-www-form-urlencoded');
    }
    const form = new URLSearchParams((await c.raw()).toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') throw new HubError(400, 'grant_type must be client_credentials');
    const id = form.get('client_id'), secret = form.get('client_secret');
    if (!id || !secret) throw new HubError(400, 'client_id and client_secret are required');
    return ok(await c.hub.accounts.clientToken(id, secret, c.req.socket.remoteAddress));
  });

  // accounts and projects
  r.add('GET', '/v1/billing-accounts', 'token', async (c) => ok({
    billing_accounts: [{ uid: c.principal.account, name: c.principal.kind === 'user' ? c.principal.username : c.principal.account, role: 'owner' }],
  }));
  r.add('GET', '/v1/projects', 'token', async (c) => ok({ projects: (await c.hub.projects.projectsOf(c.principal)).map((p) => projectJson(p, c.principal)) }));
  r.add('POST', '/v1/projects', 'token', async (c) => {
    const userId = userIdOf(c);
    const label = optString((await c.body()).label, 'label');
    if (!label) throw new HubError(400, 'label is required');
    return ok(projectJson(await c.hub.projects.createProjectFor(userId, label), c.principal));
  });
  r.add('GET', P, 'project', async (c) => ok(projectJson(c.project, c.principal)));
  r.add('GET', '/v1/products/:project/project', 'project', async (c) => ok(projectJson(c.project, c.principal)));
  r.add('GET', `${P}/products`, 'project', async (c) => ok({ products: (await c.hub.projects.products(c.project.uid)).map(productJson) }));
  r.add('POST', `${P}/products`, 'project', async (c) => {
    const b = await c.body();
    const uid = optString(b.product_uid, 'product_uid');
    if (!uid) throw new HubError(400, 'product_uid is required');
    return ok(productJson(await c.hub.projects.createProduct(c.project.uid, uid, optString(b.label, 'label'), {
      disableDevicesByDefault: b.disable_devices_by_default === true, autoProvisionFleets: optStrings(b.auto_provision_fleets, 'auto_provision_fleets'),
    })));
  });

  // fleets
  r.add('GET', `${P}/fleets`, 'project', async (c) => ok({ fleets: (await c.hub.projects.fleets(c.project.uid)).map(fleetJson) }));
  r.add('POST', `${P}/fleets`, 'project', async (c) => {
    const label = optString((await c.body()).label, 'label');
    if (!label) throw new HubError(400, 'label is required');
    return ok(fleetJson(await c.hub.projects.createFleet(c.project.uid, label)));
  });
  r.add('GET', `${P}/fleets/:fleet`, 'project', async (c) => ok(fleetJson(await c.hub.projects.fleetIn(c.project.uid, c.params.fleet))));
  r.add('PUT', `${P}/fleets/:fleet`, 'project', async (c) => {
    await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    const label = optString((await c.body()).label, 'label');
    return ok(fleetJson(await c.hub.projects.renameFleet(c.project.uid, c.params.fleet, label)));
  });
  r.add('DELETE', `${P}/fleets/:fleet`, 'project', async (c) => {
    await c.hub.projects.deleteFleet(c.project.uid, c.params.fleet);
    return ok();
  });
  r.add('GET', `${P}/fleets/:fleet/devices`, 'project', async (c) => {
    await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return devicesPage(c, [c.params.fleet]);
  });
  r.add('GET', `${P}/fleets/:fleet/events`, 'project', async (c) => eventsPage(c, (await c.hub.projects.fleetIn(c.project.uid, c.params.fleet)).uid));
  r.add('GET', `${P}/fleets/:fleet/events-cursor`, 'project', async (c) => eventsCursor(c, (await c.hub.projects.fleetIn(c.project.uid, c.params.fleet)).uid));

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
  r.add('GET', `${P}/devices`, 'project', (c) => devicesPage(c));
  r.add('GET', D, 'project', async (c) => {
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
  r.add('DELETE', D, 'project', async (c) => {
    await c.hub.devices.deleteDevice(c.project.uid, c.params.device);
    return ok();
  });
  r.add('POST', `${D}/provision`, 'project', async (c) => {
    const b = await c.body();
    const product = optString(b.product_uid, 'product_uid');
    if (!product) throw new HubError(400, 'product_uid is required');
    return ok(deviceJson(await c.hub.devices.provisionIn(c.project.uid, product, c.params.device, { sn: optString(b.device_sn, 'device_sn') })));
  });
  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    r.add('POST', `${D}/${verb}`, 'project', async (c) => {
      await c.hub.devices.setDisabled(c.project.uid, c.params.device, disabled);
      return ok();
    });
  }
  r.add('GET', `${D}/fleets`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    return ok({ fleets: await Promise.all(d.fleetUIDs.map(async (f) => fleetJson(await c.hub.projects.fleetIn(c.project.uid, f)))) });
  });
  for (const method of ['PUT', 'DELETE'] as const) {
    r.add(method, `${D}/fleets`, 'project', async (c) => {
      await c.hub.devices.deviceIn(c.project.uid, c.params.device);
      const given = optStrings((await c.body()).fleet_uids, 'fleet_uids') ?? [];
      const next = await c.hub.devices.changeFleets(c.project.uid, c.params.device, given, method === 'PUT');
      return ok({ fleets: await Promise.all(next.map(async (f) => fleetJson(await c.hub.projects.fleetIn(c.project.uid, f)))) });
    });
  }

  // events
  r.add('GET', `${P}/events`, 'project', (c) => eventsPage(c));
  r.add('GET', `${P}/events-cursor`, 'project', (c) => eventsCursor(c));
  // opencard extension: upload notes as a device would (the sync listener's ingest, over HTTP)
  r.add('POST', `${D}/events`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const b = await c.body();
    const file = optString(b.file, 'file') ?? 'data.qo';
    const raw = b.notes === undefined ? [b] : b.notes;
    if (!Array.isArray(raw) || raw.length > 1000) throw new HubError(400, 'notes must be an array of at most 1000 notes');
    const notes = raw.map((n: unknown) => {
      const o = optObject(n, 'note') ?? {};
      const when = o.when;
      if (when !== undefined && typeof when !== 'number') throw new HubError(400, 'when must be unix seconds');
      return { id: optString(o.note, 'note'), body: optObject(o.body, 'body'), payload: payloadOf(o.payload), when: when as number | undefined, key: optString(o.key, 'key') };
    });
    const events = await c.hub.events.ingestNotes(d, file, notes);
    return ok({ events: events.map((e) => e.event) });
  });

  // device notefiles
  r.add('POST', `${D}/notes/:file`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const b = await c.body();
    await c.hub.notes.addInbound(d.uid, c.params.file, optObject(b.body, 'body'), payloadOf(b.payload));
    return ok();
  });
  r.add('GET', `${D}/notes/:file`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const notes: JsonObject = {};
    const list = await c.hub.notes.notes(d.uid, c.params.file, c.bool('deleted'));
    for (const n of list) notes[n.id] = noteJson(n);
    return ok({ total: list.filter((n) => !n.deleted).length, notes });
  });
  r.add('GET', `${D}/notes/:file/changes`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const max = c.str('max') === undefined ? undefined : c.int('max', 0, 1, 10000);
    const r = await c.hub.notes.noteChanges(d.uid, c.params.file, {
      tracker: c.str('tracker'), max, start: c.bool('start'), stop: c.bool('stop'), deleted: c.bool('deleted'), delete: c.bool('delete'),
    });
    const notes: JsonObject = {};
    for (const n of r.notes) notes[n.id] = noteJson(n);
    return ok({ changes: r.changes, total: r.total, notes });
  });
  r.add('GET', `${D}/notes/:file/:note`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    return ok(noteJson(await c.hub.notes.dbGet(d.uid, c.params.file, c.params.note, { deleted: c.bool('deleted'), delete: c.bool('delete') })));
  });
  for (const [method, mode] of [['POST', 'create'], ['PUT', 'update']] as const) {
    r.add(method, `${D}/notes/:file/:note`, 'project', async (c) => {
      const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
      const b = await c.body();
      await c.hub.notes.dbPut(d.uid, c.params.file, c.params.note, optObject(b.body, 'body'), payloadOf(b.payload), mode);
      return ok();
    });
  }
  r.add('DELETE', `${D}/notes/:file/:note`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.notes.dbDelete(d.uid, c.params.file, c.params.note);
    return ok();
  });
  r.add('GET', `${D}/files`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const info: JsonObject = {};
    for (const f of await c.hub.notes.notefiles(d.uid)) info[f.file] = { total: f.total };
    return ok({ info });
  });

  // environment variables
  const envBody = async (c: Ctx): Promise<unknown> => (await c.body()).environment_variables;
  r.add('GET', `${P}/environment_variables`, 'project', async (c) => ok({ environment_variables: await c.hub.env.envGet('project', c.project.uid) }));
  r.add('PUT', `${P}/environment_variables`, 'project', async (c) => ok({ environment_variables: await c.hub.env.envPut('project', c.project.uid, await envBody(c)) }));
  r.add('DELETE', `${P}/environment_variables/:key`, 'project', async (c) => ok({
    environment_variables: await c.hub.env.envDelete('project', c.project.uid, c.params.key),
  }));
  r.add('GET', `${P}/fleets/:fleet/environment_variables`, 'project', async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envGet('fleet', f.uid) });
  });
  r.add('PUT', `${P}/fleets/:fleet/environment_variables`, 'project', async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envPut('fleet', f.uid, await envBody(c)) });
  });
  r.add('DELETE', `${P}/fleets/:fleet/environment_variables/:key`, 'project', async (c) => {
    const f = await c.hub.projects.fleetIn(c.project.uid, c.params.fleet);
    return ok({ environment_variables: await c.hub.env.envDelete('fleet', f.uid, c.params.key) });
  });
  const deviceEnv = async (c: Ctx, uid: string): Promise<Reply> => ok({
    environment_variables: await c.hub.env.envGet('device', uid),
    environment_variables_env_default: await c.hub.env.envGet('device_default', uid),
    environment_variables_effective: await c.hub.env.effectiveEnv(uid),
  });
  r.add('GET', `${D}/environment_variables`, 'project', async (c) => deviceEnv(c, (await c.hub.devices.deviceIn(c.project.uid, c.params.device)).uid));
  r.add('PUT', `${D}/environment_variables`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.env.envPut('device', d.uid, await envBody(c));
    return deviceEnv(c, d.uid);
  });
  r.add('DELETE', `${D}/environment_variables/:key`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    await c.hub.env.envDelete('device', d.uid, c.params.key);
    return deviceEnv(c, d.uid);
  });

  // firmware and DFU
  r.add('GET', `${P}/firmware`, 'project', async (c) => ok((await c.hub.firmware.firmware(c.project.uid, {
    type: c.str('firmwareType') ?? c.str('type'), filename: c.str('filename'), version: c.str('version'),
  })).map(firmwareJson)));
  r.add('PUT', `${P}/firmware/:type/:filename`, 'project', async (c) => {
    const data = await c.raw();
    if (!data.length) throw new HubError(400, 'the body must hold the firmware image');
    return ok(firmwareJson(await c.hub.firmware.putFirmware(c.project.uid, firmwareType(c.params.type), c.params.filename, data,
      { version: c.str('version'), notes: c.str('notes') })));
  }, FIRMWARE_LIMIT);
  r.add('GET', `${P}/firmware/:type/:filename`, 'project', async (c) => {
    return { bytes: await c.hub.firmware.firmwareData(c.project.uid, firmwareType(c.params.type), c.params.filename) };
  });
  for (const action of ['update', 'cancel'] as const) {
    r.add('POST', `${P}/dfu/:type/${action}`, 'project', async (c) => {
      const type = firmwareType(c.params.type);
      const b = await c.body();
      const filename = action === 'update' ? optString(b.filename, 'filename') ?? null : null;
      if (action === 'update' && !filename) throw new HubError(400, 'filename is required');
      const recs = await c.hub.firmware.requestDfuFor(c.project.uid, type, { deviceUIDs: c.list('deviceUID'), tags: c.list('tag'), fleetUIDs: c.list('fleetUID') }, filename);
      return ok({ devices: recs.map((x) => x.deviceUID) });
    });
  }
  r.add('GET', `${D}/dfu/:type/status`, 'project', async (c) => {
    const d = await c.hub.devices.deviceIn(c.project.uid, c.params.device);
    const type = firmwareType(c.params.type);
    const rec = await c.hub.firmware.dfuStatus(c.project.uid, d.uid, type);
    if (!rec) return ok({ device_uid: d.uid, type, status: 'idle' });
    return ok({ device_uid: d.uid, type, filename: rec.filename, status: rec.status, description: rec.text,
      requested: iso(rec.requested), updated: iso(rec.updated), dfu: dfuStateJson(rec),
      history: (rec.history ?? []).map((h) => ({ when: iso(h.when)!, status: h.status, description: h.text })) });
  });

  // routes
  const routeSpec = (b: Record<string, unknown>): { label?: string; url?: string; headers?: { [k: string]: string }; files?: string[]; disabled?: boolean } => {
    const type = b.type ?? b.route_type;
    if (type !== undefined && type !== 'http') throw new HubError(400, 'only http routes are supported');
    // Notehub's REST shape nests settings under `http`; notehub-js (Route model) under `schema`
    const http = optObject(b.http ?? b.schema, 'http') ?? {};
    const filter = optObject(http.filter, 'http.filter') ?? {};
    const headers = optObject(http.http_headers, 'http.http_headers');
    if (headers && !Object.values(headers).every((v) => typeof v === 'string')) throw new HubError(400, 'http_headers values must be strings');
    const disabled = b.disabled;
    if (disabled !== undefined && typeof disabled !== 'boolean') throw new HubError(400, 'disabled must be true or false');
    return { label: optString(b.label, 'label'), url: optString(http.url ?? b.url, 'url'), headers: headers as { [k: string]: string } | undefined,
      files: optStrings(filter.files, 'http.filter.files'), disabled };
  };
  r.add('GET', `${P}/routes`, 'project', async (c) => ok((await c.hub.routes.routesOf(c.project.uid)).map(routeJson)));
  r.add('POST', `${P}/routes`, 'project', async (c) => {
    const s = routeSpec(await c.body());
    if (!s.url) throw new HubError(400, 'http.url is required');
    return ok(routeJson(await c.hub.routes.putRoute(c.project.uid, { ...s, url: s.url })));
  });
  r.add('GET', `${P}/routes/:route`, 'project', async (c) => ok(routeJson(await c.hub.routes.routeIn(c.project.uid, c.params.route))));
  r.add('PUT', `${P}/routes/:route`, 'project', async (c) => {
    const old = await c.hub.routes.routeIn(c.project.uid, c.params.route);
    const s = routeSpec(await c.body());
    return ok(routeJson(await c.hub.routes.putRoute(c.project.uid, { ...s, uid: old.uid, url: s.url ?? old.url })));
  });
  r.add('DELETE', `${P}/routes/:route`, 'project', async (c) => {
    await c.hub.routes.deleteRoute(c.project.uid, c.params.route);
    return ok();
  });

  return r;
}
