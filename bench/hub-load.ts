/**
 * What the hub benchmarks share: the bench project (a user, 100 devices and the notes they send),
 * hub child processes, and HTTP load from autocannon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Hub } from '../hub/hub';
import { waitFor } from '../test/support/wait';

export interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  non2xx: number; errors: number; timeouts: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<CannonResult>;

export const CONNECTIONS = 50;
export const DEVICES = 100;
const PRODUCT = 'com.opencard.bench:bench';

/** The i-th note a bench device sends. */
export const note = (i: number): { body: Record<string, number | string>; when: number } =>
  ({ body: { temp: 20 + (i % 100) / 10, humidity: 40 + (i % 37), seq: i, status: 'ok' }, when: 1700000000 + i });

/** A user with a token, a project with a product and DEVICES devices, straight through the Hub. */
export async function benchProject(hub: Hub): Promise<{ project: string; token: string }> {
  await hub.accounts.createUser('bench', 'bench-password');
  const project = (await hub.projects.createProject('bench', 'bench')).uid;
  await hub.projects.createProduct(project, PRODUCT);
  for (let d = 0; d < DEVICES; d++) await hub.devices.provisionDevice(PRODUCT, `dev:${d}`, { sn: `sn${d}` });
  const { token } = await hub.accounts.createToken('bench');
  return { project, token };
}

export interface HubProcess { url: string; child: ChildProcess; stop: () => Promise<void> }

/**
 * `notehub-lite serve` in a child process. Its log (an access line per request) goes to a file,
 * as a deployed hub's would: read through a pipe it cost this process, the load generator, time.
 */
export async function spawnHub(args: string[], log: string): Promise<HubProcess> {
  const out = openSync(log, 'w');
  const child = spawn(process.execPath, [resolve(__dirname, '../hub/cli.js'), 'serve', '--port', '0', ...args], { stdio: ['ignore', out, 'inherit'] });
  closeSync(out);
  let exited = false;
  child.once('exit', () => { exited = true; });
  const url = await waitFor('the hub to listen', () => {
    if (exited) throw new Error(`hub exited: ${readFileSync(log, 'utf8')}`);
    return /listening on (\S+)/.exec(readFileSync(log, 'utf8'))?.[1];
  });
  return { url, child, stop: () => new Promise<void>((r) => { if (exited) r(); else { child.once('exit', () => r()); child.kill('SIGTERM'); } }) };
}
