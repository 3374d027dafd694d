/**
 * A PostgreSQL server of the tests' own: initdb and pg_ctl in a temporary directory, on a free
 * loopback port, torn down by stop() (and, as a last resort, when the process exits). The
 * binaries come from `pg_config --bindir` or Debian's /usr/lib/postgresql/<version>/bin; as root
 * the server runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgServer {
  /** postgres://... of a database on this server */
  url(database: string): string;
  /** a new, empty database; returns its URL */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function binDir(): string {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch { /* not on PATH */ }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('PostgreSQL server binaries not found (Debian: apt-get install postgresql)');
  return join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

let databases = 0;
const PREFIX = 'opencard-pg-';

/**
 * Servers whose test process died without stopping them (a worker killed on a timeout runs no
 * exit handler) are stopped by the next start.
 */
function reapOrphans(bin: string): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(PREFIX))) {
    const dir = join(tmpdir(), name);
    let owner = 0;
    try { owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8')); } catch { continue; }
    try { process.kill(owner, 0); continue; } catch { /* the owner is gone */ }
    const r = spawnSync(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], { encoding: 'utf8', ...runAs() });
    if (r.status === 0 || !existsSync(join(dir, 'data', 'postmaster.pid'))) rmSync(dir, { recursive: true, force: true });
  }
}

/** As root, the server's tools run as the owner of its directory (postgres). */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface PgOptions {
  /** fsync on (default off: durability is not under test; the benchmarks turn it on) */
  fsync?: boolean;
}

export async function startPostgres(opts: PgOptions = {}): Promise<PgServer> {
  const bin = binDir();
  reapOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const user = runAs();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const run = (tool: string, args: string[]): void => {
    const r = spawnSync(join(bin, tool), args, { cwd: dir, encoding: 'utf8', ...user });
    if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr || r.stdout || r.error?.message}`);
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  // commits are not waited for (as SQLite's synchronous=NORMAL); a few more connections for several hubs' pools
  const durability = opts.fsync ? '' : ' -c fsync=off -c full_page_writes=off';
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_connections=200${durability}`;
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  let stopped = false;
  const halt = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { cwd: dir, ...user });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', halt);
  const url = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase(): Promise<string> {
      const name = `t${process.pid}_${++databases}`;
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try { await c.query(`CREATE DATABASE ${name}`); } finally { await c.end(); }
      return url(name);
    },
    async stop(): Promise<void> {
      process.off('exit', halt);
      halt();
    },
  };
}
