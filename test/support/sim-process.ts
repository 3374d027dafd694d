// Start the simulator as a real child process and wait for its ready line.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const SIM_CLI = path.resolve(__dirname, '../../hosts/node/cli.js');

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
  const proc = spawn(process.execPath, [SIM_CLI, '--data', dataDir, '--log-level', 'warn', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${err}`)), 10_000);
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
