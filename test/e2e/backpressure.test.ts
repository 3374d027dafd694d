// A host that stops reading: the simulator's output stays bounded like a UART's (whole replies
// dropped beyond the bound), the pty write path never loops on a full line (one write per retry),
// and the next host gets a clean line: no stale replies, no half request of the previous host.
import * as net from 'net';
import * as path from 'path';
import { BoundedOutput, RETRY_MS, Transport, openPty, openTcp } from '../../hosts/node/transports';
import { Simulator } from '../../hosts/node/simulator';
import { cobsEncode } from '../../src/wire/cobs';
import { tempDir } from '../support/sim-process';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const realFs = require('fs') as typeof import('fs');
const realWriteSync = realFs.writeSync;
const tick = () => new Promise((r) => setTimeout(r, 2));
/** EAGAIN answers to the simulator's writes since the event loop last turned: a write loop that
 * spins on a full line never lets it turn. */
let eagainInARow = 0;

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (ok()) return;
    await tick();
    eagainInARow = 0;
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('BoundedOutput', () => {
  it('keeps at most its limit for a host that reads nothing, drops whole writes, and tries once per retry', () => {
    const timers: (() => void)[] = [];
    let accept = 0;
    const got: number[] = [];
    const out = new BoundedOutput((b) => {
      const n = Math.min(accept, b.length);
      got.push(...b.subarray(0, n));
      accept -= n;
      return n;
    }, 10_000, (_ms, fn) => timers.push(fn));
    for (let i = 0; i < 10_000; i++) out.write(new Uint8Array(1000).fill(i & 0xff));
    expect(out.stats).toEqual({ buffered: 10_000, dropped: 9_990_000, attempts: 1, retries: 0 });
    for (let i = 0; i < 5; i++) timers.shift()!();
    expect(out.stats.attempts).toBe(6); // one write per retry, never a loop
    expect(timers).toHaveLength(1); // one retry pending at a time
    accept = 2500; // the host reads a little: the line takes part of a reply, the rest waits
    timers.shift()!();
    accept = Infinity;
    timers.shift()!();
    expect(out.stats.buffered).toBe(0);
    expect(timers).toHaveLength(0);
    expect(got).toEqual(Array.from({ length: 10_000 }, (_, i) => Math.floor(i / 1000))); // the first ten, whole, in order
  });
});

describe('the simulator on a pty whose host stops reading', () => {
  let sim: Simulator;
  let pty: Transport;
  let replies = 0;
  let resyncs = 0;
  let masterWrites = 0;

  beforeAll(() => {
    // Count the simulator's writes to the pty; a write loop spinning on EAGAIN fails the test
    // instead of hanging it.
    jest.spyOn(realFs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, ...rest: unknown[]) => {
      try {
        const n = (realWriteSync as (...a: unknown[]) => number)(fd, buf, ...rest);
        eagainInARow = 0;
        masterWrites++;
        return n;
      } catch (e) {
        masterWrites++;
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN' && ++eagainInARow > 1000) throw new Error('the write path spins on EAGAIN');
        throw e;
      }
    }) as unknown as typeof realFs.writeSync);
    sim = new Simulator({ dataDir: tempDir('opencard-bp-'), logLevel: 'silent' });
    pty = openPty((b) => sim.receive(b), undefined, 64 * 1024);
    sim.output = (b) => {
      replies++;
      pty.write(b);
    };
    sim.session.onResync = () => {
      resyncs++;
      pty.resync!();
    };
  });

  afterAll(async () => {
    await pty?.close();
    sim?.close();
    jest.restoreAllMocks();
  });

  /** A host program: the pty opened non-blocking (the test never blocks); written in pieces. */
  function host() {
    const fd = realFs.openSync(pty.where, realFs.constants.O_RDWR | realFs.constants.O_NOCTTY | realFs.constants.O_NONBLOCK);
    return {
      async write(text: string) {
        const bytes = Buffer.from(text);
        for (let off = 0; off < bytes.length; ) {
          try {
            off += (realWriteSync as (...a: unknown[]) => number)(fd, bytes, off, Math.min(4096, bytes.length - off));
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            await tick(); // let the simulator read
            eagainInARow = 0;
          }
        }
      },
      read(): string {
        const buf = Buffer.alloc(65536);
        let text = '';
        for (;;) {
          try {
            const n = realFs.readSync(fd, buf);
            if (n <= 0) return text;
            text += buf.subarray(0, n).toString('latin1');
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return text;
            throw e;
          }
        }
      },
      close: () => realFs.closeSync(fd),
    };
  }

  it('stays bounded and responsive without spinning; the next host resyncs to a clean line', async () => {
    const a = host();
    const text = 'x'.repeat(1000);
    await a.write(`{"req":"echo","text":"${text}"}\n`.repeat(400));
    await until('400 replies', () => replies === 400);
    const s = pty.stats();
    expect(s.buffered).toBeLessThanOrEqual(64 * 1024);
    expect(s.dropped).toBeGreaterThan(200 * 1000);
    // Stalled: each retry makes exactly one write, nothing in between.
    const a0 = s.attempts!;
    const r0 = s.retries!;
    await until('retries', () => pty.stats().retries! >= r0 + 3);
    const s1 = pty.stats();
    expect(s1.attempts! - a0).toBe(s1.retries! - r0);
    expect(masterWrites).toBeLessThan(400 + 5 * (s1.retries! + 1));
    await a.write('{"req":"card.ver'); // and leaves a half request behind
    a.close();

    // The next host resyncs the way note-c does: a newline (which here ends the old host's half
    // request: its {io} answer is stale too) and, having seen more than CR/LF, another one. Then
    // one request: all it reads is the CRLF of its resync and its answer.
    const b = host();
    await b.write('\n');
    await b.write('\n');
    await until('the resync', () => resyncs === 1);
    await b.write('{"req":"echo","text":"B"}\n');
    let got = '';
    await until('the answer', () => (got += b.read()).includes('"B"}\r\n'));
    expect(got).toBe('\r\n{"text":"B"}\r\n');
    b.close();
  }, 30_000);
});

describe('the simulator on TCP whose host stops reading', () => {
  it('keeps unread card.binary.get replies bounded, and a new connection gets a clean line', async () => {
    const sim = new Simulator({ dataDir: tempDir('opencard-bp-'), logLevel: 'silent' });
    const limit = 64 * 1024;
    const tcp = await openTcp((b) => sim.receive(b), 0, '127.0.0.1', () => sim.session.reset(), limit);
    let replies = 0;
    let peak = 0;
    sim.output = (b) => {
      replies++;
      tcp.write(b);
      peak = Math.max(peak, tcp.stats().buffered);
    };
    const port = Number(/:(\d+)$/.exec(tcp.where)![1]);
    const connect = () => new Promise<net.Socket>((ok) => {
      const s = net.connect(port, '127.0.0.1', () => ok(s));
    });
    try {
      const a = await connect();
      const data = Buffer.alloc(8192, 0x5a);
      const enc = Buffer.from(cobsEncode(data));
      a.write(`{"req":"card.binary.put","cobs":${enc.length}}\n`);
      a.write(Buffer.concat([enc, Buffer.from('\n')]));
      a.pause(); // from now on this host reads nothing
      for (let i = 0; i < 4000; i += 100) a.write('{"req":"card.binary.get","offset":0,"length":8192}\n'.repeat(100));
      await until('4,001 replies', () => replies === 4001);
      expect(peak).toBeLessThanOrEqual(limit);
      expect(tcp.stats().dropped).toBeGreaterThan(4000 * 8192 - 16 * 1024 * 1024); // most were dropped, not kept
      a.write('{"req":"card.ver'); // a half request
      await until('the half request', () => sim.session !== undefined && replies === 4001);

      const b = await connect(); // replaces the first host
      let got = '';
      b.on('data', (d: Buffer) => (got += d.toString('latin1')));
      b.write('{"req":"echo","text":"B"}\n');
      await until('the answer', () => got.includes('\r\n'));
      expect(got).toBe('{"text":"B"}\r\n');
      a.destroy();
      b.destroy();
    } finally {
      await tcp.close();
      sim.close();
    }
  }, 60_000);
});
