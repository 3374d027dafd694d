/**
 * Two hub processes (notehub-lite serve --db postgres://...) on one PostgreSQL of the test's own,
 * with a round-robin TCP balancer in front of their device ports: what docs/HUB.md describes for
 * running the hub on several machines.
 */
import { removeDir, spawnHub, tempDir, type Spawned } from '../hub/helpers';
import { startBalancer, type Balancer } from './balancer';
import { startPostgres, type PgServer } from './postgres';

export interface Cluster {
  a: Spawned;
  b: Spawned;
  balancer: Balancer;
  pg: PgServer;
  /** the hubs' database */
  db: string;
  stop(): Promise<void>;
}

export async function startCluster(): Promise<Cluster> {
  const pg = await startPostgres();
  const dirs = [tempDir('cluster-a'), tempDir('cluster-b')];
  const parts: Partial<Cluster> = { pg, db: '' };
  const stop = async (): Promise<void> => {
    await parts.balancer?.close();
    await parts.a?.stop();
    await parts.b?.stop();
    await pg.stop();
    for (const d of dirs) removeDir(d);
  };
  try {
    const db = parts.db = await pg.createDatabase();
    parts.a = await spawnHub(dirs[0], ['--db', db]); // the first creates the admin, project and product
    parts.b = await spawnHub(dirs[1], ['--db', db]);
    parts.balancer = await startBalancer([parts.a.devicePort, parts.b.devicePort]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...(parts as Cluster), stop };
}
