// What a new user reads on the first start: a login line that works as printed, the command that
// makes a new admin token (run while the hub runs), and a port in use naming the flag to change.
import { execFile } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import { startHub, type RunningHub } from '../../hub/server';
import { testDatabase } from '../hub/stores';
import { SIM_CLI, tempDir } from '../support/sim-process';

const HUB_CLI = path.resolve(__dirname, '../../hub/cli.js');

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => execFile(process.execPath, [file, ...args], { timeout: 30_000 }, (e, stdout, stderr) =>
    ok({ code: e ? (e.code as number) : 0, stdout, stderr })));
}

/** The words a POSIX shell makes of a printed command line (quotes as the hub prints them). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) words.push(m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]);
  return words;
}

it('the first start prints a login command that works as printed (no "..." to fill in)', async () => {
  const lines: string[] = [];
  const h = await startHub({ dataDir: tempDir('opencard-first-'), port: 0, log: (l) => lines.push(l) });
  try {
    const login = lines.find((l) => l.includes('log in:'))!;
    const words = shellWords(login.slice(login.indexOf('curl')));
    expect(words.slice(0, 3)).toEqual(['curl', '-X', 'POST']);
    expect(words[3]).toBe(`${h.url}/auth/login`);
    expect(words[4]).toBe('-d');
    // what curl -d sends: the word as the body, form-encoded content type
    const res = await fetch(words[3], { method: 'POST', body: words[5], headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ session_token: expect.any(String) });
  } finally { await h.close(); }
});

it('a restart names the command that makes a new admin token; it works while the hub runs', async () => {
  const dir = path.join(tempDir('opencard-lost-'), 'hub dir'); // a space, to check the quoting
  await (await startHub({ dataDir: dir, port: 0, log: () => undefined })).close();
  const lines: string[] = [];
  const h = await startHub({ dataDir: dir, port: 0, log: (l) => lines.push(l) });
  try {
    const hint = lines.find((l) => l.includes('lost the admin token?'));
    expect(hint).toBeDefined();
    const words = shellWords(hint!.slice(hint!.indexOf('npx notehub-lite')).replace(/ prints a new one$/, ''));
    expect(words.slice(0, 2)).toEqual(['npx', 'notehub-lite']);
    const made = await run(HUB_CLI, words.slice(2));
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    const res = await fetch(`${h.url}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  } finally { await h.close(); }
});

async function busyPort(): Promise<{ port: number; close: () => void }> {
  const s = net.createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

it.each([
  ['notecard-sim', '--hub-port'],
  ['notecard-sim', '--hub-device-port'],
  ['notecard-sim', '--tcp'],
  ['notehub-lite', '--port'],
  ['notehub-lite', '--device-port'],
])('%s: a port in use names %s', async (cli, flag) => {
  const busy = await busyPort();
  try {
    const dir = tempDir('opencard-busy-');
    const others = ['--hub-port', '--hub-device-port', '--port', '--device-port'].filter((f) => f !== flag);
    const args = cli === 'notehub-lite'
      ? ['serve', '--data', dir, ...others.filter((f) => f === '--port' || f === '--device-port').flatMap((f) => [f, '0']), flag, String(busy.port)]
      : ['--data', path.join(dir, 'card'), '--with-hub', path.join(dir, 'hub'), '--log-level', 'warn',
        ...others.filter((f) => f.startsWith('--hub')).flatMap((f) => [f, '0']), flag, String(busy.port)];
    const r = await run(cli === 'notehub-lite' ? HUB_CLI : SIM_CLI, args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`port ${busy.port} is already in use`);
    expect(r.stderr).toContain(`choose another with ${flag} N`);
    expect(r.stderr).not.toContain('    at '); // no stack trace
  } finally { busy.close(); }
});

it('two hubs starting at once on one empty PostgreSQL database: one admin, both serve, one banner', async () => {
  const db = await testDatabase('postgres');
  const lines: string[][] = [[], []];
  const hubs = await Promise.allSettled(lines.map((l) => startHub({ db, dataDir: tempDir('opencard-race-'), port: 0, log: (x) => l.push(x) })));
  try {
    expect(hubs.map((h) => h.status)).toEqual(['fulfilled', 'fulfilled']);
    const [a, b] = hubs.map((h) => (h as PromiseFulfilledResult<RunningHub>).value);
    expect(await a.hub.store.countUsers()).toBe(1);
    // exactly one printed a password, and it is the admin's
    const banners = lines.map((l) => l.find((x) => x.startsWith('  password: ')));
    expect(banners.filter(Boolean)).toHaveLength(1);
    const password = banners.find(Boolean)!.slice('  password: '.length);
    for (const h of [a, b]) {
      const res = await fetch(`${h.url}/auth/login`, { method: 'POST', body: JSON.stringify({ username: 'admin', password }), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(200);
    }
  } finally {
    for (const h of hubs) if (h.status === 'fulfilled') await h.value.close();
  }
}, 30_000);
