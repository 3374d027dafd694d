// The other ways to reach the simulator: a real serial device (here the slave of a pty pair the
// test owns, as a USB adapter would appear), TCP, and stdio; and the CLI's own behaviour.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as tty from 'tty';
import { SIM_CLI, startSim } from '../support/sim-process';

const VERSION = Buffer.from('{"req":"card.version","id":1}\n');

function collectUntilLine(onData: (cb: (d: Buffer) => void) => void): Promise<string> {
  let got = '';
  return new Promise((resolve) =>
    onData((d) => {
      got += d.toString('latin1');
      if (got.includes('}\r\n')) resolve(got); // a whole JSON reply line
    }),
  );
}

it('--serial drives a serial device (a pty slave standing in for /dev/ttyUSB0)', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('node-pty/lib/utils').loadNativeModule('pty').module;
  const pair = native.open(80, 24) as { master: number; slave: number; pty: string };
  execFileSync('stty', ['-F', pair.pty, 'raw', '-echo']);
  const sim = await startSim(['--serial', pair.pty, '--baud', '115200']);
  try {
    expect(sim.where).toBe(`${pair.pty} at 115200 baud`);
    const master = new tty.ReadStream(pair.master);
    const reply = collectUntilLine((cb) => master.on('data', cb));
    fs.writeSync(pair.master, VERSION);
    const text = await reply;
    expect(JSON.parse(text)).toMatchObject({ device: sim.device, id: 1 });
    // ATTN fires and drives DTR, which a pty refuses (ENOTTY): the card keeps answering
    const armed = collectUntilLine((cb) => master.on('data', cb));
    fs.writeSync(pair.master, '{"req":"card.attn","mode":"arm","seconds":1}\n');
    expect(JSON.parse(await armed)).toEqual({});
    await new Promise((r) => setTimeout(r, 1500));
    const after = collectUntilLine((cb) => master.on('data', cb));
    fs.writeSync(pair.master, '{"req":"card.attn"}\n');
    expect(JSON.parse(await after)).toEqual({ files: ['timeout'], set: true });
    master.destroy();
  } finally {
    await sim.stop();
    fs.closeSync(pair.slave);
  }
});

it('--tcp serves one host connection at a time, the newest one winning', async () => {
  const sim = await startSim(['--tcp', '0']);
  try {
    const [, host, port] = /^tcp (.+):(\d+)$/.exec(sim.where)!;
    const connect = () => new Promise<net.Socket>((ok) => { const s = net.connect(Number(port), host, () => ok(s)); });
    const first = await connect();
    const firstClosed = new Promise((ok) => first.on('close', ok));
    const second = await connect();
    await firstClosed;
    const reply = collectUntilLine((cb) => second.on('data', cb));
    second.write(VERSION);
    expect(JSON.parse(await reply)).toMatchObject({ device: sim.device, id: 1 });
    second.destroy();
  } finally {
    expect(await sim.stop('SIGINT')).toBe(0);
  }
});

it('--stdio answers on stdout and logs only to stderr', async () => {
  const sim = await startSim(['--stdio']);
  try {
    const reply = collectUntilLine((cb) => sim.proc.stdout!.on('data', cb));
    sim.proc.stdin!.write('\n' + VERSION.toString());
    const text = await reply;
    expect(text.startsWith('\r\n{')).toBe(true);
    expect(JSON.parse(text.slice(2))).toMatchObject({ device: sim.device });
  } finally {
    await sim.stop();
  }
});

it('--help explains every transport and option; a bad option exits 2', () => {
  const help = spawnSync(process.execPath, [SIM_CLI, '--help']).stdout.toString();
  for (const flag of ['--pty', '--serial', '--baud', '--tcp', '--stdio', '--data', '--trust-clock']) expect(help).toContain(flag);
  const bad = spawnSync(process.execPath, [SIM_CLI, '--bogus']);
  expect(bad.status).toBe(2);
  expect(bad.stderr.toString()).toContain('unknown option --bogus');
});

it('a bad --log-level, a stray word or two transports exit 2 with one line (notecard-sim and npm run moddable)', () => {
  const data = fs.mkdtempSync('/tmp/opencard-cli-');
  const run = (cli: string, args: string[]) => {
    const r = spawnSync(process.execPath, [cli, '--data', data, ...args], { input: '', timeout: 15_000 });
    return { status: r.status, stderr: r.stderr.toString() };
  };
  const levels = 'debug, info, warn, error or silent';
  expect(run(SIM_CLI, ['--stdio', '--log-level', 'loud'])).toEqual({ status: 2, stderr: `notecard-sim: --log-level loud: use ${levels} (see --help)\n` });
  expect(run(SIM_CLI, ['--tcp', '0', 'stray'])).toEqual({ status: 2, stderr: 'notecard-sim: unexpected argument stray (see --help)\n' });
  expect(run(SIM_CLI, ['--tcp', '0', '--stdio'])).toEqual({ status: 2, stderr: 'notecard-sim: one transport: --tcp or --stdio (see --help)\n' });
  expect(run(SIM_CLI, ['--baud', 'fast'])).toEqual({ status: 2, stderr: 'notecard-sim: --baud needs a whole number, not "fast" (see --help)\n' });
  const moddable = SIM_CLI.replace(/cli\.js$/, 'moddable-lin.js');
  expect(run(moddable, ['--pty', `${data}/tty`, '--log-level', 'loud'])).toEqual({ status: 2, stderr: `moddable: --log-level loud: use ${levels} (see --help)\n` });
  expect(run(moddable, ['--pty', `${data}/tty`, '--bogus'])).toEqual({ status: 2, stderr: 'moddable: unknown option --bogus (see --help)\n' });
  fs.rmSync(data, { recursive: true, force: true });
});
