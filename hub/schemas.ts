/**
 * JSON schemas (TypeBox) of the HTTP API: the records the hub answers with, the bodies and the
 * query arguments it reads. Fastify validates requests against them, serializes replies with
 * them, and @fastify/swagger turns them into the OpenAPI document (GET /openapi.json).
 * Records stay open (additionalProperties): Notehub adds fields, and so may we.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const open = { additionalProperties: true };
const S = Type.String;
const Opt = Type.Optional;
/** Any JSON object (a note body, headers...). */
export const AnyObject = Type.Object({}, open);

export const ErrorJ = Type.Object({ err: S(), code: Type.Integer(), status: S(), error: S() });
export const EmptyJ = Type.Object({}, open);

export const ProjectJ = Type.Object({ uid: S(), label: S(), created: S(), role: S() }, open);
export const ProductJ = Type.Object({
  uid: S(), label: S(), auto_provision_fleets: Type.Array(S()), disable_devices_by_default: Type.Boolean(),
}, open);
export const FleetJ = Type.Object({ uid: S(), label: S(), created: S() }, open);
export const DeviceJ = Type.Object({
  uid: S(), serial_number: S(), provisioned: S(), product_uid: S(), fleet_uids: Type.Array(S()), tags: Type.Array(S()),
  sku: S(), disabled: Type.Boolean(), last_activity: Opt(S()), voltage: Opt(Type.Number()), temperature: Opt(Type.Number()),
  gps_location: Opt(Type.Object({ when: S(), latitude: Type.Number(), longitude: Type.Number() }, open)),
}, open);
export const NoteJ = Type.Object({ time: Type.Integer(), body: Opt(AnyObject), payload: Opt(S()), deleted: Opt(Type.Boolean()) }, open);
export const FirmwareJ = Type.Object({
  filename: S(), version: S(), MD5: S(), type: S(), length: Type.Integer(), description: S(), created: S(), target: S(), published: Type.Boolean(),
}, open);
export const RouteJ = Type.Object({
  uid: S(), label: S(), type: S(), route_type: S(), modified: S(), disabled: Type.Boolean(),
  http: Opt(Type.Object({
    url: S(), http_headers: Type.Record(S(), S()), filter: Type.Object({ type: S(), files: Type.Array(S()) }, open),
  }, open)),
  proxy: Opt(Type.Object({ url: S(), alias: S(), http_headers: Type.Record(S(), S()), timeout: Type.Number(), fleets: Type.Array(S()) }, open)),
}, open);
export const SignalJ = Type.Object({ connected: Type.Boolean() }, open);
export const EventJ = Type.Object({ uid: S(), device: S(), file: Opt(S()), when: Opt(Type.Number()), received: Opt(Type.Number()) }, open);
export const EnvVars = Type.Record(S(), S());
export const EnvJ = Type.Object({ environment_variables: EnvVars }, open);
export const DeviceEnvJ = Type.Object({
  environment_variables: EnvVars, environment_variables_env_default: EnvVars, environment_variables_effective: EnvVars,
}, open);
export const NotesJ = Type.Object({ total: Type.Integer(), notes: Type.Record(S(), NoteJ) }, open);
export const NoteChangesJ = Type.Object({ changes: Type.Integer(), total: Type.Integer(), notes: Type.Record(S(), NoteJ) }, open);
export const DevicesPageJ = Type.Object({ devices: Type.Array(DeviceJ), has_more: Type.Boolean() }, open);
export const EventsPageJ = Type.Object({ events: Type.Array(EventJ), has_more: Type.Boolean() }, open);
export const EventsCursorJ = Type.Object({ events: Type.Array(EventJ), next_cursor: S(), has_more: Type.Boolean() }, open);
export const FileChangesJ = Type.Object({
  changes: Type.Integer(), total: Type.Integer(), info: Type.Record(S(), Type.Object({ changes: Type.Integer(), total: Type.Integer() }, open)),
}, open);
export const LatestJ = Type.Object({ latest_events: Type.Array(AnyObject) }, open);
export const HealthLogJ = Type.Object({ health_log: Type.Array(Type.Object({ when: S({ format: 'date-time' }), alert: Type.Boolean(), text: S() }, open)) }, open);
export const SessionsJ = Type.Object({
  sessions: Type.Array(Type.Object({
    session: S(), device: S(), sn: S(), product: S(), fleets: Type.Array(S()), when: Type.Number({ description: 'unix seconds' }),
    ip: S(), tls: Type.Boolean(), events: Type.Integer({ description: 'notes the card uploaded in the session' }),
  }, open)),
  has_more: Type.Boolean(),
}, open);
export const MembersJ = Type.Object({ members: Type.Array(Type.Object({ name: S(), email: S(), role: S() }, open)) }, open);
/** A route log entry as Notehub shows one (`attempt`, `dead`: opencard's additions). */
export const RouteLogJ = Type.Object({
  date: S(), routeUID: S(), eventUID: S(), attn: Type.Boolean(), status: S(), text: S(), url: S(), attempt: Type.Integer(), dead: Type.Boolean(),
}, open);
export const DfuStatusJ = Type.Object({
  device_uid: S(), type: S(), status: S(), filename: Opt(S()), description: Opt(S()), requested: Opt(S()), updated: Opt(S()),
}, open);

// ---------------------------------------------------------------- request parts

/** Path parameters: every one a (percent-decoded) string. */
export const params = (...names: string[]): TSchema => Type.Object(Object.fromEntries(names.map((n) => [n, S()])));

/** A repeated query argument (?tag=a&tag=b): always an array, at most 100 values. */
export const List = (description?: string): TSchema => Type.Array(S(), { maxItems: 100, description });
/** An integer query argument with a default. */
export const Int = (min: number, max: number, dflt?: number): TSchema => Type.Integer({ minimum: min, maximum: max, default: dflt });
export const Flag = (): TSchema => S({ enum: ['true', 'false', '1', '0'] });
export const query = (props: Record<string, TSchema>): TSchema => Type.Object(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Opt(v)])));

const eventFilters = {
  deviceUID: List('A device UID (repeatable)'), deviceUIDs: List('Deprecated alias of deviceUID'), fleetUID: List(), sessionUID: List(),
  eventUID: List(), serialNumber: List(), files: List('Notefile names, comma-separated or repeated'),
  sortOrder: S({ enum: ['asc', 'desc'] }),
  startDate: Type.Integer({ minimum: 0, maximum: 999_999_999_999, description: 'unix seconds' }),
  endDate: Type.Integer({ minimum: 0, maximum: 999_999_999_999, description: 'unix seconds' }),
};
export const EventsQuery = query({ ...eventFilters, pageSize: Int(1, 1000, 50), pageNum: Int(1, 1_000_000, 1) });
export const EventsCursorQuery = query({ ...eventFilters, limit: Int(1, 1000, 50), cursor: S() });
export const DevicesQuery = query({
  pageSize: Int(1, 1000, 50), pageNum: Int(1, 1_000_000, 1), tag: List(), serialNumber: List(), fleetUID: List(), deviceUID: List(),
  productUID: List(), sku: List(),
});
export const DfuTargets = query({ deviceUID: List(), tag: List(), fleetUID: List() });
export const RouteLogsQuery = query({
  pageSize: Int(1, 1000, 50), pageNum: Int(1, 1_000_000, 1), deviceUID: List('A device UID, or sn:SERIAL (repeatable)'),
  sortBy: S({ enum: ['captured', 'date'], description: "the event's capture time (default) or the attempt's" }),
  sortOrder: S({ enum: ['asc', 'desc'] }), startDate: eventFilters.startDate, endDate: eventFilters.endDate,
  systemFilesOnly: Flag(), files: List('Notefile names, comma-separated or repeated'),
});

export const body = (props: Record<string, TSchema>, required: string[] = []): TSchema =>
  Type.Object(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, required.includes(k) ? v : Opt(v)])), open);

export const LoginBody = body({ username: S({ minLength: 1 }), password: S({ minLength: 1 }) }, ['username', 'password']);
export const TokenForm = body({
  grant_type: S({ const: 'client_credentials' }), client_id: S({ minLength: 1 }), client_secret: S({ minLength: 1 }),
}, ['grant_type', 'client_id', 'client_secret']);
export const LabelBody = (required: boolean): TSchema => body({ label: S({ minLength: required ? 1 : 0 }) }, required ? ['label'] : []);
export const ProductBody = body({
  product_uid: S({ minLength: 1 }), label: S(), disable_devices_by_default: Type.Boolean(), auto_provision_fleets: Type.Array(S()),
}, ['product_uid']);
export const ProvisionBody = body({ product_uid: S({ minLength: 1 }), device_sn: S() }, ['product_uid']);
export const FleetUIDsBody = body({ fleet_uids: Type.Array(S()) });
/** Base64 (standard alphabet). */
const Payload = (): TSchema => S({ pattern: '^[A-Za-z0-9+/]*={0,2}$' });
/** A note body: a JSON object (null reads as none). */
const NoteObject = Type.Union([AnyObject, Type.Null()]);
const IngestNote = body({ note: S(), body: NoteObject, payload: Payload(), when: Type.Number({ description: 'unix seconds' }), key: S() });
export const IngestBody = body({ file: S(), notes: Type.Array(IngestNote, { maxItems: 1000 }), note: S(), body: NoteObject, payload: Payload(), when: Type.Number(), key: S() });
export const NoteBody = body({ body: NoteObject, payload: Payload() });
export const EnvBody = body({ environment_variables: EnvVars }, ['environment_variables']);
export const DfuBody = body({ filename: S({ minLength: 1 }) }, ['filename']);
const RouteHttp = body({
  url: S(), http_headers: Type.Record(S(), S()), filter: body({ type: S(), files: Type.Array(S()) }),
});
const RouteProxy = body({
  url: S(), alias: S(), http_headers: Type.Record(S(), S()), timeout: Type.Number({ minimum: 0 }), fleets: Type.Array(S()),
});
/** opencard: publish events as notes to a NoteHub API server (url: its /api/note) as this publisher */
const RouteNotehub = body({ url: S(), pid: S({ maxLength: 16 }), psk: S(), filter: body({ type: S(), files: Type.Array(S()) }) });
export const RouteBody = body({
  label: S(), type: S({ enum: ['http', 'proxy', 'notehub'] }), route_type: S({ enum: ['http', 'proxy', 'notehub'] }), url: S(), disabled: Type.Boolean(),
  http: RouteHttp, proxy: RouteProxy, notehub: RouteNotehub, schema: Type.Union([RouteHttp, RouteProxy, RouteNotehub]),
});
