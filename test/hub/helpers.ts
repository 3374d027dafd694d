/** Shared test helpers: a hub child process on loopback, the CLI, and a fetch wrapper. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(__dirname, '../../hub/cli.js');

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `hub-${tag}-`));
}
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Spawned {
  url: string; token: string; projectUID: string; productUID: string; password: string;
  /** the device sync port (`--device-port 0` unless `extra` names one) */
  devicePort: number;
  child: ChildProcess; stop(): Promise<void>;
}

/** `notehub-lite serve --port 0 --device-port 0` as a child process; resolves once it prints its URL. */
export function spawnHub(dataDir: string, extra: string[] = []): Promise<Spawned> {
  const password = 'admin-password-1';
  const device = extra.includes('--device-port') ? [] : ['--device-port', '0'];
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data', dataDir, '--admin-password', password, ...device, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'], env: process.env, // jest's process.env (a test may set OPENCARD_HUB_DB), not the worker's
  });
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`hub did not start: ${out} ${err}`)), 15000);
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => fail(new Error(`hub exited (${code}): ${out} ${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      // from here on the hub's log (an access line per request) is drained, not kept and searched
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      const field = (name: string): string => (new RegExp(`${name}:\\s+(\\S+)`).exec(out) ?? [])[1] ?? '';
      ok({
        url: m[1], devicePort: Number((/device port (\d+)/.exec(out) ?? [])[1] ?? 0), token: field('token'), projectUID: field('project'), productUID: field('product'), password, child,
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done(); // already gone (killed)
          child.removeAllListeners('exit');
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

/** Run a notehub-lite subcommand; resolves with stdout (rejects on a non-zero exit). */
export function cli(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    execFile(process.execPath, [CLI, ...args], { env: process.env }, (e, stdout, stderr) => (e ? fail(new Error(`${e.message}\n${stderr}`)) : ok(stdout.trim())));
  });
}

export interface Res { status: number; body: Record<string, unknown>; headers: Headers; text: string }

/** fetch with a bearer token (or none) returning status and parsed JSON. */
export async function call(url: string, token: string | null, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const h: Record<string, string> = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let data: string | Uint8Array | undefined;
  if (body instanceof Uint8Array || typeof body === 'string') data = body;
  else if (body !== undefined) { data = JSON.stringify(body); h['Content-Type'] ??= 'application/json'; }
  const res = await fetch(url, { method, headers: h, body: data });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try { parsed = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: res.status, body: parsed, headers: res.headers, text };
}
