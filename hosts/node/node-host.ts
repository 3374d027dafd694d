// Node.js adapters for the host contract: clock, random, log and TCP for the card core.
import * as crypto from 'crypto';
import * as net from 'net';
import type { Clock, Flash, Host, Log, LogLevel, Net, NetHandlers, NetStream, World } from '../../src/host';

export interface NodeHostOptions {
  flash: Flash;
  /** The DFU flash area; with it, downloaded card images take effect at restart (as the version they name). */
  dfu?: Flash;
  /** Bytes the binary buffer may hold. */
  binaryMax?: number;
  /** Whether the card may trust the machine's clock before its first sync. */
  trustSystemClock?: boolean;
  logLevel?: LogLevel | 'silent';
  /** Where log lines go (stderr by default: stdout may be the serial line). */
  logTo?: (line: string) => void;
  /** The simulated world (sensors and pins), if any. */
  world?: World;
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

export const nodeClock = (trustWall: boolean): Clock => ({
  now: () => performance.now(),
  wall: () => (trustWall ? Date.now() : undefined),
  // unref: a pending sync timer alone never keeps a process alive.
  schedule: (ms, fire) => setTimeout(fire, ms).unref(),
  cancel: (timer) => clearTimeout(timer as NodeJS.Timeout),
});

export const nodeNet: Net = {
  connect(host: string, port: number, handlers: NetHandlers): NetStream {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    let closed = false;
    const finish = (error?: string) => {
      if (closed) return;
      closed = true;
      handlers.onClose(error);
    };
    socket.on('connect', () => handlers.onConnect());
    socket.on('data', (data: Buffer) => handlers.onData(new Uint8Array(data.buffer, data.byteOffset, data.length)));
    socket.on('error', (e) => finish(e.message));
    socket.on('close', () => finish());
    return {
      write: (bytes) => void socket.write(bytes),
      close: () => socket.destroy(),
    };
  },
};

export function nodeHost(options: NodeHostOptions): Host {
  const threshold = options.logLevel === 'silent' ? 99 : LEVELS.indexOf(options.logLevel ?? 'info');
  const out = options.logTo ?? ((line: string) => process.stderr.write(line + '\n'));
  const log: Log = {
    log(level, message) {
      if (LEVELS.indexOf(level) >= threshold) out(`[card ${level}] ${message}`);
    },
  };
  return {
    flash: options.flash,
    clock: nodeClock(options.trustSystemClock ?? false),
    random: { bytes: (n) => new Uint8Array(crypto.randomBytes(n)) },
    log,
    net: nodeNet,
    dfu: options.dfu,
    world: options.world,
    info: { platform: 'node-simulator', binaryMax: options.binaryMax ?? 128 * 1024, appliesCardImages: options.dfu !== undefined },
  };
}
