/**
 * The OpenAPI document the hub serves (generated from the route table's schemas) against the
 * operations the official client, @blues-inc/notehub-js, calls: every route that claims a
 * notehub-js operation (operationId) must match its method, path, path and query parameters,
 * request body fields and the fields its response models require. What we knowingly leave out
 * is listed below, so a gap is a decision written down, not an accident.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startHub, type RunningHub } from '../../hub/server';
import { apiRouter } from '../../hub/api';
import { OPENAPI_PATH } from '../../hub/http';
import { removeDir, tempDir } from './helpers';

type Data = Record<string, unknown>;
interface Schema { type?: string; properties?: Record<string, Schema>; required?: string[]; items?: Schema; patternProperties?: Record<string, Schema>; additionalProperties?: unknown }
interface Op { name: string; method: string; path: string; query: string[]; body?: string; returns?: { model: string; array: boolean } }

const NJS = dirname(require.resolve('@blues-inc/notehub-js/package.json'));

/** The operations of notehub-js, read from its generated API classes. */
function notehubOps(): Map<string, Op> {
  const ops = new Map<string, Op>();
  for (const file of readdirSync(join(NJS, 'dist/api'))) {
    const src = readFileSync(join(NJS, 'dist/api', file), 'utf8');
    const parts = src.split(/key: "/);
    for (let i = 1; i < parts.length; i++) {
      const m = /^(\w+)WithHttpInfo"/.exec(parts[i]);
      if (!m) continue;
      const text = parts[i];
      const call = /callApi\("([^"]+)", "(\w+)"/.exec(text)!;
      const query = [...(/var queryParams = \{([\s\S]*?)\};/.exec(text)?.[1] ?? '').matchAll(/(\w+):/g)].map((x) => x[1]);
      const ret = /returnType = (\[?)_(\w+)\["default"\]/.exec(text);
      // the body's model is in the JSDoc above this method (the end of the previous part)
      const pb = /var postBody = (?:opts\["(\w+)"\]|(\w+));/.exec(text);
      const postBody = pb?.[1] ? `opts\\.${pb[1]}` : pb?.[2];
      const doc = parts[i - 1];
      const body = postBody && postBody !== 'null' ? new RegExp(`@param \\{module:model/(\\w+)\\} ${postBody}\\b`).exec(doc)?.[1] : undefined;
      ops.set(m[1], { name: m[1], method: call[2], path: call[1], query, body, returns: ret ? { model: ret[2], array: ret[1] === '[' } : undefined });
    }
  }
  return ops;
}

/** A notehub-js model: its properties (with their model, if any) and the ones it requires. */
function model(name: string): { props: Map<string, { model?: string; array: boolean }>; required: string[] } {
  const src = readFileSync(join(NJS, 'dist/model', `${name}.js`), 'utf8');
  const props = new Map<string, { model?: string; array: boolean }>();
  for (const m of src.matchAll(/data\.hasOwnProperty\("(\w+)"\)\) \{\s*obj\["\w+"\] = ([^;]*);/g)) {
    const t = /convertToType\(data\["\w+"\], (\[?)_(\w+)\["default"\]/.exec(m[2]) ?? /^(\[?)_(\w+)\["default"\]\.constructFromObject/.exec(m[2]);
    props.set(m[1], { model: t?.[2], array: t?.[1] === '[' });
  }
  const req = new RegExp(`${name}\\.RequiredProperties = (\\[[^\\]]*\\])`).exec(src);
  return { props, required: req ? JSON.parse(req[1]) as string[] : [] };
}

/** Query parameters notehub-js may send that the hub accepts and ignores (sorted by capture time, JSON only...). */
const IGNORED_QUERY: Record<string, string[]> = {
  getProjectEvents: ['sortBy', 'systemFilesOnly', 'format', 'selectFields', 'since'],
  getFleetEvents: ['sortBy', 'systemFilesOnly', 'format', 'selectFields', 'since'],
  getProjectEventsByCursor: ['systemFilesOnly'],
  getFleetEventsByCursor: ['systemFilesOnly'],
  deleteProjectDevice: ['purge'],
  getFirmwareInfo: ['product', 'target', 'md5', 'unpublished'],
};
/** Query parameters the hub reads beyond notehub-js's (Notehub's documented ones, or opencard's). */
const EXTRA_QUERY: Record<string, string[]> = {
  getProjectEvents: [],
  getProjectDevices: ['tag', 'serialNumber', 'fleetUID', 'deviceUID', 'productUID', 'sku'],
  getProjectFleetDevices: ['tag', 'serialNumber', 'fleetUID', 'deviceUID', 'productUID', 'sku'],
  getProjectEventsByCursor: ['deviceUIDs', 'sessionUID', 'eventUID', 'serialNumber', 'startDate', 'endDate'],
  getFleetEventsByCursor: ['deviceUIDs', 'fleetUID', 'sessionUID', 'eventUID', 'serialNumber'],
  handleNoteChanges: ['delete'],
  handleNoteGet: ['delete'],
  getFirmwareInfo: ['type'],
};
/** Response fields notehub-js's models require that the hub sends only when it has them. */
const OPTIONAL_REPLY: Record<string, string[]> = {
  // a card that never reported its voltage or temperature has none to send
  'Device': ['voltage', 'temperature'],
  // a device's GPS fix is a position only: no place name, country or time zone lookup
  'Location': ['name', 'country', 'timezone'],
};

let hub: RunningHub;
let dir: string;
let doc: { openapi: string; paths: Record<string, Record<string, Data>> };

beforeAll(async () => {
  dir = tempDir('openapi');
  hub = await startHub({ dataDir: dir, port: 0, log: () => undefined, bootstrap: false });
  const r = await fetch(`${hub.url}${OPENAPI_PATH}`);
  expect(r.status).toBe(200);
  doc = await r.json() as typeof doc;
});
afterAll(async () => {
  await hub?.close();
  removeDir(dir);
});

/** notehub-js operations the hub does not serve (404, as any unknown route), and why. */
const NOT_SERVED: Record<string, string> = {
  getAlerts: 'alerts come from monitors, which the hub has none of',
  createMonitor: 'monitors (alerting on event fields) are not built',
  deleteMonitor: 'monitors are not built',
  getMonitor: 'monitors are not built',
  getMonitors: 'monitors are not built',
  updateMonitor: 'monitors are not built',
  getDevicePublicKey: 'devices authenticate with a shared secret, not a key pair',
  getProjectDevicePublicKeys: 'devices authenticate with a shared secret, not a key pair',
  getDeviceEnvironmentVariablesByPin: 'no device PINs (a Notehub product feature)',
  putDeviceEnvironmentVariablesByPin: 'no device PINs (a Notehub product feature)',
  enableDeviceConnectivityAssurance: 'connectivity assurance is a Blues cellular service',
  disableDeviceConnectivityAssurance: 'connectivity assurance is a Blues cellular service',
  cloneProject: 'not built',
  deleteProject: 'not built',
  setGlobalTransformation: 'JSONata transformations are not built',
  enableGlobalTransformation: 'JSONata transformations are not built',
  disableGlobalTransformation: 'JSONata transformations are not built',
  getProjectOTAStatus: "Notehub's newer OTA API: the DFU routes (dfu/{type}/update, .../status) cover the same ground",
  updateProjectFirmware: "Notehub's newer OTA API: the DFU routes cover the same ground",
  handleNotefileDelete: 'the sync protocol has no hub-to-card notefile deletion: deleting the hub\'s copy alone would part a .db file from the card\'s',
};

const norm = (path: string): string => path.replace(/\{[^}]+\}/g, '{}');
const ours = (): { path: string; method: string; op: Data }[] => Object.entries(doc.paths)
  .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));

it('is served without a token, as OpenAPI 3 with every route of the table', () => {
  expect(doc.openapi).toMatch(/^3\./);
  const table = apiRouter().list().map((r) => `${r.method} ${r.pattern.replace(/:(\w+)/g, '{$1}')}`).sort();
  expect(ours().filter((o) => o.method !== 'HEAD').map((o) => `${o.method} ${o.path}`).sort()).toEqual(table);
});

it('serves every notehub-js operation but those listed as not served (and serves none of those)', () => {
  const claimed = new Set(ours().map((o) => String(o.op.operationId ?? '')));
  const unlisted = [...notehubOps().keys()].filter((id) => !claimed.has(id) && !(id in NOT_SERVED));
  expect(unlisted).toEqual([]);
  expect(Object.keys(NOT_SERVED).filter((id) => claimed.has(id))).toEqual([]);
});

it('claims notehub-js operations that exist, with the same method, path and path parameters', () => {
  const njs = notehubOps();
  const claimed = ours().filter((o) => o.op.operationId);
  expect(claimed.length).toBeGreaterThan(40);
  for (const { path, method, op } of claimed) {
    const theirs = njs.get(String(op.operationId));
    expect([op.operationId, theirs !== undefined]).toEqual([op.operationId, true]);
    expect([op.operationId, method, norm(path)]).toEqual([op.operationId, theirs!.method, norm(theirs!.path)]);
    const pathParams = ((op.parameters ?? []) as Data[]).filter((p) => p.in === 'path');
    expect([op.operationId, pathParams.length]).toEqual([op.operationId, (theirs!.path.match(/\{/g) ?? []).length]);
  }
});

it('reads every query parameter notehub-js sends (or ignores it knowingly), and invents none', () => {
  const njs = notehubOps();
  for (const { op } of ours().filter((o) => o.op.operationId && o.method !== 'HEAD')) {
    const id = String(op.operationId);
    const theirs = njs.get(id)!.query;
    const mine = ((op.parameters ?? []) as Data[]).filter((p) => p.in === 'query').map((p) => String(p.name));
    const ignored = IGNORED_QUERY[id] ?? [];
    expect([id, theirs.filter((q) => !mine.includes(q) && !ignored.includes(q))]).toEqual([id, []]);
    // an ignored parameter is really not read (else take it off the list)
    expect([id, ignored.filter((q) => mine.includes(q))]).toEqual([id, []]);
    expect([id, mine.filter((q) => !theirs.includes(q) && !(EXTRA_QUERY[id] ?? []).includes(q))]).toEqual([id, []]);
  }
});

it('requires no body field notehub-js cannot send', () => {
  const njs = notehubOps();
  for (const { op } of ours().filter((o) => o.op.operationId)) {
    const id = String(op.operationId);
    const theirs = njs.get(id)!;
    const body = ((op.requestBody as Data | undefined)?.content as Record<string, { schema: Schema }> | undefined)?.['application/json']?.schema;
    if (!body?.required?.length) continue;
    expect([id, theirs.body !== undefined]).toEqual([id, true]);
    const props = model(theirs.body!).props;
    expect([id, body.required.filter((f) => !props.has(f))]).toEqual([id, []]);
  }
});

it('answers with every field notehub-js response models require', () => {
  const njs = notehubOps();
  const missing: string[] = [];
  const check = (where: string, name: string, schema: Schema, depth: number): void => {
    const m = model(name);
    const props = schema.properties ?? {};
    for (const f of m.required) {
      if (!(schema.required ?? []).includes(f) && !(OPTIONAL_REPLY[name] ?? []).includes(f)) missing.push(`${where}: ${name}.${f}`);
    }
    if (depth > 3) return;
    for (const [f, t] of m.props) {
      let sub = props[f];
      if (!t.model || !sub) continue;
      if (t.array) sub = sub.items ?? {};
      if (sub.type === 'object' && sub.properties) check(where, t.model, sub, depth + 1);
    }
  };
  let checked = 0;
  for (const { op } of ours().filter((o) => o.op.operationId)) {
    const id = String(op.operationId);
    const ret = njs.get(id)!.returns;
    if (!ret) continue;
    let schema = ((op.responses as Data)['200'] as { content: Record<string, { schema: Schema }> }).content['application/json'].schema;
    expect([id, ret.array ? 'array' : 'object']).toEqual([id, schema.type]);
    if (ret.array) schema = schema.items!;
    check(id, ret.model, schema, 0);
    checked++;
  }
  expect(checked).toBeGreaterThan(25);
  expect(missing).toEqual([]);
});
