// A cellular module for the desktop, Quectel BG95/BG96-like or (option `dialect`) SIMCom
// SIM7600-like: the AT dialects of src/net/at-dialect over an in-memory UART (or a pty: see
// modem-process.ts), its sockets bridged to real TCP. The UART
// runs at a line rate (bytes take 10 bit times each way), the radio adds latency each way and
// loses packets (a lost packet costs a retransmission: one more round trip). Faults on demand:
// no SIM, registration denied or slow, signal loss, ERROR replies, the network closing the socket,
// every byte delivered alone, a module restart (RDY again).
import * as net from 'net';
import type { Serial } from '../../src/host';

export interface ModemEmulatorOptions {
  /** UART line rate in bits per second (8N1: 10 bits a byte); 0 = instant. */
  baud?: number;
  /** One-way radio latency, ms. */
  latencyMs?: number;
  /** Probability that a packet is lost once and resent a round trip later. */
  loss?: number;
  /** Time from power-on to registration, ms. */
  registrationMs?: number;
  /** Where the module's sockets really go: host names are resolved to this address. */
  address?: string;
  random?: () => number;
  /** The AT dialect the module speaks: 'quectel' (default) or 'simcom'. */
  dialect?: 'quectel' | 'simcom';
}

/** Faults that hold until cleared. */
export interface ModemFaults {
  sim: boolean;
  /** `denied`: the network refuses the module; `searching`: it never registers. */
  registration: 'normal' | 'denied' | 'searching';
  /** Every byte to the card in its own delivery. */
  split: boolean;
}

export interface ModemEmulatorStats {
  commands: number;
  /** UART bytes each way. */
  fromCard: number;
  toCard: number;
  /** Socket payload each way (down: read by the card). */
  up: number;
  down: number;
  /** Socket payload that came over the radio into the module (read or not). */
  received: number;
  /** Radio packets (sends and receptions) and the round trips the card waited on. */
  packets: number;
  /** Socket round trips: each connection's open, and each turn from sending to receiving. */
  roundTrips: number;
}

const CONTEXT_ADDRESS = '10.64.0.2';
/** A socket's receive buffer in the module; TCP back-pressure beyond it. */
const SOCKET_BUFFER = 16 * 1024;

interface EmuSocket {
  id: number;
  tcp: net.Socket;
  state: 'opening' | 'open' | 'closed';
  buffer: Buffer[];
  buffered: number;
  notified: boolean;
  peerClosed: boolean;
  /** Packets each way: a lost packet delays those behind it (TCP keeps order, and a FIN follows the data). */
  up: InOrder;
  down: InOrder;
}

/** Packets of one socket and direction: each runs no earlier than its time, and only after the
 * one ahead of it (one timer for the head: timers due at the same moment may fire in any order). */
class InOrder {
  #queue: { at: number; run: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;

  after(delayMs: number, run: () => void): void {
    const last = this.#queue[this.#queue.length - 1];
    this.#queue.push({ at: Math.max(performance.now() + delayMs, last?.at ?? 0), run });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || !this.#queue.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      while (this.#queue.length && this.#queue[0].at <= now + 0.5) this.#queue.shift()!.run();
      this.#arm();
    }, Math.max(0, this.#queue[0].at - performance.now()));
    this.#timer.unref();
  }
}

/** Bytes delivered in order, each no earlier than its time. */
class Line {
  #queue: { at: number; bytes: Uint8Array; split: boolean; done?: () => void }[] = [];
  #busyUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  constructor(private readonly bytesPerMs: number, private readonly deliver: (b: Uint8Array) => void) {}

  send(bytes: Uint8Array, delayMs = 0, split = false, done?: () => void): void {
    const now = performance.now();
    const start = Math.max(now + delayMs, this.#busyUntil);
    const at = this.bytesPerMs ? start + bytes.length / this.bytesPerMs : start;
    this.#busyUntil = at;
    this.#queue.push({ at, bytes, split, done });
    this.#arm();
  }

  clear(): void {
    this.#queue = [];
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer || !this.#queue.length) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      while (this.#queue.length && this.#queue[0].at <= now + 0.5) {
        const { bytes, split, done } = this.#queue.shift()!;
        if (!split) this.deliver(bytes);
        else for (let i = 0; i < bytes.length; i++) this.deliver(bytes.subarray(i, i + 1));
        done?.();
      }
      this.#arm();
    }, Math.max(0, this.#queue[0].at - performance.now()));
  }
}

export class ModemEmulator {
  readonly faults: ModemFaults = { sim: true, registration: 'normal', split: false };
  readonly stats: ModemEmulatorStats = { commands: 0, fromCard: 0, toCard: 0, up: 0, down: 0, received: 0, packets: 0, roundTrips: 0 };
  /** Which way the last socket payload went (a turn from up to down is a round trip). */
  #lastWay: 'up' | 'down' = 'down';
  /** The card's end of the UART: what the driver is given. */
  readonly uart: Serial;
  /** Every command line the module received, in order. */
  readonly commands: string[] = [];
  /** Called after each socket send the module accepted (a hook to land faults mid-session). */
  onSend: ((count: number) => void) | undefined;
  #sends = 0;
  /** The radio and UART settings; latency and loss may change at any time. */
  readonly options: Required<ModemEmulatorOptions>;
  #toCard: Line;
  #fromCard: Line;
  #cardReceive: (bytes: Uint8Array) => void = () => {};
  #input = '';
  #sendTo: { socket: EmuSocket; left: number; chunks: Buffer[] } | undefined;
  #echo = true;
  #powered = true;
  #poweredAt = performance.now();
  #signal = true;
  #active = false;
  #apn = '';
  #sockets = new Map<number, EmuSocket>();
  #simcom: boolean;
  /** Commands (by prefix) that answer ERROR, and how many more times. */
  #failing: { prefix: string; count: number }[] = [];

  constructor(options: ModemEmulatorOptions = {}) {
    this.options = {
      baud: options.baud ?? 115_200,
      latencyMs: options.latencyMs ?? 0,
      loss: options.loss ?? 0,
      registrationMs: options.registrationMs ?? 0,
      address: options.address ?? '127.0.0.1',
      random: options.random ?? Math.random,
      dialect: options.dialect ?? 'quectel',
    };
    this.#simcom = this.options.dialect === 'simcom';
    const rate = this.options.baud / 10 / 1000;
    this.#toCard = new Line(rate, (b) => {
      this.stats.toCard += b.length;
      this.#cardReceive(b);
    });
    this.#fromCard = new Line(rate, (b) => this.#receive(b));
    this.uart = {
      onBytes: (receive) => {
        this.#cardReceive = receive;
      },
      write: (bytes) => {
        this.stats.fromCard += bytes.length;
        this.#fromCard.send(Uint8Array.from(bytes));
      },
    };
  }

  get apn(): string {
    return this.#apn;
  }

  // ---- faults on demand ----

  /** The next `count` commands starting with `prefix` answer ERROR. */
  failNext(prefix: string, count = 1): void {
    this.#failing.push({ prefix, count });
  }

  /** The network closes every open socket (a hub or carrier reset). */
  closeSockets(): void {
    for (const s of this.#sockets.values()) if (s.state === 'open') s.tcp.destroy();
  }

  /** The signal goes for `ms`: the data context drops, sockets die, registration is lost. */
  loseSignal(ms: number): void {
    this.#signal = false;
    this.#deactivate();
    setTimeout(() => {
      this.#signal = true;
    }, ms).unref();
  }

  /** The module restarts: everything it held is gone, it is silent for `ms`, then says RDY
   * (resolved once the card's side has received it). */
  reboot(ms = 200): Promise<void> {
    this.#powered = false;
    this.#toCard.clear();
    this.#input = '';
    this.#sendTo = undefined;
    for (const s of this.#sockets.values()) s.tcp.destroy();
    this.#sockets.clear();
    this.#active = false;
    this.#echo = true;
    return new Promise((resolve) => {
      setTimeout(() => {
        this.#powered = true;
        this.#poweredAt = performance.now();
        this.#out('\r\nRDY\r\n', 0, resolve);
      }, ms).unref();
    });
  }

  close(): void {
    this.#toCard.clear();
    this.#fromCard.clear();
    for (const s of this.#sockets.values()) s.tcp.destroy();
    this.#sockets.clear();
  }

  // ---- what each dialect says ----

  #recvUrc(id: number): string {
    return this.#simcom ? `\r\n+CIPRXGET: 1,${id}\r\n` : `\r\n+QIURC: "recv",${id}\r\n`;
  }

  #closedUrc(id: number): string {
    return this.#simcom ? `\r\n+IPCLOSE: ${id},1\r\n` : `\r\n+QIURC: "closed",${id}\r\n`;
  }

  /** The outcome of an open: 0, or the hub could not be reached. */
  #openedUrc(id: number, ok: boolean): string {
    return this.#simcom ? `\r\n+CIPOPEN: ${id},${ok ? 0 : 1}\r\n` : `\r\n+QIOPEN: ${id},${ok ? 0 : 566}\r\n`;
  }

  // ---- the UART ----

  #out(text: string | Uint8Array, delayMs = 0, done?: () => void): void {
    const bytes = typeof text === 'string' ? new Uint8Array(Buffer.from(text, 'latin1')) : text;
    this.#toCard.send(bytes, delayMs, this.faults.split, done);
  }

  #receive(bytes: Uint8Array): void {
    if (!this.#powered) return;
    for (let i = 0; i < bytes.length; i++) {
      const send = this.#sendTo;
      if (send) {
        const n = Math.min(send.left, bytes.length - i);
        send.chunks.push(Buffer.from(bytes.subarray(i, i + n)));
        send.left -= n;
        i += n - 1;
        if (send.left === 0) {
          this.#sendTo = undefined;
          this.#sent(send.socket, Buffer.concat(send.chunks));
        }
        continue;
      }
      const c = bytes[i];
      if (c === 13) {
        const line = this.#input;
        this.#input = '';
        if (line.length) this.#command(line);
      } else if (c !== 10 && this.#input.length < 1024) this.#input += String.fromCharCode(c);
    }
  }

  #ok(lines: string[] = []): void {
    this.#out(lines.map((l) => `\r\n${l}\r\n`).join('') + '\r\nOK\r\n');
  }

  #error(text = 'ERROR'): void {
    this.#out(`\r\n${text}\r\n`);
  }

  #command(line: string): void {
    this.stats.commands++;
    this.commands.push(line);
    if (this.#echo) this.#out(line + '\r');
    const failing = this.#failing.find((f) => f.count > 0 && line.startsWith(f.prefix));
    if (failing) {
      failing.count--;
      return this.#error();
    }
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.substring(0, eq);
    const args = eq < 0 ? [] : splitArgs(line.substring(eq + 1));
    if (this.#simcom) {
      const handled = this.#simcomCommand(name, args);
      if (handled !== undefined) return;
    } else if (name.startsWith('AT+CIP') || name.startsWith('AT+NET') || name === 'AT+CPSI?' || name === 'AT+CNMP') return this.#error();
    if (this.#simcom && name.startsWith('AT+Q')) return this.#error();
    switch (name) {
      case 'AT':
      case 'AT+CMEE':
      case 'AT+QCFG':
        return this.#ok();
      case 'ATE0':
      case 'ATE1':
        this.#echo = name === 'ATE1';
        return this.#ok();
      case 'AT+CPIN?':
        return this.faults.sim ? this.#ok(['+CPIN: READY']) : this.#error('+CME ERROR: 10');
      case 'AT+CEREG?':
        return this.#ok([`+CEREG: 0,${this.#registration()}`]);
      case 'AT+CREG?':
        return this.#ok([`+CREG: 0,${this.#registration()}`]);
      case 'AT+CSQ':
        return this.#ok([this.#signal ? '+CSQ: 20,99' : '+CSQ: 99,99']);
      case 'AT+QCSQ':
        return this.#ok([this.#registered() ? '+QCSQ: "eMTC",-75,-102,112,-11' : '+QCSQ: "NOSERVICE"']);
      case 'AT+QNWINFO':
        return this.#ok([this.#registered() ? '+QNWINFO: "CAT-M1","310410","LTE BAND 12",5110' : '+QNWINFO: No Service']);
      case 'AT+COPS?':
        return this.#ok([this.#registered() ? '+COPS: 0,0,"Emulated Cellular",8' : '+COPS: 0']);
      case 'AT+QICSGP':
        this.#apn = args[2] ?? '';
        return this.#ok();
      case 'AT+QIACT?':
        return this.#ok(this.#active ? [`+QIACT: 1,1,1,"${CONTEXT_ADDRESS}"`] : []);
      case 'AT+QIACT':
        if (!this.#registered()) return this.#error('+CME ERROR: 30');
        // the network grants the context after a round trip
        this.#active = true;
        return this.#out('\r\nOK\r\n', this.#roundTrip());
      case 'AT+QIDEACT':
        this.#deactivate();
        return this.#ok();
      case 'AT+QIOPEN':
        return this.#open(Number(args[1]), args[3] ?? '', Number(args[4]));
      case 'AT+QISEND':
        return this.#startSend(Number(args[0]), Number(args[1]), 1460);
      case 'AT+QIRD':
        return this.#read(Number(args[0]), Number(args[1] ?? 1500));
      case 'AT+QICLOSE': {
        const s = this.#sockets.get(Number(args[0]));
        if (s) this.#closeSocket(s);
        return this.#ok();
      }
      default:
        return this.#error();
    }
  }

  /** The SIMCom commands (undefined: not one of them). */
  #simcomCommand(name: string, args: string[]): true | undefined {
    const id = Number(args[0]);
    switch (name) {
      case 'AT+CNMP':
        this.#ok();
        return true;
      case 'AT+CPSI?':
        this.#ok([this.#registered() ? '+CPSI: LTE,Online,310-410,0x2F1A,27447553,301,EUTRAN-BAND12,5110,3,3,-110,-1020,-750,11' : '+CPSI: NO SERVICE,Online']);
        return true;
      case 'AT+CGDCONT':
        this.#apn = args[2] ?? '';
        this.#ok();
        return true;
      case 'AT+NETOPEN?':
        this.#ok([`+NETOPEN: ${this.#active ? 1 : 0}`]);
        return true;
      case 'AT+NETOPEN':
        // OK at once; the network grants the context after a round trip
        this.#ok();
        if (!this.#registered()) this.#out('\r\n+NETOPEN: 1\r\n');
        else {
          this.#active = true;
          this.#out('\r\n+NETOPEN: 0\r\n', this.#roundTrip());
        }
        return true;
      case 'AT+NETCLOSE':
        this.#deactivate();
        this.#ok();
        return true;
      case 'AT+CIPRXGET':
        if (args[0] === '1') this.#ok();
        else if (args[0] === '2') this.#read(Number(args[1]), Number(args[2] ?? 1500));
        else this.#error();
        return true;
      case 'AT+CIPOPEN':
        this.#open(id, args[2] ?? '', Number(args[3]));
        return true;
      case 'AT+CIPSEND':
        this.#startSend(id, Number(args[1]), 1500);
        return true;
      case 'AT+CIPCLOSE': {
        const s = this.#sockets.get(id);
        if (!s) {
          this.#out(`\r\n+CIPCLOSE: ${id},4\r\n\r\nERROR\r\n`);
          return true;
        }
        this.#closeSocket(s);
        this.#ok();
        this.#out(`\r\n+CIPCLOSE: ${id},0\r\n`);
        return true;
      }
      default:
        return undefined;
    }
  }

  #startSend(id: number, length: number, max: number): void {
    const s = this.#sockets.get(id);
    if (!s || s.state !== 'open' || !(length > 0 && length <= max)) return this.#error();
    this.#sendTo = { socket: s, left: length, chunks: [] };
    this.#out('> ');
  }

  #closeSocket(s: EmuSocket): void {
    s.state = 'closed';
    s.tcp.destroy();
    this.#sockets.delete(s.id);
  }

  #registration(): number {
    if (!this.faults.sim) return 0;
    if (this.faults.registration === 'denied') return 3;
    return this.#registered() ? 1 : 2;
  }

  #registered(): boolean {
    return this.faults.sim && this.#signal && this.faults.registration === 'normal' && performance.now() - this.#poweredAt >= this.options.registrationMs;
  }

  /** A radio round trip, with a resend when a packet is lost. */
  #roundTrip(): number {
    let t = 2 * this.options.latencyMs;
    this.stats.packets++;
    while (this.options.loss > 0 && this.options.random() < this.options.loss) t += 2 * this.options.latencyMs;
    return t;
  }

  /** One way, with the loss of the packet costing a round trip. */
  #oneWay(): number {
    let t = this.options.latencyMs;
    this.stats.packets++;
    while (this.options.loss > 0 && this.options.random() < this.options.loss) t += 2 * this.options.latencyMs;
    return t;
  }

  #deactivate(): void {
    const was = this.#active;
    this.#active = false;
    for (const s of this.#sockets.values()) {
      s.state = 'closed';
      s.tcp.destroy();
    }
    if (was) this.#out(this.#simcom ? '\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n' : '\r\n+QIURC: "pdpdeact",1\r\n');
  }

  #open(id: number, host: string, port: number): void {
    if (!this.#active || !(id >= 0 && id <= 11) || !(port > 0 && port < 65536)) return this.#error();
    if (this.#sockets.has(id)) {
      if (this.#simcom) return this.#out('\r\n+IP ERROR: Connection is already created\r\n\r\nERROR\r\n');
      this.#ok();
      return this.#out(`\r\n+QIOPEN: ${id},563\r\n`);
    }
    this.#ok();
    const address = host === 'localhost' || net.isIP(host) === 0 ? this.options.address : host;
    const tcp = net.connect({ host: address, port });
    tcp.setNoDelay(true);
    const s: EmuSocket = { id, tcp, state: 'opening', buffer: [], buffered: 0, notified: false, peerClosed: false, up: new InOrder(), down: new InOrder() };
    this.#sockets.set(id, s);
    const delay = this.#roundTrip();
    this.stats.roundTrips++;
    this.#lastWay = 'down';
    tcp.on('connect', () => {
      setTimeout(() => {
        if (this.#sockets.get(id) !== s || s.state !== 'opening') return;
        s.state = 'open';
        this.#out(this.#openedUrc(id, true));
      }, delay).unref();
    });
    tcp.on('data', (data: Buffer) => {
      s.down.after(this.#oneWay(), () => this.#arrived(s, data));
      if (s.buffered > SOCKET_BUFFER) tcp.pause();
    });
    tcp.on('error', () => {});
    tcp.on('close', () => {
      s.down.after(this.#oneWay(), () => {
        if (this.#sockets.get(id) !== s) return;
        if (s.state === 'opening') {
          this.#sockets.delete(id);
          return this.#out(this.#openedUrc(id, false));
        }
        if (s.state !== 'open') return;
        s.peerClosed = true;
        this.#out(this.#closedUrc(id));
      });
    });
  }

  #arrived(s: EmuSocket, data: Buffer): void {
    if (this.#sockets.get(s.id) !== s || s.state !== 'open') return;
    if (this.#lastWay === 'up') this.stats.roundTrips++;
    this.#lastWay = 'down';
    this.stats.received += data.length;
    s.buffer.push(data);
    s.buffered += data.length;
    if (!s.notified) {
      s.notified = true;
      this.#out(this.#recvUrc(s.id));
    }
  }

  #sent(s: EmuSocket, data: Buffer): void {
    if (s.state !== 'open') return this.#error(this.#simcom ? '+CIPERROR: 4' : 'SEND FAIL');
    this.stats.up += data.length;
    this.#lastWay = 'up';
    this.#out(this.#simcom ? `\r\nOK\r\n\r\n+CIPSEND: ${s.id},${data.length},${data.length}\r\n` : '\r\nSEND OK\r\n');
    this.onSend?.(++this.#sends);
    s.up.after(this.#oneWay(), () => {
      if (s.state === 'open') s.tcp.write(data);
    });
  }

  #read(id: number, max: number): void {
    const s = this.#sockets.get(id);
    if (!s) return this.#error();
    if (this.#simcom && s.buffered === 0) return this.#out('\r\n+IP ERROR: No data\r\n\r\nERROR\r\n');
    const want = Math.min(max, 1500, s.buffered);
    const out = Buffer.alloc(want);
    let at = 0;
    while (at < want) {
      const head = s.buffer[0];
      const n = Math.min(head.length, want - at);
      head.copy(out, at, 0, n);
      at += n;
      if (n === head.length) s.buffer.shift();
      else s.buffer[0] = head.subarray(n);
    }
    s.buffered -= want;
    if (s.buffered === 0) s.notified = false;
    if (s.buffered <= SOCKET_BUFFER && s.tcp.isPaused()) s.tcp.resume();
    this.stats.down += want;
    const head = this.#simcom ? `+CIPRXGET: 2,${id},${want},${s.buffered}` : `+QIRD: ${want}`;
    this.#out(new Uint8Array(Buffer.concat([Buffer.from(`\r\n${head}\r\n`, 'latin1'), out, Buffer.from('\r\n\r\nOK\r\n', 'latin1')])));
  }
}

/** AT arguments: comma-separated, quotes removed. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
