// Start the simulator as a real child process and wait for its ready line.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { HostClient } from './host-client';

export const SIM_CLI = path.resolve(__dirname, '../../hosts/node/cli.js');
/** OPENCARD_CARD=moddable runs the pty tests against the Moddable-built card in mcsim
 * (npm run moddable; needs MODDABLE) instead of the Node simulator. */
const CARD_CLI = process.env.OPENCARD_CARD === 'moddable' ? path.resolve(__dirname, '../../hosts/node/moddable-lin.js') : SIM_CLI;

export interface SimProcess {
  proc: ChildProcess;
  /** The transport description from the ready line (pty path or "tcp host:port"). */
  where: string;
  device: string;
  dataDir: string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function startSim(args: string[], dataDir = tempDir('opencard-sim-')): Promise<SimProcess> {
  const proc = spawn(process.execPath, [CARD_CLI, '--data', dataDir, '--log-level', 'warn', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${err}`)), CARD_CLI === SIM_CLI ? 10_000 : 300_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /notecard-sim ready: (.+) device (dev:\d+) data/.exec(err);
      if (m && timer) {
        clearTimeout(timer);
        resolve({
          proc,
          where: m[1],
          device: m[2],
          dataDir,
          stderr: () => err,
          stop: (signal = 'SIGTERM') =>
            new Promise((done) => {
              if (proc.exitCode !== null) return done(proc.exitCode);
              proc.once('exit', (code) => done(code));
              proc.kill(signal);
            }),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`simulator exited ${code}: ${err}`)));
  });
}

/** A host-library-like client on a simulator started with `--tcp`, without segment pauses. */
export async function connectTcp(sim: SimProcess): Promise<{ card: HostClient; close: () => void }> {
  const [, host, port] = /^tcp (.+):(\d+)$/.exec(sim.where)!;
  const socket = await new Promise<net.Socket>((ok) => {
    const s = net.connect(Number(port), host, () => ok(s));
  });
  let received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  const card = new HostClient({
    write: (b) => void socket.write(b),
    take: () => {
      const all = Buffer.concat(received);
      received = [];
      return all;
    },
  });
  card.segmentDelayMs = 0;
  return { card, close: () => socket.destroy() };
}
