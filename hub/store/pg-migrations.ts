/**
 * Schema migrations for the PostgreSQL store, applied in order under an advisory lock (several
 * hub processes may start at once); the table opencard_schema records how many have run. Never
 * edit a shipped step: append a new one. Step 1 is the SQLite schema as of its step 7.
 */
export const PG_MIGRATIONS: readonly string[] = Object.freeze([
  `
  CREATE TABLE users (
    id SERIAL PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created DOUBLE PRECISION NOT NULL);
  CREATE TABLE projects (
    uid TEXT PRIMARY KEY, label TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, owner_id INTEGER NOT NULL REFERENCES users(id));
  CREATE TABLE members (
    project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, role TEXT NOT NULL,
    PRIMARY KEY (project_uid, user_id));
  CREATE TABLE products (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, disable_by_default BOOLEAN NOT NULL DEFAULT false,
    auto_fleets JSONB NOT NULL DEFAULT '[]');
  CREATE TABLE fleets (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, created DOUBLE PRECISION NOT NULL);
  CREATE TABLE devices (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    product_uid TEXT NOT NULL, sn TEXT NOT NULL DEFAULT '', sku TEXT NOT NULL DEFAULT '',
    tags JSONB NOT NULL DEFAULT '[]', provisioned DOUBLE PRECISION NOT NULL, last_activity DOUBLE PRECISION,
    disabled BOOLEAN NOT NULL DEFAULT false, lat DOUBLE PRECISION, lon DOUBLE PRECISION, location_when DOUBLE PRECISION,
    voltage DOUBLE PRECISION, temperature DOUBLE PRECISION, change BIGINT NOT NULL DEFAULT 0,
    secret TEXT, hub_epoch TEXT, card_epoch TEXT);
  CREATE INDEX devices_project_order ON devices(project_uid, provisioned, uid);
  CREATE TABLE device_fleets (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE,
    fleet_uid TEXT NOT NULL REFERENCES fleets(uid) ON DELETE CASCADE,
    PRIMARY KEY (device_uid, fleet_uid));
  CREATE INDEX device_fleets_fleet ON device_fleets(fleet_uid);
  CREATE TABLE notes (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    id TEXT NOT NULL, body TEXT, payload TEXT, time DOUBLE PRECISION NOT NULL, deleted BOOLEAN NOT NULL DEFAULT false,
    change BIGINT NOT NULL, origin TEXT NOT NULL, delivered BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (device_uid, file, id));
  CREATE INDEX notes_change ON notes(device_uid, change);
  CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY, uid TEXT NOT NULL UNIQUE, project_uid TEXT NOT NULL,
    device_uid TEXT NOT NULL, sn TEXT NOT NULL, file TEXT NOT NULL, session TEXT,
    captured DOUBLE PRECISION NOT NULL, received DOUBLE PRECISION NOT NULL, json TEXT NOT NULL, dedup TEXT);
  CREATE INDEX events_project ON events(project_uid, seq);
  CREATE INDEX events_project_device ON events(project_uid, device_uid, seq);
  CREATE INDEX events_project_file ON events(project_uid, file, seq);
  CREATE INDEX events_project_captured ON events(project_uid, captured);
  CREATE UNIQUE INDEX events_dedup ON events(device_uid, dedup) WHERE dedup IS NOT NULL;
  CREATE TABLE env_vars (
    scope TEXT NOT NULL, owner_uid TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (scope, owner_uid, key));
  CREATE TABLE env_meta (
    scope TEXT NOT NULL, owner_uid TEXT NOT NULL, modified DOUBLE PRECISION NOT NULL, PRIMARY KEY (scope, owner_uid));
  CREATE TABLE firmware (
    project_uid TEXT NOT NULL, type TEXT NOT NULL, filename TEXT NOT NULL, version TEXT NOT NULL,
    notes TEXT NOT NULL, md5 TEXT NOT NULL, length INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL,
    PRIMARY KEY (project_uid, type, filename));
  CREATE TABLE dfu (
    device_uid TEXT NOT NULL, type TEXT NOT NULL, project_uid TEXT NOT NULL, filename TEXT NOT NULL,
    status TEXT NOT NULL, text TEXT NOT NULL, requested DOUBLE PRECISION NOT NULL, updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_uid, type));
  CREATE TABLE tokens (
    hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, user_id INTEGER, client_id TEXT,
    name TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION, revoked BOOLEAN NOT NULL DEFAULT false);
  CREATE TABLE clients (
    client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL,
    project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    created DOUBLE PRECISION NOT NULL, revoked BOOLEAN NOT NULL DEFAULT false);
  CREATE TABLE routes (
    uid TEXT PRIMARY KEY, project_uid TEXT NOT NULL REFERENCES projects(uid) ON DELETE CASCADE,
    label TEXT NOT NULL, type TEXT NOT NULL, url TEXT NOT NULL, headers TEXT NOT NULL, files JSONB NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false, created DOUBLE PRECISION NOT NULL, modified DOUBLE PRECISION NOT NULL);
  CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY, route_uid TEXT NOT NULL, event_uid TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL, dead BOOLEAN NOT NULL DEFAULT false,
    last_error TEXT NOT NULL DEFAULT '');
  CREATE INDEX deliveries_route ON deliveries(route_uid, dead, next_at);
  CREATE TABLE trackers (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    tracker TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY (device_uid, file, tracker));
  CREATE TABLE sync_files (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    up_until BIGINT NOT NULL, PRIMARY KEY (device_uid, file));
  CREATE TABLE sync_templates (
    device_uid TEXT NOT NULL REFERENCES devices(uid) ON DELETE CASCADE, file TEXT NOT NULL,
    version BIGINT NOT NULL, definition TEXT NOT NULL, PRIMARY KEY (device_uid, file, version));
  CREATE TABLE sync_sessions (
    uid TEXT PRIMARY KEY, device_uid TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION,
    remote TEXT NOT NULL, tls BOOLEAN NOT NULL, features BIGINT NOT NULL,
    notes_up INTEGER NOT NULL DEFAULT 0, notes_down INTEGER NOT NULL DEFAULT 0, reason TEXT);
  CREATE INDEX sync_sessions_device ON sync_sessions(device_uid, started);
  CREATE TABLE deleted_devices (
    uid TEXT NOT NULL, project_uid TEXT NOT NULL DEFAULT '', deleted DOUBLE PRECISION NOT NULL, PRIMARY KEY (uid, project_uid));
  `,
  // 2: proxy routes (the cards' web.* requests) and firmware updates end to end (as SQLite's 8 and 9)
  `
  ALTER TABLE routes ADD COLUMN proxy TEXT;
  ALTER TABLE firmware ADD COLUMN info TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE dfu ADD COLUMN info TEXT NOT NULL DEFAULT '{}';
  `,
  // 3: the NoteHub publishing API (as SQLite's 10)
  `
  CREATE TABLE publishers (
    pid TEXT PRIMARY KEY, psk TEXT NOT NULL, description TEXT NOT NULL, created DOUBLE PRECISION NOT NULL, revoked BOOLEAN NOT NULL DEFAULT false);
  CREATE TABLE published_notes (
    note_id TEXT PRIMARY KEY, short_id TEXT NOT NULL UNIQUE, pid TEXT NOT NULL, note TEXT NOT NULL, title TEXT NOT NULL,
    password TEXT NOT NULL, theme TEXT NOT NULL, published DOUBLE PRECISION NOT NULL, edited DOUBLE PRECISION, views INTEGER NOT NULL DEFAULT 0);
  `,
  // 4: cursor reads in commit-safe order: each event knows the transaction that stored it, so a
  // reader stops below the oldest transaction still in flight (see PostgresStore.events)
  `
  ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
  CREATE INDEX events_project_tx ON events(project_uid, tx, seq);
  `,
  // 5: session tickets (as SQLite's 11)
  `
  CREATE TABLE sync_tickets (
    device_uid TEXT PRIMARY KEY REFERENCES devices(uid) ON DELETE CASCADE, ticket TEXT NOT NULL, secret TEXT NOT NULL, issued DOUBLE PRECISION NOT NULL);
  `,
  // 6: route logs (as SQLite's 12)
  `
  CREATE TABLE route_logs (
    id BIGSERIAL PRIMARY KEY, route_uid TEXT NOT NULL, project_uid TEXT NOT NULL, event_uid TEXT NOT NULL, device_uid TEXT NOT NULL,
    file TEXT NOT NULL, captured DOUBLE PRECISION NOT NULL, logged DOUBLE PRECISION NOT NULL, attempt INTEGER NOT NULL, status INTEGER,
    error TEXT, text TEXT NOT NULL, url TEXT NOT NULL, dead BOOLEAN NOT NULL);
  CREATE INDEX route_logs_route ON route_logs(route_uid, id);
  CREATE INDEX route_logs_event ON route_logs(project_uid, event_uid);
  `,
]);
