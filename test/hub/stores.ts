/**
 * The hub's storage contract is tested on both stores: `describe.each(STORES)` and a store (or a
 * database URL for startHub) of that kind. One PostgreSQL server per test file, started when
 * first needed and stopped after the file's tests; each store gets a fresh database.
 */
import { SqliteStore } from '../../hub/store/sqlite';
import { PostgresStore } from '../../hub/store/postgres';
import type { Store } from '../../hub/store/types';
import { startPostgres, type PgServer } from '../support/postgres';

export const STORES = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORES)[number];

let server: Promise<PgServer> | undefined;

export function pgServer(): Promise<PgServer> {
  server ??= startPostgres();
  return server;
}

afterAll(async () => {
  const s = server;
  server = undefined;
  await (await s)?.stop();
});

/** A fresh database: startHub's `db` option (undefined: SQLite in the data directory). */
export async function testDatabase(kind: StoreKind): Promise<string | undefined> {
  return kind === 'postgres' ? (await pgServer()).createDatabase() : undefined;
}

/** A fresh, empty store of this kind (SQLite in memory). */
export async function testStore(kind: StoreKind, opts: { now?: () => number } = {}): Promise<Store> {
  if (kind === 'sqlite') return new SqliteStore(':memory:', opts);
  return PostgresStore.open(await (await pgServer()).createDatabase(), opts);
}
