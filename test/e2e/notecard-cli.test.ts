// notecard-cli against a real simulator process: one request, a played file, and an interactive
// session typed through a pseudo-terminal (completion, history kept across sessions).
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as pty from 'node-pty';
import { SimProcess, startSim, tempDir } from '../support/sim-process';

const CLI = path.resolve(__dirname, '../../hosts/node/notecard-cli.js');
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The CLI on a pseudo-terminal: what it printed so far, keys typed, and its exit code. */
class Term {
  out = '';
  exit: Promise<number>;
  #p: pty.IPty;
  #waiters: (() => void)[] = [];
  constructor(args: string[], env: Record<string, string> = {}) {
    this.#p = pty.spawn(process.execPath, [CLI, ...args], { cols: 200, rows: 50, env: { ...process.env, ...env } as Record<string, string> });
    this.#p.onData((d) => { this.out += d; this.#waiters.forEach((w) => w()); });
    this.exit = new Promise((ok) => this.#p.onExit(({ exitCode }) => ok(exitCode)));
  }
  /** Plain text (escape codes removed) printed since `from`. */
  text(from = 0): string { return this.out.slice(from).replace(ANSI, ''); }
  /** Waits until the text printed since `from` matches. */
  waitFor(re: RegExp, from = 0): Promise<string> {
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no ${re} in ${JSON.stringify(this.text(from))}`)), 15_000);
      const check = () => { const m = re.exec(this.text(from)); if (m) { clearTimeout(timer); ok(m[0]); } };
      this.#waiters.push(check);
      check();
    });
  }
  type(keys: string): void { this.#p.write(keys); }
  kill(): void { try { this.#p.kill(); } catch { /* gone */ } }
}

function run(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.NOTECARD_PORT;
  return new Promise((ok) => execFile(process.execPath, [CLI, ...args], { cwd, env }, (e, stdout, stderr) =>
    ok({ code: e ? (e.code as number) : 0, stdout, stderr })));
}

/** Waits for the simulator to print text on stderr (its hint follows the ready line). */
async function printed(p: SimProcess, text: string): Promise<void> {
  for (let i = 0; i < 100 && !p.stderr().includes(text); i++) await new Promise((r) => setTimeout(r, 50));
  expect(p.stderr()).toContain(text);
}

let sim: SimProcess;
let port: string;
const dir = tempDir('opencard-cli-');
beforeAll(async () => {
  sim = await startSim(['--pty', path.join(dir, 'notecard')]);
  port = path.join(dir, 'notecard');
});
afterAll(async () => { await sim.stop(); });

it('-req sends one request to the pty and prints the reply as JSON; exit 0', async () => {
  // the simulator says how (the Moddable runner is quiet at --log-level warn)
  if (process.env.OPENCARD_CARD !== 'moddable') await printed(sim, `or type requests: npx notecard-cli -port ${port}\n`);
  const r = await run(['-port', port, '-req', '{"req":"card.version"}']);
  expect(r.code).toBe(0);
  expect(r.stdout).not.toContain('\x1b');
  expect(JSON.parse(r.stdout)).toMatchObject({ device: sim.device, version: expect.any(String) });
  expect(r.stdout.split('\n').length).toBeGreaterThan(3); // indented
});

it('-req with -crc: the card checks it and the reply crc is checked; a bare name is a request', async () => {
  const r = await run(['--port', port, '-req', 'hub.get', '-crc', '-compact']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual(expect.objectContaining({ device: sim.device }));
  expect(r.stdout).not.toContain('crc');
});

it('an error reply exits 1; on a terminal its {tags} are highlighted, in a pipe not', async () => {
  const piped = await run(['-port', port, '-req', '{"req":"note.get","file":"none.qi"}', '-compact']);
  expect(piped.code).toBe(1);
  expect(piped.stdout).toMatch(/^\{"err":"[^\x1b]*\{notefile-noexist\}[^\x1b]*"\}\n$/);
  const t = new Term(['-port', port, '-req', '{"req":"note.get","file":"none.qi"}']);
  expect(await t.exit).toBe(1);
  expect(t.out).toContain('\x1b[1;33;41m{notefile-noexist}\x1b[0m');
});

it('-play sends each request of a file in turn, skipping comments; cmd gets no reply', async () => {
  const file = path.join(dir, 'requests.txt');
  fs.writeFileSync(file, [
    '# set up',
    '{"req":"note.add","file":"play.qo","body":{"n":1}}',
    '',
    '{"cmd":"note.add","file":"play.qo","body":{"n":2}}',
    '// count them',
    '{"req":"file.stats","file":"play.qo"}',
  ].join('\n'));
  const r = await run(['-port', port, '-play', file, '-compact']);
  expect(r.code).toBe(0);
  expect(r.stdout.split('\n')).toEqual([
    '> {"req":"note.add","file":"play.qo","body":{"n":1}}', '{"total":1}',
    '> {"cmd":"note.add","file":"play.qo","body":{"n":2}}',
    '> {"req":"file.stats","file":"play.qo"}', expect.stringContaining('"total":2'),
    '',
  ]);
});

it('interactive: Tab completes names and arguments, Up recalls, history survives the session', async () => {
  const history = path.join(dir, 'history');
  const env = { NOTECARD_CLI_HISTORY: history };
  const t = new Term(['-port', port, '-compact'], env);
  await t.waitFor(/card> $/);
  let mark = t.out.length;
  t.type('card.ver\t');
  await t.waitFor(/card\.version$/, mark);
  t.type('\r');
  await t.waitFor(new RegExp(`"device":"${sim.device}".*\\s+card> $`), mark);

  mark = t.out.length;
  t.type('{"req":"note.a\t');
  await t.waitFor(/\{"req":"note\.add"$/, mark);
  t.type(',"fi\t');
  await t.waitFor(/,"file":$/, mark);
  t.type('"typed.qo","body":{"k":1}}\r');
  await t.waitFor(/\{"total":1\}\s+card> $/, mark);

  mark = t.out.length;
  t.type('\x1b[A\r'); // Up: the same note.add again
  await t.waitFor(/\{"total":2\}\s+card> $/, mark);
  t.type('\x04'); // Ctrl-D
  expect(await t.exit).toBe(0);
  expect(fs.readFileSync(history, 'utf8')).toBe('card.version\n{"req":"note.add","file":"typed.qo","body":{"k":1}}\n');

  // A new session starts with that history: Up Up is card.version.
  const again = new Term(['-port', port, '-compact'], env);
  await again.waitFor(/card> $/);
  mark = again.out.length;
  again.type('\x1b[A\x1b[A\r');
  await again.waitFor(new RegExp(`"device":"${sim.device}"`), mark);
  again.type('quit\r');
  expect(await again.exit).toBe(0);
});

it('says which flag names the card when there is none, and what failed to open', async () => {
  const none = await run(['-req', 'card.version'], dir); // no ./data/notecard there
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('give -port');
  const missing = await run(['-port', path.join(dir, 'nothing-here'), '-req', 'card.version']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`cannot open ${path.join(dir, 'nothing-here')}`);
});

it('talks to the simulator over TCP (HOST:PORT)', async () => {
  const tcp = await startSim(['--tcp', '0']);
  try {
    const where = /^tcp (.+)$/.exec(tcp.where)![1];
    await printed(tcp, `npx notecard-cli -port ${where}\n`);
    const r = await run(['-port', where, '-req', 'card.version', '-compact']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).device).toBe(tcp.device);
  } finally { await tcp.stop(); }
});
