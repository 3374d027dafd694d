// The first five minutes: `npm start` builds only when a source changed and says so, and stops
// (simulator and all) when npm itself gets SIGINT or SIGTERM.
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../support/sim-process';

const ROOT = path.resolve(__dirname, '../../..');
const TOOL = path.join(ROOT, 'tools/build-if-changed.js');

/** A project with the tool, a source file and a `build` that counts its runs. */
function fakeProject(): string {
  const dir = tempDir('opencard-build-');
  fs.mkdirSync(path.join(dir, 'tools'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.copyFileSync(TOOL, path.join(dir, 'tools/build-if-changed.js'));
  fs.writeFileSync(path.join(dir, 'src/a.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'fake', private: true,
    scripts: { build: 'node -e "require(\'fs\').appendFileSync(\'builds.txt\', \'x\')"' },
  }));
  return dir;
}

function buildIfChanged(dir: string): { stderr: string; builds: number } {
  const r = spawnSync(process.execPath, [path.join(dir, 'tools/build-if-changed.js')], { cwd: dir, encoding: 'utf8' });
  expect(r.status).toBe(0);
  const builds = fs.existsSync(path.join(dir, 'builds.txt')) ? fs.readFileSync(path.join(dir, 'builds.txt'), 'utf8').length : 0;
  return { stderr: r.stderr, builds };
}

it('builds the first time, then only when a source is newer than the last build, saying which', () => {
  const dir = fakeProject();
  let r = buildIfChanged(dir);
  expect(r.builds).toBe(1);
  expect(r.stderr).toMatch(/^opencard: first build: .*\nopencard: built in [\d.]+ s\n$/);

  r = buildIfChanged(dir);
  expect(r.builds).toBe(1);
  expect(r.stderr).toBe('opencard: build is up to date (dist/)\n');

  const later = Date.now() / 1000 + 60;
  fs.utimesSync(path.join(dir, 'src/a.ts'), later, later);
  r = buildIfChanged(dir);
  expect(r.builds).toBe(2);
  expect(r.stderr).toContain(`opencard: ${path.join('src', 'a.ts')} changed: rebuilding dist/ ...`);
});

/** A copy of this project that runs the built dist/ (linked) with `npm start`. */
function startProject(): string {
  const dir = tempDir('opencard-start-');
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.mkdirSync(path.join(dir, 'tools'));
  fs.copyFileSync(TOOL, path.join(dir, 'tools/build-if-changed.js'));
  fs.mkdirSync(path.join(dir, 'dist'));
  for (const d of ['src', 'hosts', 'hub']) fs.symlinkSync(path.join(ROOT, 'dist', d), path.join(dir, 'dist', d));
  fs.writeFileSync(path.join(dir, 'dist/.build-stamp'), ''); // newer than everything above: no build
  return dir;
}

function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const out: number[] = [];
  const walk = (p: number) => { for (const [c, pp] of rows) if (pp === p) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function gone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

it.each(['SIGINT', 'SIGTERM'] as const)('npm start stops the simulator and its hub on %s to npm', async (signal) => {
  const dir = startProject();
  const npm: ChildProcess = spawn('npm', ['start', '--', '--hub-port', '0', '--hub-device-port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  npm.stdout!.on('data', (d: Buffer) => { out += d; });
  npm.stderr!.on('data', (d: Buffer) => { out += d; });
  let children: number[] = [];
  try {
    await new Promise<void>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`npm start did not get ready: ${out}`)), 30_000);
      const check = () => { if (out.includes('notecard-sim ready:')) { clearTimeout(t); ok(); } };
      npm.stdout!.on('data', check);
      npm.stderr!.on('data', check);
      npm.once('exit', () => fail(new Error(`npm start exited: ${out}`)));
    });
    expect(out).toContain('opencard: build is up to date');
    children = descendants(npm.pid!);
    expect(children.length).toBeGreaterThan(0);
    npm.kill(signal);
    expect(await gone([npm.pid!, ...children])).toEqual([]);
    expect(out).toContain(`notecard-sim: ${signal}, shutting down`);
  } finally {
    for (const p of [npm.pid!, ...children]) if (alive(p)) process.kill(p, 'SIGKILL');
  }
});
