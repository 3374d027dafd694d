#!/usr/bin/env node
// notecard-cli: type requests to a card (the simulator, the Moddable-built card, a real Notecard)
// on a pty, a serial device or notecard-sim's TCP port. Flags follow Blues' `notecard` tool
// (-port, -portconfig, -req, -play, -interactive); --long spellings work too.
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { completeRequest } from '../../src/requests/catalog';
import { crc32 } from '../../src/util/crc32';
import { UsageError, parseCommandLine, wholeNumber } from '../../hub/cli-args';

const HELP = `notecard-cli: send requests to a Notecard-compatible card

Usage: notecard-cli [-port PORT] [-req JSON | -play FILE | -interactive] [options]

  -port PORT         a serial device or pty (/dev/ttyACM0, ./data/notecard), or HOST:PORT
                     (tcp:HOST:PORT) for notecard-sim --tcp; default $NOTECARD_PORT, else
                     ./data/notecard (where npm start puts the simulator's pty)
  -portconfig BAUD   serial baud rate (default 9600; pty and USB ignore it)
  -req JSON          send one request, print the reply, exit 1 if it is an error
  -play FILE         send each line of FILE (- for stdin) in turn; blank lines and lines
                     starting with # or // are skipped; exit 1 if any reply is an error
  -interactive       type requests (the default without -req or -play): line editing,
                     history (-history FILE, default ~/.notecard-cli-history), Tab completes
                     request names and arguments; "card.version" alone means {"req":"card.version"}
  -crc               add a crc to each request and check the reply's (as note-c does)
  -compact           print replies on one line (default: indented)
  -no-color          never colour (default: colour on a terminal unless NO_COLOR is set)
  -timeout SECONDS   how long to wait for a reply (default 30)
  -verbose           also print each request as sent
  -h, -help          this text

Requests with "cmd" get no reply; the tool sends them and goes on.
`;

interface Options {
  port: string;
  baud: number;
  req?: string;
  play?: string;
  crc: boolean;
  pretty: boolean;
  color: boolean;
  timeoutMs: number;
  verbose: boolean;
  history: string;
}

/** Blues' tool spells long flags with one dash: -req is --req here. */
function normalize(argv: string[]): string[] {
  return argv.map((a) => (/^-[a-z][a-z-]+$/.test(a) ? '-' + a : a));
}

export function parse(argv: string[], env = process.env): Options | 'help' {
  const { values: v } = parseCommandLine({
    args: normalize(argv), strict: true, allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' }, port: { type: 'string' }, portconfig: { type: 'string' }, baud: { type: 'string' },
      req: { type: 'string' }, play: { type: 'string' }, interactive: { type: 'boolean' }, crc: { type: 'boolean' },
      compact: { type: 'boolean' }, 'no-color': { type: 'boolean' }, timeout: { type: 'string' }, verbose: { type: 'boolean' },
      history: { type: 'string' },
    },
  });
  if (v.help) return 'help';
  if ([v.req !== undefined, v.play !== undefined, v.interactive === true].filter(Boolean).length > 1) {
    throw new UsageError('one of -req, -play or -interactive');
  }
  const port = v.port ?? env.NOTECARD_PORT ?? (fs.existsSync('data/notecard') ? 'data/notecard' : undefined);
  if (!port) throw new UsageError('which card? give -port: a device (./data/notecard, /dev/ttyACM0) or HOST:PORT of notecard-sim --tcp');
  const baudText = v.portconfig ?? v.baud;
  return {
    port, baud: baudText === undefined ? 9600 : wholeNumber('-portconfig', baudText),
    req: v.req, play: v.play, crc: v.crc ?? false, pretty: !v.compact,
    color: !v['no-color'] && env.NO_COLOR === undefined && process.stdout.isTTY === true,
    timeoutMs: 1000 * (v.timeout === undefined ? 30 : wholeNumber('-timeout', v.timeout)),
    verbose: v.verbose ?? false,
    history: v.history ?? env.NOTECARD_CLI_HISTORY ?? path.join(os.homedir(), '.notecard-cli-history'),
  };
}

// ---- the line to the card ----

interface Port {
  write(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** A device path, or HOST:PORT / tcp:HOST:PORT for the simulator's TCP transport. */
async function openPort(spec: string, baud: number, onData: (b: Buffer) => void, onClose: () => void): Promise<Port> {
  const tcp = /^(?:tcp:)?([^/:]*):(\d+)$/.exec(spec);
  if (tcp && !fs.existsSync(spec)) {
    const socket = await new Promise<net.Socket>((ok, fail) => {
      const s = net.connect(Number(tcp[2]), tcp[1] || '127.0.0.1', () => { s.off('error', fail); ok(s); });
      s.once('error', fail);
    });
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined); // 'close' follows
    return {
      write: (b) => new Promise((ok) => socket.write(b, () => ok())),
      close: async () => { socket.off('close', onClose); socket.destroy(); },
    };
  }
  const { SerialPort } = await import('serialport');
  // lock:false: an exclusive lock would outlive us on a pty whose other side the simulator holds
  const serial = new SerialPort({ path: spec, baudRate: baud, lock: false, autoOpen: false });
  await new Promise<void>((ok, fail) => serial.open((e) => (e ? fail(e) : ok())));
  serial.on('data', onData);
  serial.on('close', onClose);
  serial.on('error', () => undefined);
  return {
    // Long requests go in 250-byte segments with pauses, as note-c paces a UART.
    async write(b) {
      for (let off = 0; off < b.length; off += 250) {
        if (off > 0) await new Promise((r) => setTimeout(r, 250));
        await new Promise<void>((ok) => serial.write(b.subarray(off, off + 250), () => serial.drain(() => ok())));
      }
    },
    close: () => new Promise((ok) => { serial.off('close', onClose); serial.close(() => ok()); }),
  };
}

export class CardLine {
  #port?: Port;
  #buf = Buffer.alloc(0);
  #wake?: () => void;
  #closed = false;
  #seq = 0;

  constructor(private readonly opts: Pick<Options, 'port' | 'baud' | 'crc' | 'timeoutMs'>) {}

  async open(): Promise<void> {
    this.#port = await openPort(this.opts.port, this.opts.baud, (b) => {
      this.#buf = Buffer.concat([this.#buf, b]);
      this.#wake?.();
    }, () => { this.#closed = true; this.#wake?.(); });
    // Resync as the host libraries do: a bare newline, answered by a bare CRLF; drop what else came.
    await this.#port.write(Buffer.from('\n'));
    await this.#until(() => this.#buf.includes('\r\n'), 1000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    this.#buf = Buffer.alloc(0);
  }

  close(): Promise<void> {
    return this.#port?.close() ?? Promise.resolve();
  }

  /** Send one request line; its reply (undefined for a cmd). Heartbeats are waited through. */
  async request(text: string): Promise<{ reply?: Record<string, unknown>; raw?: string; trailer?: number }> {
    const obj = JSON.parse(text) as Record<string, unknown>;
    let line = text;
    let seq: string | undefined;
    if (this.opts.crc) {
      seq = (this.#seq++ & 0xffff).toString(16).toUpperCase().padStart(4, '0');
      const empty = Object.keys(obj).length === 0;
      line = `${text.slice(0, text.lastIndexOf('}'))}${empty ? ' ' : ','}"crc":"${seq}:${hex8(crc32(Buffer.from(text)))}"}`;
    }
    this.#buf = Buffer.alloc(0);
    await this.#port!.write(Buffer.from(line + '\n'));
    if (obj.cmd !== undefined && obj.req === undefined) return {};
    for (;;) {
      const raw = await this.#line();
      const reply = parseReply(raw);
      if (seq !== undefined) checkCrc(raw, seq);
      if (typeof reply.err === 'string' && reply.err.includes('{heartbeat}')) continue;
      delete reply.crc;
      // card.binary.get: the buffer's encoded bytes follow the reply on their own line
      const trailer = obj.req === 'card.binary.get' && reply.err === undefined ? (await this.#line()).length : undefined;
      return { reply, raw, trailer };
    }
  }

  async #line(): Promise<string> {
    let nl = -1;
    await this.#until(() => (nl = this.#buf.indexOf(10)) >= 0, this.opts.timeoutMs);
    const text = this.#buf.subarray(0, nl).toString('utf8');
    this.#buf = this.#buf.subarray(nl + 1);
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }

  #until(done: () => boolean, ms: number): Promise<void> {
    return new Promise((ok, fail) => {
      const check = () => {
        if (done()) { finish(); ok(); } else if (this.#closed) { finish(); fail(new Error(`the card closed the connection (${this.opts.port})`)); }
      };
      const timer = setTimeout(() => { finish(); fail(new Error(`no reply within ${ms / 1000} s from ${this.opts.port}`)); }, ms);
      const finish = () => { clearTimeout(timer); this.#wake = undefined; };
      this.#wake = check;
      check();
    });
  }
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

function parseReply(raw: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* below */ }
  throw new Error(`the card answered something that is not a JSON object: ${JSON.stringify(raw)}`);
}

function checkCrc(raw: string, seq: string): void {
  const at = raw.lastIndexOf('"crc":"');
  if (at < 0) throw new Error('the reply has no crc');
  const [gotSeq, gotCrc] = raw.slice(at + 7, raw.indexOf('"', at + 7)).split(':');
  let cut = at;
  while (cut > 0 && (raw[cut - 1] === ',' || raw[cut - 1] === ' ')) cut--;
  const body = raw.slice(0, cut) + '}';
  if (gotSeq?.toUpperCase() !== seq || gotCrc?.toUpperCase() !== hex8(crc32(Buffer.from(body)))) throw new Error(`reply crc mismatch: ${raw}`);
}

// ---- what a person types and sees ----

/** A typed line as request text: JSON as is; a bare request name becomes {"req":name}. */
export function requestText(typed: string): string {
  const t = typed.trim();
  if (t.startsWith('{')) {
    let v: unknown;
    try { v = JSON.parse(t); } catch (e) { throw new UsageError(`not JSON: ${(e as Error).message}`); }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError('a request is a JSON object');
    return t;
  }
  if (/^[a-z0-9_.]+$/i.test(t)) return JSON.stringify({ req: t });
  throw new UsageError(`not a request: ${t} (type JSON like {"req":"card.version"}, or a request name)`);
}

const RED = '\x1b[31m';
const TAG = '\x1b[1;33;41m';
const DIM = '\x1b[2m';
const OFF = '\x1b[0m';

/** A reply for people: indented (or one line); with colour, the error red and its {tags} marked. */
export function formatReply(reply: Record<string, unknown>, pretty: boolean, color: boolean): string {
  const text = JSON.stringify(reply, null, pretty ? 2 : undefined);
  if (!color || typeof reply.err !== 'string') return text;
  const quoted = JSON.stringify(reply.err);
  const marked = quoted.replace(/\{[^{}\s"]+\}/g, (tag) => `${TAG}${tag}${OFF}${RED}`);
  return text.replace(quoted, `${RED}${marked}${OFF}`);
}

async function exchange(card: CardLine, typed: string, o: Options, out: (s: string) => void): Promise<boolean> {
  const text = requestText(typed);
  if (o.verbose) out(o.color ? `${DIM}> ${text}${OFF}` : `> ${text}`);
  const { reply, trailer } = await card.request(text);
  if (!reply) return true;
  out(formatReply(reply, o.pretty, o.color));
  if (trailer !== undefined) out(`(${trailer} encoded bytes followed)`);
  return reply.err === undefined;
}

function loadHistory(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').reverse();
  } catch { return []; }
}

function interactive(card: CardLine, o: Options): Promise<void> {
  const tty = process.stdin.isTTY === true;
  const rl = readline.createInterface({
    input: process.stdin, output: process.stdout, terminal: tty, prompt: 'card> ',
    history: tty ? loadHistory(o.history) : [], historySize: 1000, removeHistoryDuplicates: true,
    completer: (line: string): [string[], string] => {
      const c = completeRequest(line);
      return [c.options, line.slice(c.from)];
    },
  });
  if (tty) {
    rl.on('history', (h: string[]) => {
      try { fs.writeFileSync(o.history, [...h].reverse().join('\n') + '\n', { mode: 0o600 }); } catch { /* history is a convenience */ }
    });
    process.stdout.write(`connected to ${o.port}; type a request ({"req":"card.version"} or just card.version); Tab completes, Ctrl-D quits\n`);
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  let queue = Promise.resolve();
  rl.on('line', (typed) => {
    queue = queue.then(async () => {
      const t = typed.trim();
      if (t === 'quit' || t === 'exit') { rl.close(); return; }
      if (t !== '' && !t.startsWith('#')) {
        try { await exchange(card, t, o, out); } catch (e) { out(`notecard-cli: ${(e as Error).message}`); }
      }
      if (tty) rl.prompt();
    });
  });
  if (tty) rl.prompt();
  return new Promise((done) => rl.on('close', () => void queue.then(done)));
}

async function play(card: CardLine, file: string, o: Options): Promise<boolean> {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  let ok = true;
  const out = (s: string) => process.stdout.write(s + '\n');
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('//')) continue;
    out(o.color ? `${DIM}> ${t}${OFF}` : `> ${t}`);
    try {
      ok = (await exchange(card, t, { ...o, verbose: false }, out)) && ok;
    } catch (e) {
      if (!(e instanceof UsageError)) throw e; // a card that stopped answering ends the play
      out(`notecard-cli: ${e.message}`);
      ok = false;
    }
  }
  return ok;
}

export async function main(argv: string[]): Promise<number> {
  let o: Options;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') { process.stdout.write(HELP); return 0; }
    o = parsed;
    if (o.req !== undefined) o.req = requestText(o.req);
  } catch (e) {
    process.stderr.write(`notecard-cli: ${(e as Error).message} (see -help)\n`);
    return 2;
  }
  const card = new CardLine(o);
  try {
    await card.open();
  } catch (e) {
    process.stderr.write(`notecard-cli: cannot open ${o.port}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    if (o.req !== undefined) return (await exchange(card, o.req, o, (s) => process.stdout.write(s + '\n'))) ? 0 : 1;
    if (o.play !== undefined) return (await play(card, o.play, o)) ? 0 : 1;
    await interactive(card, o);
    return 0;
  } catch (e) {
    process.stderr.write(`notecard-cli: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await card.close();
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
