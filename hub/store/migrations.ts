/**
 * Schema migrations for the SQLite store, applied in order; PRAGMA user_version records how
 * many have run. Never edit a shipped step: append a new one.
 */
export const MIGRATIONS: readonly string[] = Object.freeze([
  // 1: the initial schema
  `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created REAL NOT NULL);
  CREATE TABLE projects (
    uid TEXT PRIMARY KEY, label TEXT NOT NULL, created REAL NOT NULL, owner_id INTEGER NOT NULL REFERENCES users(id));
  CREATE TABLE members (
    project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, role TEXT NOT NULL,
    PRIMARY KEY (project_uid, user_id));
  CREATE TABLE products (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, created REAL NOT NULL, disable_by_default INTEGER NOT NULL DEFAULT 0,
    auto_fleets TEXT NOT NULL DEFAULT '[]');
  CREATE TABLE fleets (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, created REAL NOT NULL);
  CREATE TABLE devices (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    product_uid TEXT NOT NULL, sn TEXT NOT NULL DEFAULT '', sku TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]', provisioned REAL NOT NULL, last_activity REAL,
    disabled INTEGER NOT NULL DEFAULT 0, lat REAL, lon REAL, location_when REAL,
    voltage REAL, temperature REAL, change INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX devices_project ON devices(project_uid, uid);
  CREATE TABLE device_fleets (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE,
    fleet_uid TEXT NOT NULL REFERENCES fleets(uid) ON DELETE CASCADE,
    PRIMARY KEY (device_uid, fleet_uid));
  CREATE INDEX device_fleets_fleet ON device_fleets(fleet_uid);
  CREATE TABLE notes (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    id TEXT NOT NULL, body TEXT, payload TEXT, time REAL NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    change INTEGER NOT NULL, origin TEXT NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_uid, file, id));
  CREATE INDEX notes_change ON notes(device_uid, change);
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, project_uid TEXT NOT NULL,
    device_uid TEXT NOT NULL, sn TEXT NOT NULL, file TEXT NOT NULL, session TEXT,
    captured REAL NOT NULL, received REAL NOT NULL, json TEXT NOT NULL);
  CREATE INDEX events_project ON events(project_uid, seq);
  CREATE INDEX events_device ON events(device_uid, seq);
  CREATE TABLE env_vars (
    scope TEXT NOT NULL, owner_uid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (scope, owner_uid, key));
  CREATE TABLE firmware (
    project_uid TEXT NOT NULL, type TEXT NOT NULL, filename TEXT NOT NULL, version TEXT NOT NULL,
    notes TEXT NOT NULL, md5 TEXT NOT NULL, length INTEGER NOT NULL, created REAL NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (project_uid, type, filename));
  CREATE TABLE dfu (
    device_uid TEXT NOT NULL, type TEXT NOT NULL, project_uid TEXT NOT NULL, filename TEXT NOT NULL,
    status TEXT NOT NULL, text TEXT NOT NULL, requested REAL NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (device_uid, type));
  CREATE TABLE tokens (
    hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, user_id INTEGER, client_id TEXT,
    name TEXT NOT NULL, created REAL NOT NULL, expires REAL, revoked INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE clients (
    client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL,
    project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    created REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE routes (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, type TEXT NOT NULL, url TEXT NOT NULL, headers TEXT NOT NULL, files TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, modified REAL NOT NULL);
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, route_uid TEXT NOT NULL, event_uid TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '');
  CREATE INDEX deliveries_due ON deliveries(dead, next_at);
  `,
  // 2: event filters by device or file answer from the index alone, even deep into the pages
  `
  DROP INDEX events_device;
  CREATE INDEX events_project_device ON events(project_uid, device_uid, seq);
  CREATE INDEX events_project_file ON events(project_uid, file, seq);
  `,
  // 3: what the device-sync listener needs: the device secret (trust on first use), upload keys
  // so a note re-sent after a cut link is stored once, and when each environment last changed
  `
  ALTER TABLE devices ADD COLUMN secret TEXT;
  ALTER TABLE events ADD COLUMN dedup TEXT;
  CREATE UNIQUE INDEX events_dedup ON events(device_uid, dedup) WHERE dedup IS NOT NULL;
  CREATE TABLE env_meta (
    scope TEXT NOT NULL, owner_uid TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (scope, owner_uid));
  `,
  // 4: change trackers of API clients reading a device notefile incrementally
  `
  CREATE TABLE trackers (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    tracker TEXT NOT NULL, seen INTEGER NOT NULL, PRIMARY KEY (device_uid, file, tracker));
  `,
  // 5: the device listener: each device's epochs (the hub's, drawn when it records the device, and
  // the card's last seen) and per-notefile upUntil, templates by version, sync sessions, and
  // deleted devices (refused, never re-provisioned by TOFU)
  `
  ALTER TABLE devices ADD COLUMN hub_epoch TEXT;
  ALTER TABLE devices ADD COLUMN card_epoch TEXT;
  CREATE TABLE sync_files (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    up_until INTEGER NOT NULL, PRIMARY KEY (device_uid, file));
  CREATE TABLE sync_templates (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    version INTEGER NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (device_uid, file, version));
  CREATE TABLE sync_sessions (
    uid TEXT PRIMARY KEY, device_uid TEXT NOT NULL, started REAL NOT NULL, ended REAL,
    remote TEXT NOT NULL, tls INTEGER NOT NULL, features INTEGER NOT NULL,
    notes_up INTEGER NOT NULL DEFAULT 0, notes_down INTEGER NOT NULL DEFAULT 0, reason TEXT);
  CREATE INDEX sync_sessions_device ON sync_sessions(device_uid, started);
  CREATE TABLE deleted_devices (uid TEXT PRIMARY KEY, deleted REAL NOT NULL);
  `,
  // 6: what the API filters and sorts on (event date ranges, the device list's order), and each
  // route's own delivery queue (routes are delivered independently of each other)
  `
  CREATE INDEX IF NOT EXISTS events_project_captured ON events(project_uid, captured);
  CREATE INDEX IF NOT EXISTS devices_project_order ON devices(project_uid, provisioned, uid);
  CREATE INDEX IF NOT EXISTS deliveries_route ON deliveries(route_uid, dead, next_at);
  `,
  // 7: a deletion holds in the project that deleted the device, so another project cannot lock a
  // UID out of the project of its product ('' = deleted before this step, holds everywhere)
  `
  CREATE TABLE deleted_devices_6 (
    uid TEXT NOT NULL, project_uid TEXT NOT NULL DEFAULT '', deleted REAL NOT NULL, PRIMARY KEY (uid, project_uid));
  INSERT INTO deleted_devices_6 (uid, deleted) SELECT uid, deleted FROM deleted_devices;
  DROP TABLE deleted_devices;
  ALTER TABLE deleted_devices_6 RENAME TO deleted_devices;
  `,
  // 8: proxy routes (web.* requests of the cards): alias, timeout and fleets as JSON
  `
  ALTER TABLE routes ADD COLUMN proxy TEXT;
  `,
  // 9: firmware updates end to end: each image's source name, CRC-32 and modified time, and each
  // device update's progress, version and phase history (JSON objects)
  `
  ALTER TABLE firmware ADD COLUMN info TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE dfu ADD COLUMN info TEXT NOT NULL DEFAULT '{}';
  `,
  // 10: the NoteHub publishing API: publishers (PID, PSK) and their notes, published as pages
  `
  CREATE TABLE publishers (
    pid TEXT PRIMARY KEY, psk TEXT NOT NULL, description TEXT NOT NULL, created REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE published_notes (
    note_id TEXT PRIMARY KEY, short_id TEXT NOT NULL UNIQUE, pid TEXT NOT NULL, note TEXT NOT NULL, title TEXT NOT NULL,
    password TEXT NOT NULL, theme TEXT NOT NULL, published REAL NOT NULL, edited REAL, views INTEGER NOT NULL DEFAULT 0);
  `,
  // 11: session tickets (docs/SYNC.md 3.1): each device's one ticket, its resumption secret, when issued
  `
  CREATE TABLE sync_tickets (
    device_uid TEXT PRIMARY KEY REFERENCES devices(uid) ON DELETE CASCADE, ticket TEXT NOT NULL, secret TEXT NOT NULL, issued REAL NOT NULL);
  `,
  // 12: route logs: every delivery attempt (its HTTP status, the start of the answer), the newest
  // ROUTE_LOG_KEEP per route (GET .../routes/{R}/route-logs, .../events/{E}/route-logs)
  `
  CREATE TABLE route_logs (
    id INTEGER PRIMARY KEY, route_uid TEXT NOT NULL, project_uid TEXT NOT NULL, event_uid TEXT NOT NULL, device_uid TEXT NOT NULL,
    file TEXT NOT NULL, captured REAL NOT NULL, logged REAL NOT NULL, attempt INTEGER NOT NULL, status INTEGER, error TEXT,
    text TEXT NOT NULL, url TEXT NOT NULL, dead INTEGER NOT NULL);
  CREATE INDEX route_logs_route ON route_logs(route_uid, id);
  CREATE INDEX route_logs_event ON route_logs(project_uid, event_uid);
  `,
]);
