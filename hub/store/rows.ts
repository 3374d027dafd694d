// Rows to records, the same for both stores (sqlite.ts, postgres.ts): the columns are the same,
// and JSON columns (`info`, `headers`, `files`, `proxy`) come back as text from both.
import type { DfuRecord, FirmwareRecord, ProxySettings, PublisherSettings, RouteLogQuery, RouteLogRecord, RouteRecord, SyncSessionRecord } from './types';

export type Row = Record<string, unknown>;
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const parse = <T>(v: unknown, dflt: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v === null || v === undefined ? dflt : (v as T));

export function firmwareFromRow(r: Row): FirmwareRecord {
  const info = JSON.parse(str(r.info) || '{}') as { source?: string; crc32?: number; modified?: number };
  return { projectUID: str(r.project_uid), type: str(r.type) as FirmwareRecord['type'], filename: str(r.filename), version: str(r.version),
    notes: str(r.notes), md5: str(r.md5), length: Number(r.length), created: Number(r.created),
    source: info.source ?? str(r.filename), crc32: info.crc32 ?? 0, modified: info.modified ?? Number(r.created) };
}

export function dfuFromRow(r: Row): DfuRecord {
  const info = JSON.parse(str(r.info) || '{}') as Pick<DfuRecord, 'read' | 'length' | 'version' | 'history'>;
  return { deviceUID: str(r.device_uid), projectUID: str(r.project_uid), type: str(r.type) as DfuRecord['type'], filename: str(r.filename),
    status: str(r.status) as DfuRecord['status'], text: str(r.text), requested: Number(r.requested), updated: Number(r.updated), ...info };
}

export function routeFromRow(r: Row): RouteRecord {
  const type = r.type === 'proxy' || r.type === 'notehub' ? r.type : 'http';
  const rec: RouteRecord = { uid: str(r.uid), projectUID: str(r.project_uid), label: str(r.label), type, url: str(r.url),
    headers: parse(r.headers, {}), files: parse<string[]>(r.files, []), disabled: !!r.disabled, created: Number(r.created), modified: Number(r.modified) };
  if (rec.type === 'proxy') rec.proxy = parse<ProxySettings>(r.proxy, { alias: '', timeout: 0, fleets: [] });
  // the `proxy` column holds the type's own settings: a notehub route's publisher
  if (rec.type === 'notehub') rec.publisher = parse<PublisherSettings>(r.proxy, { pid: '', psk: '' });
  return rec;
}

export function syncSessionFromRow(r: Row): SyncSessionRecord {
  return { uid: str(r.uid), deviceUID: str(r.device_uid), started: Number(r.started), ended: num(r.ended), remote: str(r.remote), tls: !!r.tls,
    features: Number(r.features), notesUp: Number(r.notes_up), notesDown: Number(r.notes_down), reason: r.reason === null ? null : str(r.reason) };
}

/** Attempts a route's log keeps (the newest). */
export const ROUTE_LOG_KEEP = 1000;

export function routeLogFromRow(r: Row): RouteLogRecord {
  return { projectUID: str(r.project_uid), routeUID: str(r.route_uid), eventUID: str(r.event_uid), deviceUID: str(r.device_uid), file: str(r.file),
    captured: Number(r.captured), when: Number(r.logged), attempt: Number(r.attempt), status: num(r.status), error: r.error === null ? null : str(r.error),
    text: str(r.text), url: str(r.url), dead: !!r.dead };
}

/**
 * The WHERE and ORDER BY of a route log query, `?` for each argument; `list` writes the test of a
 * column against a list and its arguments (the stores spell it differently).
 */
export function routeLogSql(q: RouteLogQuery, list: (col: string, vals: string[]) => [string, unknown[]]): { where: string; order: string; args: unknown[] } {
  const where = ['project_uid = ?'];
  const args: unknown[] = [q.projectUID];
  const eq = (col: string, v?: string): void => { if (v !== undefined) { where.push(`${col} = ?`); args.push(v); } };
  const any = (col: string, vals?: string[]): void => {
    if (!vals?.length) return;
    const [sql, a] = list(col, vals);
    where.push(sql);
    args.push(...a);
  };
  eq('route_uid', q.routeUID);
  eq('event_uid', q.eventUID);
  any('device_uid', q.deviceUIDs);
  any('file', q.files);
  if (q.systemFilesOnly) where.push("substr(file, 1, 1) = '_'");
  if (q.startDate !== undefined) { where.push('captured >= ?'); args.push(q.startDate); }
  if (q.endDate !== undefined) { where.push('captured <= ?'); args.push(q.endDate); }
  const dir = q.descending ? 'DESC' : 'ASC';
  return { where: where.join(' AND '), order: `${q.sortBy === 'date' ? 'logged' : 'captured'} ${dir}, id ${dir}`, args };
}
