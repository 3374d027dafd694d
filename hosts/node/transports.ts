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
  close(): Promise<void>;
}

type Receive = (bytes: Uint8Array) => void;
const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);

/**
 * A pseudo-terminal pair. We hold both ends: the master carries the card's side and the slave
 * stays open, so host programs may open and close /dev/pts/N as often as they like.
 */
export function openPty(receive: Receive, linkPath?: string): Transport {
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
  return {
    where: linkPath ? `${linkPath} -> ${pair.pty}` : pair.pty,
    write: (bytes) => {
      let off = 0;
      while (off < bytes.length) {
        try {
          off += fs.writeSync(pair.master, bytes, off, bytes.length - off);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
      }
    },
    close: async () => {
      master.destroy();
      for (const fd of [pair.slave]) fs.closeSync(fd);
      if (linkPath) fs.rmSync(linkPath, { force: true });
    },
  };
}

export async function openSerialPort(receive: Receive, device: string, baudRate: number): Promise<Transport> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path: device, baudRate, autoOpen: false });
  await new Promise<void>((ok, fail) => port.open((e) => (e ? fail(e) : ok())));
  port.on('data', (b: Buffer) => receive(view(b)));
  return {
    where: `${device} at ${baudRate} baud`,
    write: (bytes) => void port.write(Buffer.from(bytes)),
    close: () => new Promise((ok) => port.close(() => ok())),
  };
}

/** TCP: one host connection at a time, like one UART; a new connection replaces the old. */
export async function openTcp(receive: Receive, port: number, bind = '127.0.0.1'): Promise<Transport> {
  let current: net.Socket | undefined;
  const server = net.createServer((socket) => {
    current?.destroy();
    current = socket;
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => receive(view(b)));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (current === socket) current = undefined;
    });
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, bind, () => ok()));
  const address = server.address() as net.AddressInfo;
  return {
    where: `tcp ${address.address}:${address.port}`,
    write: (bytes) => void current?.write(bytes),
    close: () =>
      new Promise((ok) => {
        current?.destroy();
        server.close(() => ok());
      }),
  };
}

export function openStdio(receive: Receive): Transport {
  process.stdin.on('data', (b: Buffer) => receive(view(b)));
  return {
    where: 'stdio',
    write: (bytes) => void process.stdout.write(bytes),
    close: async () => {
      process.stdin.pause();
    },
  };
}
