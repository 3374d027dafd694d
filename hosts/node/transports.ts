// Byte transports that carry the card's serial line: a pseudo-terminal, a real serial port,
// TCP or stdio. Each one feeds received bytes to `receive` and returns the card's `write`.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as tty from 'tty';

export interface Transport {
  /** Human description: where a host connects. */
  readonly where: string;
  write(bytes: Uint8Array): void;
  /** The host resynchronised: output it has not read yet is stale; drop it. */
  resync?(): void;
  /** Output waiting for the host, and what was dropped because it did not read. */
  stats(): OutputStats;
  /** Show the card's ATTN pin on a modem control line, where the transport has one. */
  attn?(high: boolean): void;
  close(): Promise<void>;
}

export interface OutputStats {
  /** Bytes waiting for the host (in this process). */
  buffered: number;
  /** Bytes dropped, whole replies, because the host did not read them. */
  dropped: number;
  /** pty: write calls made, and retries after the line was full (one write each). */
  attempts?: number;
  retries?: number;
}

/** At most this many reply bytes wait for a host that does not read: a UART's transmit FIFO,
 * sized for two of the largest replies (card.binary.get of a full 128 KB buffer). Beyond it,
 * whole replies are dropped, as a UART's line loses what nobody listens to. */
export const OUTPUT_LIMIT = 256 * 1024;
/** A pty write that finds the line full is tried again this much later, never in a loop. */
export const RETRY_MS = 10;

type Receive = (bytes: Uint8Array) => void;
const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);

/**
 * Output towards a host that may stop reading, bounded like a UART's transmit FIFO. `sink` writes
 * what the line takes now and returns that count (0 when it is full). A write that does not fit
 * under `limit` is dropped whole (a reply is one write); a full line is tried again after
 * RETRY_MS, one write per try: nothing spins and nothing grows without limit.
 */
export class BoundedOutput {
  readonly stats = { buffered: 0, dropped: 0, attempts: 0, retries: 0 };
  readonly #sink: (bytes: Uint8Array) => number;
  readonly #limit: number;
  readonly #schedule: (ms: number, fn: () => void) => unknown;
  #queue: Uint8Array[] = [];
  #waiting = false;

  constructor(sink: (bytes: Uint8Array) => number, limit = OUTPUT_LIMIT, schedule: (ms: number, fn: () => void) => unknown = (ms, fn) => setTimeout(fn, ms).unref()) {
    this.#sink = sink;
    this.#limit = limit;
    this.#schedule = schedule;
  }

  write(bytes: Uint8Array): void {
    if (this.stats.buffered + bytes.length > this.#limit) {
      this.stats.dropped += bytes.length;
      return;
    }
    this.#queue.push(bytes);
    this.stats.buffered += bytes.length;
    if (!this.#waiting) this.#flush();
  }

  /** Forget what the host has not taken yet. */
  discard(): void {
    this.#queue = [];
    this.stats.buffered = 0;
  }

  #flush(): void {
    while (this.#queue.length) {
      const head = this.#queue[0];
      this.stats.attempts++;
      const n = this.#sink(head);
      this.stats.buffered -= n;
      if (n < head.length) {
        this.#queue[0] = head.subarray(n);
        break; // the line is full: later, not in a loop
      }
      this.#queue.shift();
    }
    if (this.#queue.length && !this.#waiting) {
      this.#waiting = true;
      this.#schedule(RETRY_MS, () => {
        this.#waiting = false;
        this.stats.retries++;
        this.#flush();
      });
    }
  }
}

/** Write to a Node stream unless `limit` bytes already wait in it: then drop the write, whole. */
function boundedStreamWrite(stream: { writableLength: number; write(b: Uint8Array): unknown } | undefined, bytes: Uint8Array, stats: OutputStats, limit: number): void {
  if (!stream || stream.writableLength + bytes.length > limit) stats.dropped += bytes.length;
  else stream.write(bytes);
}

/**
 * A pseudo-terminal pair. We hold both ends: the master carries the card's side and the slave
 * stays open, so host programs may open and close /dev/pts/N as often as they like. The master
 * is non-blocking: output goes through a BoundedOutput. A host's resync (an empty line) drops
 * what it has not read yet, in this process and in the terminal's own buffer (read back through
 * a non-blocking slave descriptor), so a new host gets a clean line.
 */
export function openPty(receive: Receive, linkPath?: string, limit = OUTPUT_LIMIT): Transport {
  // node-pty's native binding opens a bare pair without spawning a process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require('node-pty/lib/utils').loadNativeModule('pty').module as {
    open(cols: number, rows: number): { master: number; slave: number; pty: string };
  };
  const pair = native.open(80, 24);
  execFileSync('stty', ['-F', pair.pty, 'raw', '-echo', '-icrnl', '-onlcr', '-ixon', '-ixoff']);
  if (linkPath) {
    fs.rmSync(linkPath, { force: true });
    fs.symlinkSync(pair.pty, linkPath);
  }
  const master = new tty.ReadStream(pair.master);
  master.on('data', (b: Buffer) => receive(view(b)));
  master.on('error', () => {}); // EIO while no host has the slave open is normal
  const stale = fs.openSync(pair.pty, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
  const out = new BoundedOutput((bytes) => {
    try {
      return fs.writeSync(pair.master, bytes, 0, bytes.length);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
      throw e;
    }
  }, limit);
  return {
    where: linkPath ? `${linkPath} -> ${pair.pty}` : pair.pty,
    write: (bytes) => out.write(bytes),
    resync: () => {
      out.discard();
      const buf = Buffer.alloc(4096);
      try {
        while (fs.readSync(stale, buf) > 0); // until EAGAIN: the terminal's buffer is empty
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
    },
    stats: () => ({ ...out.stats }),
    close: async () => {
      out.discard();
      master.destroy();
      for (const fd of [pair.slave, stale]) fs.closeSync(fd);
      if (linkPath) fs.rmSync(linkPath, { force: true });
    },
  };
}

export async function openSerialPort(receive: Receive, device: string, baudRate: number, limit = OUTPUT_LIMIT): Promise<Transport> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path: device, baudRate, autoOpen: false });
  await new Promise<void>((ok, fail) => port.open((e) => (e ? fail(e) : ok())));
  port.on('data', (b: Buffer) => receive(view(b)));
  const stats: OutputStats = { buffered: 0, dropped: 0 };
  return {
    where: `${device} at ${baudRate} baud`,
    write: (bytes) => boundedStreamWrite(port, Buffer.from(bytes), stats, limit),
    stats: () => ({ ...stats, buffered: port.writableLength }),
    // ATTN drives DTR: through a null-modem cable the host reads it as DSR (and often DCD)
    attn: (high) => port.set({ dtr: high }, () => {}),
    close: () => new Promise((ok) => port.close(() => ok())),
  };
}

/** TCP: one host connection at a time, like one UART; a new connection replaces the old, with
 * its unread output, and `onHost` lets the line forget a half-received request of the old one.
 * Output waiting for a host that does not read is bounded (whole replies dropped beyond it). */
export async function openTcp(receive: Receive, port: number, bind = '127.0.0.1', onHost?: () => void, limit = OUTPUT_LIMIT): Promise<Transport> {
  let current: net.Socket | undefined;
  const stats: OutputStats = { buffered: 0, dropped: 0 };
  const server = net.createServer((socket) => {
    current?.destroy();
    current = socket;
    onHost?.();
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      if (current === socket) receive(view(b)); // nothing more from a replaced connection
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (current === socket) current = undefined;
    });
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, bind, () => ok()));
  const address = server.address() as net.AddressInfo;
  return {
    where: `tcp ${address.address}:${address.port}`,
    write: (bytes) => boundedStreamWrite(current, bytes, stats, limit),
    stats: () => ({ ...stats, buffered: current?.writableLength ?? 0 }),
    close: () =>
      new Promise((ok) => {
        current?.destroy();
        server.close(() => ok());
      }),
  };
}

export function openStdio(receive: Receive, limit = OUTPUT_LIMIT): Transport {
  process.stdin.on('data', (b: Buffer) => receive(view(b)));
  const stats: OutputStats = { buffered: 0, dropped: 0 };
  return {
    where: 'stdio',
    write: (bytes) => boundedStreamWrite(process.stdout, bytes, stats, limit),
    stats: () => ({ ...stats, buffered: process.stdout.writableLength }),
    close: async () => {
      process.stdin.pause();
    },
  };
}
