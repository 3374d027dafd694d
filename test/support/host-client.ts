// A host-side client that behaves like note-python / note-c on a serial line: resync with a
// bare newline, requests sent in 250-byte segments with pauses, crc with sequence numbers,
// replies checked by crc and sequence.
import { crc32 } from '../../src/util/crc32';
import { sleep } from './wait';

export interface LineIo {
  write(bytes: Buffer): void;
  /** All bytes received since the last take. */
  take(): Buffer;
}

export class HostClient {
  #io: LineIo;
  #pending = Buffer.alloc(0);
  seq = 0;
  segment = 250;
  segmentDelayMs = 250;
  ending = '\n';

  constructor(io: LineIo) {
    this.#io = io;
  }

  /** note-python's reset: send '\n', drain for 500 ms; only CR/LF may come back. */
  async resync(): Promise<Buffer> {
    this.#io.write(Buffer.from('\n'));
    await sleep(500);
    const got = this.#io.take();
    this.#pending = Buffer.alloc(0);
    return got;
  }

  async send(bytes: Buffer): Promise<void> {
    for (let off = 0; off < bytes.length; off += this.segment) {
      this.#io.write(bytes.subarray(off, off + this.segment));
      if (off + this.segment < bytes.length) await sleep(this.segmentDelayMs);
    }
  }

  async readLine(timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#pending = Buffer.concat([this.#pending, this.#io.take()]);
      const nl = this.#pending.indexOf(10);
      if (nl >= 0) {
        const line = this.#pending.subarray(0, nl + 1);
        this.#pending = this.#pending.subarray(nl + 1);
        return line;
      }
      if (Date.now() > deadline) throw new Error(`no reply line: ${JSON.stringify(this.#pending.toString('latin1'))}`);
      await sleep(5);
    }
  }

  /** Send a request with a crc (like the libraries) and check the reply's crc and sequence. */
  async transaction(req: Record<string, unknown>, { crc = true } = {}): Promise<Record<string, unknown>> {
    let text = JSON.stringify(req);
    const seq = this.seq++;
    if (crc) {
      const c = crc32(Buffer.from(text)).toString(16).padStart(8, '0');
      const member = `"crc":"${seq.toString(16).padStart(4, '0')}:${c}"`;
      text = text === '{}' ? `{${member}}` : `${text.slice(0, -1)},${member}}`;
    }
    await this.send(Buffer.from(text + this.ending));
    const line = (await this.readLine()).toString('utf8');
    if (!line.endsWith('\r\n')) throw new Error(`reply not CRLF-terminated: ${JSON.stringify(line)}`);
    const reply = JSON.parse(line) as Record<string, unknown>;
    if (crc) {
      const before = line.split('"crc":')[0];
      const stripped = before.endsWith(',') ? before.slice(0, -1) + '}' : before.trimEnd() + '}';
      const [s, c] = String(reply.crc).split(':');
      if (parseInt(s, 16) !== seq || parseInt(c, 16) !== crc32(Buffer.from(stripped))) throw new Error(`bad reply crc: ${line}`);
      delete reply.crc;
    }
    return reply;
  }
}
