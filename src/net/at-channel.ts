// The AT command channel over a UART: one command in flight, its answer lines told apart from the
// unsolicited result codes (URCs) that may arrive at any moment, the `>` prompt of a send, the raw
// bytes of a read, final results (OK, ERROR, +CME ERROR: n, a send's own), a timeout on each.
// Input is parsed a byte at a time, so a split at any boundary reads the same. Buffers are bounded.
import type { Clock, Serial, TimerHandle } from '../host';
import { utf8Encode } from '../util/utf8';
import { intField } from './at-dialect';

/** Longest answer or URC line kept; the rest of a longer line is dropped. */
const MAX_LINE = 256;
/** Commands waiting behind the one in flight. */
const MAX_QUEUED = 8;

export interface AtCommand {
  text: string;
  timeoutMs: number;
  /** Lines starting with this belong to the answer even when they look like a URC. */
  prefix?: string;
  /** Sent after the `>` prompt (a send). */
  data?: Uint8Array;
  /** Final results other than OK: success (this line; OK is then not final) and failure (lines starting so). */
  ok?: string;
  fail?: string;
  /** An answer line with this prefix announces the count of raw bytes that follow it (a read). */
  rawPrefix?: string;
}

export interface AtResult {
  ok: boolean;
  /** Answer lines, without the final result. */
  lines: string[];
  /** "ERROR", "+CME ERROR: n", the send's failure line, or "timeout". */
  error?: string;
  /** The raw bytes of a read. */
  raw?: Uint8Array;
}

interface Pending {
  command: AtCommand;
  done: (r: AtResult) => void;
}

export class AtChannel {
  readonly #serial: Serial;
  readonly #clock: Clock;
  readonly #isUrc: (line: string) => boolean;
  #onUrc: (line: string) => void = () => {};
  readonly #line = new Uint8Array(MAX_LINE);
  #length = 0;
  #overlong = false;
  #current: Pending | undefined;
  #lines: string[] = [];
  #timer: TimerHandle | undefined;
  #promptSeen = false;
  #raw: Uint8Array | undefined;
  #rawAt = 0;
  #skipLf = false;
  /** The raw bytes of the read in flight, once all arrived. */
  #got: Uint8Array | undefined;
  readonly #queue: Pending[] = [];
  /** Bytes written and read, for the link's figures. */
  txBytes = 0;
  rxBytes = 0;

  constructor(serial: Serial, clock: Clock, isUrc: (line: string) => boolean) {
    this.#serial = serial;
    this.#clock = clock;
    this.#isUrc = isUrc;
    serial.onBytes((bytes) => this.#input(bytes));
  }

  onUrc(handler: (line: string) => void): void {
    this.#onUrc = handler;
  }

  get busy(): boolean {
    return this.#current !== undefined || this.#queue.length > 0;
  }

  /** Queue a command; `done` is called once, with its result or a timeout. */
  run(command: AtCommand, done: (r: AtResult) => void): void {
    if (this.#queue.length >= MAX_QUEUED) return done({ ok: false, lines: [], error: 'too many commands queued' });
    this.#queue.push({ command, done });
    if (!this.#current) this.#next();
  }

  /** Fail the command in flight and every queued one (the module restarted or the link is reset). */
  abort(error: string): void {
    const all = this.#current ? [this.#current, ...this.#queue] : [...this.#queue];
    this.#queue.length = 0;
    this.#finish(undefined);
    for (const p of all) p.done({ ok: false, lines: [], error });
  }

  #next(): void {
    const p = this.#queue.shift();
    if (!p) return;
    this.#current = p;
    this.#lines = [];
    this.#promptSeen = false;
    this.#timer = this.#clock.schedule(p.command.timeoutMs, () => {
      this.#timer = undefined;
      if (this.#current === p) this.#complete({ ok: false, lines: this.#lines, error: 'timeout' });
    });
    this.#write(utf8Encode(p.command.text + '\r'));
  }

  #write(bytes: Uint8Array): void {
    this.txBytes += bytes.length;
    this.#serial.write(bytes);
  }

  #finish(keep: Pending | undefined): void {
    if (this.#timer !== undefined) this.#clock.cancel(this.#timer);
    this.#timer = undefined;
    this.#current = keep;
    this.#raw = this.#got = undefined;
  }

  #complete(result: AtResult): void {
    const p = this.#current!;
    this.#finish(undefined);
    p.done(result);
    if (!this.#current) this.#next();
  }

  #input(bytes: Uint8Array): void {
    this.rxBytes += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#raw) {
        // the LF of the CR LF that ended the count line is not data
        if (this.#skipLf) {
          this.#skipLf = false;
          if (b === 10) continue;
        }
        this.#raw[this.#rawAt++] = b;
        if (this.#rawAt === this.#raw.length) {
          this.#got = this.#raw;
          this.#raw = undefined;
        }
        continue;
      }
      if (b === 13 || b === 10) {
        this.#endLine(b);
        continue;
      }
      // The prompt of a send comes without a line end: "> ".
      if (b === 62 && this.#length === 0 && this.#current?.command.data && !this.#promptSeen) {
        this.#promptSeen = true;
        this.#write(this.#current.command.data);
        continue;
      }
      if (b === 32 && this.#length === 0) continue;
      if (this.#length < MAX_LINE) this.#line[this.#length++] = b;
      else this.#overlong = true;
    }
  }

  #endLine(end: number): void {
    if (this.#length === 0) return;
    let text = '';
    for (let i = 0; i < this.#length; i++) text += String.fromCharCode(this.#line[i]);
    this.#length = 0;
    if (this.#overlong) {
      this.#overlong = false;
      return; // nothing we read is that long: noise
    }
    const p = this.#current;
    if (!p) return this.#onUrc(text);
    const c = p.command;
    if (text === c.text) return; // echo, before ATE0 took effect
    if (text === 'OK' && !c.data && c.ok === undefined) return this.#complete({ ok: true, lines: this.#lines, raw: this.#got });
    if (c.ok !== undefined && text === c.ok) return this.#complete({ ok: true, lines: this.#lines });
    if (text === 'ERROR' || text.startsWith('+CME ERROR:') || (c.fail !== undefined && text.startsWith(c.fail))) {
      return this.#complete({ ok: false, lines: this.#lines, error: text });
    }
    if (c.prefix && text.startsWith(c.prefix)) return void this.#lines.push(text);
    if (c.rawPrefix && text.startsWith(c.rawPrefix)) {
      this.#lines.push(text);
      const rest = text.substring(c.rawPrefix.length);
      const comma = rest.indexOf(',');
      const n = intField((comma < 0 ? rest : rest.substring(0, comma)).trim()) ?? 0;
      // A module never sends more than it was asked for; a count above that is a corrupt line.
      if (n > 0 && n <= 4096) {
        this.#raw = new Uint8Array(n);
        this.#rawAt = 0;
        this.#skipLf = end === 13;
      }
      return;
    }
    if (this.#isUrc(text)) return this.#onUrc(text);
    this.#lines.push(text);
  }
}
