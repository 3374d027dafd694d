// The cellular link: an AT-command modem on the host's UART, seen by the sync engine as the same
// Net (host.ts) as TCP. Bring-up (AT sync, echo off, SIM, registration, network facts, APN,
// data context), then one TCP socket inside the module: open, send after the `>` prompt, read
// what a "recv" URC announces, close. Every step has a timeout; URCs may arrive between or inside
// answers; a module restart (RDY) or a lost data context fails the socket and the next connect
// brings the module up again. Failures carry the tag hub.sync.status tells them apart by:
// {registration-failure} (SIM, registration), {network} (modem, data context, socket I/O),
// {connect-failure} (the hub could not be reached).
import type { Cellular, Clock, Log, Net, NetHandlers, NetStream, PenaltyConfig, Serial, TimerHandle } from '../host';
import { PenaltyBox } from './penalty';
import { AtChannel, type AtResult } from './at-channel';
import { QUECTEL, fields, intField, type AtDialect } from './at-dialect';

/** Tries of `AT` (one second each) before the module counts as dead. */
const SYNC_TRIES = 10;
const COMMAND_MS = 5_000;
const SEND_MS = 10_000;
const CLOSE_MS = 10_000;
const REGISTRATION_MS = 180_000;
const POLL_MS = 2_000;
/** Bytes the engine may queue ahead of the module (a few frames). */
const MAX_OUT = 16_384;
const SOCKET = 0;

export type ModemState = 'off' | 'starting' | 'no-sim' | 'searching' | 'denied' | 'registered' | 'attached' | 'failed';

export interface ModemOptions {
  serial: Serial;
  clock: Clock;
  log?: Log;
  dialect?: AtDialect;
  apn?: string;
  /** How long to wait for the network to register the module. */
  registrationMs?: number;
  pollMs?: number;
}

/** What card.wireless reports. */
export interface ModemFacts {
  state: ModemState;
  rssi?: number;
  bars?: number;
  rat?: string;
  band?: string;
  network?: string;
  operator?: string;
  rsrp?: number;
  rsrq?: number;
  sinr?: number;
  apn: string;
  /** The last failure's text (with its tag). */
  error?: string;
}

/** The link's counters since it was made: UART bytes, socket payload, time the radio was in use. */
export interface ModemFigures {
  uartTx: number;
  uartRx: number;
  payloadUp: number;
  payloadDown: number;
  radioOnMs: number;
  sessions: number;
}

class Socket {
  state: 'waiting' | 'opening' | 'open' | 'closing' | 'closed' = 'waiting';
  readonly out: Uint8Array[] = [];
  outBytes = 0;
  sending = false;
  reading = false;
  readWanted = false;
  peerClosed = false;
  /** The engine closed the stream with sends still queued: close once they went. */
  closeWhenSent = false;
  retried = false;
  timer: TimerHandle | undefined;
  constructor(readonly host: string, readonly port: number, readonly handlers: NetHandlers, readonly since: number) {}
}

export class ModemLink implements Net, Cellular {
  readonly #at: AtChannel;
  readonly #clock: Clock;
  readonly #log: Log | undefined;
  readonly #dialect: AtDialect;
  readonly #registrationMs: number;
  readonly #pollMs: number;
  #apn: string;
  /** The host's APN, used while card.wireless sets none. */
  readonly #defaultApn: string;
  #mode = '';
  readonly #penalty = new PenaltyBox();
  #state: ModemState = 'off';
  #facts: Omit<ModemFacts, 'state' | 'apn'> = {};
  /** Bumped when the module restarts: callbacks of an older bring-up do nothing. */
  #generation = 0;
  #bringing = false;
  #socket: Socket | undefined;
  /** A socket the module may still hold (an open that timed out, a close that failed). */
  #stale = false;
  #figures: ModemFigures = { uartTx: 0, uartRx: 0, payloadUp: 0, payloadDown: 0, radioOnMs: 0, sessions: 0 };

  constructor(options: ModemOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#dialect = options.dialect ?? QUECTEL;
    this.#apn = this.#defaultApn = options.apn ?? '';
    this.#registrationMs = options.registrationMs ?? REGISTRATION_MS;
    this.#pollMs = options.pollMs ?? POLL_MS;
    const d = this.#dialect;
    this.#at = new AtChannel(options.serial, options.clock, (line) => d.urcs.some((p) => line.startsWith(p)));
    this.#at.onUrc((line) => this.#urc(line));
  }

  get state(): ModemState {
    return this.#state;
  }

  facts(): ModemFacts {
    const out: ModemFacts = { state: this.#state, apn: this.#apn, ...this.#facts };
    return out;
  }

  /** No socket and no command in flight (a sync's close has finished). */
  get idle(): boolean {
    return this.#socket === undefined && !this.#at.busy;
  }

  figures(): ModemFigures {
    return { ...this.#figures, uartTx: this.#at.txBytes, uartRx: this.#at.rxBytes };
  }

  /** A new APN applies from the next bring-up. */
  setApn(apn: string): void {
    this.configure(apn, this.#mode);
  }

  // ---- Cellular (card.wireless, card.wireless.penalty) ----

  configure(apn: string, mode: string): void {
    apn ||= this.#defaultApn;
    if (apn === this.#apn && mode === this.#mode) return;
    this.#apn = apn;
    this.#mode = mode;
    // the next connect goes through the whole bring-up, where both are applied
    if (this.#state !== 'failed') this.#state = 'off';
  }

  wireless(): { [key: string]: unknown } {
    const f = this.#facts;
    const open = this.#socket?.state === 'open';
    const status: Record<ModemState, string> = {
      off: '{modem-off}', starting: '{modem-on}', 'no-sim': 'no SIM card {registration-failure}', searching: 'searching {cell-registration-wait}',
      denied: 'registration denied {registration-failure}', registered: 'registered', attached: open ? 'connected {connected}' : 'registered {network-up}',
      failed: 'the modem does not answer {network}',
    };
    const out: { [key: string]: unknown } = { status: status[this.#state] };
    if (f.bars !== undefined) out.count = f.bars;
    const n: { [key: string]: unknown } = {};
    if (f.band !== undefined) n.band = f.band;
    if (f.rat !== undefined) n.rat = f.rat;
    if (f.rssi !== undefined) n.rssi = f.rssi;
    if (f.rsrp !== undefined) n.rsrp = f.rsrp;
    if (f.sinr !== undefined) n.sinr = f.sinr;
    if (f.rsrq !== undefined) n.rsrq = f.rsrq;
    if (f.bars !== undefined) n.bars = f.bars;
    if (f.network !== undefined && f.network.length >= 5) {
      n.mcc = intField(f.network.substring(0, 3));
      n.mnc = intField(f.network.substring(3));
    }
    if (Object.keys(n).length) out.net = n;
    return out;
  }

  penalty(): { [key: string]: unknown } {
    return this.#penalty.report(this.#clock.now());
  }

  setPenalty(config: PenaltyConfig): void {
    this.#penalty.configure(config);
  }

  resetPenalty(): void {
    this.#penalty.reset();
  }

  connect(host: string, port: number, handlers: NetHandlers): NetStream {
    if (this.#socket) this.#fail(this.#socket, 'replaced by a new connection {network}');
    const s = new Socket(host, port, handlers, this.#clock.now());
    this.#socket = s;
    this.#figures.sessions++;
    if (this.#penalty.remaining(this.#clock.now()) > 0) {
      // asynchronously, as every other failure: the caller has its stream first
      this.#clock.schedule(0, () => this.#fail(s, this.#penalty.status(this.#clock.now())));
    } else if (this.#state === 'attached') this.#open(s);
    else this.#bringUp();
    return {
      write: (bytes) => this.#write(s, bytes),
      close: () => this.#close(s),
    };
  }

  // ---- bring-up ----

  #bringUp(): void {
    if (this.#bringing) return;
    this.#bringing = true;
    const gen = this.#generation;
    const fail = (state: ModemState, error: string) => {
      if (gen !== this.#generation) return;
      this.#bringing = false;
      this.#state = state;
      this.#facts.error = error;
      if (state === 'no-sim' || state === 'denied' || state === 'searching') this.#penalty.failure(this.#clock.now());
      this.#log?.log('warn', `modem: ${error}`);
      if (this.#socket) this.#fail(this.#socket, error);
    };
    const run = (text: string, next: (r: AtResult) => void, timeoutMs = COMMAND_MS, prefix?: string) =>
      this.#at.run({ text, timeoutMs, prefix }, (r) => {
        if (gen === this.#generation) next(r);
      });
    const steps = {
      sync: (tries: number) => {
        if (this.#state === 'off' || this.#state === 'failed') this.#state = 'starting';
        run('AT', (r) => {
          if (r.ok) return steps.init(0);
          if (tries + 1 < SYNC_TRIES) return steps.sync(tries + 1);
          fail('failed', 'the modem does not answer {network}');
        }, 1_000);
      },
      init: (i: number) => {
        const list = [...this.#dialect.init, ...this.#dialect.scanMode(this.#mode)];
        if (i === list.length) return steps.sim();
        run(list[i], (r) => (r.ok ? steps.init(i + 1) : fail('failed', `modem refused ${list[i]}: ${r.error} {network}`)));
      },
      sim: () => {
        run('AT+CPIN?', (r) => {
          const status = r.lines.length ? fields(r.lines[0], '+CPIN:')[0] : '';
          if (r.ok && status === 'READY') return steps.register(this.#clock.now() + this.#registrationMs);
          fail('no-sim', `no SIM card (${r.ok ? status : r.error}) {registration-failure}`);
        }, COMMAND_MS, '+CPIN:');
      },
      register: (deadline: number) => {
        // LTE (CEREG) first, then the circuit-switched registration (CREG) of older networks.
        const ask = (cmd: string, prefix: string, other?: () => void) =>
          run(cmd, (r) => {
            const stat = r.ok && r.lines.length ? intField(fields(r.lines[0], prefix)[1]) : undefined;
            if (stat === 1 || stat === 5) {
              this.#state = 'registered';
              this.#penalty.success();
              return steps.facts(0);
            }
            if (stat === 3) return fail('denied', 'registration denied by the network {registration-failure}');
            if (other) return other();
            this.#state = 'searching';
            if (this.#clock.now() + this.#pollMs > deadline) return fail('searching', `not registered after ${Math.round(this.#registrationMs / 1000)} s {registration-failure}`);
            this.#clock.schedule(this.#pollMs, () => {
              if (gen === this.#generation) steps.register(deadline);
            });
          }, COMMAND_MS, prefix);
        ask('AT+CEREG?', '+CEREG:', () => ask('AT+CREG?', '+CREG:'));
      },
      facts: (i: number) => {
        const list = this.#dialect.facts;
        if (i === list.length) return steps.apn();
        run(list[i].text, (r) => {
          if (r.ok) for (const line of r.lines) this.#fact(line);
          steps.facts(i + 1);
        }, COMMAND_MS, list[i].prefix);
      },
      apn: () => {
        run(this.#dialect.setApn(this.#apn), (r) => (r.ok ? steps.context() : fail('registered', `the modem refused the APN: ${r.error} {network}`)));
      },
      context: () => {
        const q = this.#dialect.activeQuery;
        run(q.text, (r) => {
          if (r.ok && q.isActive(r.lines)) return steps.ready();
          const d = this.#dialect;
          this.#at.run({ text: d.activate(), timeoutMs: d.activateMs, ok: d.activateDone?.ok, fail: d.activateDone?.fail }, (a) => {
            if (gen !== this.#generation) return;
            if (a.ok) steps.ready();
            else fail('registered', `data context not activated: ${a.error} {network}`);
          });
        }, COMMAND_MS, q.prefix);
      },
      ready: () => {
        this.#bringing = false;
        this.#state = 'attached';
        this.#facts.error = undefined;
        if (this.#socket?.state === 'waiting') this.#open(this.#socket);
      },
    };
    steps.sync(0);
  }

  /** Network facts from an answer line (AT+CSQ and AT+COPS?, else the family's own). */
  #fact(line: string): void {
    const f = this.#facts;
    if (line.startsWith('+CSQ:')) {
      const v = intField(fields(line, '+CSQ:')[0]);
      f.rssi = v === undefined || v === 99 ? undefined : -113 + 2 * v;
      f.bars = f.rssi === undefined ? 0 : f.rssi >= -73 ? 4 : f.rssi >= -83 ? 3 : f.rssi >= -93 ? 2 : f.rssi >= -109 ? 1 : 0;
    } else if (line.startsWith('+COPS:')) {
      const v = fields(line, '+COPS:');
      if (v[2]) f.operator = v[2];
    } else {
      const own = this.#dialect.fact(line);
      if (own) for (const k of Object.keys(own) as (keyof typeof own)[]) if (own[k] !== undefined) (f as Record<string, unknown>)[k] = own[k];
    }
  }

  // ---- the socket ----

  #open(s: Socket): void {
    const d = this.#dialect;
    s.state = 'opening';
    const go = () => {
      if (this.#socket !== s) return;
      this.#at.run({ text: d.open(SOCKET, s.host, s.port), timeoutMs: COMMAND_MS }, (r) => {
        if (this.#socket !== s) return;
        // The module still holds a socket with this id (a card restarted with it open): close, try again.
        if (!r.ok && d.openInUse(undefined, r.lines) && !s.retried) {
          s.retried = true;
          this.#stale = true;
          return this.#open(s);
        }
        if (!r.ok) return this.#fail(s, `could not open a socket: ${r.error} {network}`);
        this.#stale = true; // the module holds the socket from here until it is closed
        if (s.state === 'opening') s.timer = this.#clock.schedule(d.openMs, () => this.#fail(s, 'no answer to the connection attempt {connect-failure}'));
      });
    };
    if (!this.#stale) return go();
    this.#at.run({ text: d.close(SOCKET), timeoutMs: CLOSE_MS }, (r) => {
      if (r.ok) this.#stale = false;
      go();
    });
  }

  #urc(line: string): void {
    const d = this.#dialect;
    if (d.bootUrcs.indexOf(line) >= 0) return this.#restarted();
    const e = d.socketUrc(line);
    if (!e) return;
    if (e.kind === 'deact') {
      if (this.#state === 'attached') this.#state = 'registered';
      if (this.#socket) this.#fail(this.#socket, 'the data context was lost {network}');
      return;
    }
    const s = this.#socket;
    if (!s || e.socket !== SOCKET) return;
    if (e.kind === 'opened' && s.state === 'opening') {
      if (s.timer !== undefined) this.#clock.cancel(s.timer);
      s.timer = undefined;
      // The module still holds a socket with this id (a card restarted with it open): close, try again.
      if (d.openInUse(e.code, []) && !s.retried) {
        s.retried = true;
        this.#stale = true;
        return this.#open(s);
      }
      // a failed open leaves no socket (the module says why in the code)
      if (e.code !== 0) return this.#fail(s, `the hub could not be reached (socket error ${e.code}) {connect-failure}`, false);
      s.state = 'open';
      s.handlers.onConnect();
      return this.#pump(s);
    }
    if (e.kind === 'recv' && s.state === 'open') {
      s.readWanted = true;
      return this.#pump(s);
    }
    if (e.kind === 'closed' && s.state === 'open') {
      // What arrived before the close is still in the module: read it, then report the close.
      s.peerClosed = true;
      s.readWanted = true;
      return this.#pump(s);
    }
  }

  #restarted(): void {
    if (this.#bringing && this.#state === 'starting') return; // the power-on we are waiting for
    this.#generation++;
    this.#bringing = false;
    this.#state = 'off';
    this.#log?.log('warn', 'modem: the module restarted');
    this.#at.abort('the modem restarted');
    if (this.#socket) this.#fail(this.#socket, 'the modem restarted {network}');
    this.#stale = false; // a restarted module holds no socket
  }

  #write(s: Socket, bytes: Uint8Array): void {
    if (s.state === 'closed' || s.state === 'closing') return;
    if (s.outBytes + bytes.length > MAX_OUT) return this.#fail(s, 'more to send than the modem link buffers {network}');
    s.out.push(bytes);
    s.outBytes += bytes.length;
    this.#pump(s);
  }

  /** One send and one read at most in the channel at a time; sends first. */
  #pump(s: Socket): void {
    if (s.state !== 'open' || this.#socket !== s) return;
    const d = this.#dialect;
    if (!s.sending && s.outBytes > 0) {
      const chunk = new Uint8Array(Math.min(d.maxSend, s.outBytes));
      let at = 0;
      while (at < chunk.length) {
        const head = s.out[0];
        const n = Math.min(head.length, chunk.length - at);
        chunk.set(head.subarray(0, n), at);
        at += n;
        if (n === head.length) s.out.shift();
        else s.out[0] = head.subarray(n);
      }
      s.outBytes -= chunk.length;
      s.sending = true;
      this.#at.run({ text: d.send(SOCKET, chunk.length), timeoutMs: SEND_MS, data: chunk, ok: d.sendOk, fail: d.sendFail }, (r) => {
        s.sending = false;
        if (this.#socket !== s || s.state !== 'open') return;
        if (!r.ok) return this.#fail(s, `send failed: ${r.error} {network}`);
        this.#figures.payloadUp += chunk.length;
        if (s.closeWhenSent && s.outBytes === 0) return this.#close(s);
        this.#pump(s);
      });
    }
    if (!s.reading && s.readWanted) {
      s.reading = true;
      s.readWanted = false;
      const prefix = d.readPrefix(SOCKET);
      this.#at.run({ text: d.read(SOCKET, d.maxRead), timeoutMs: COMMAND_MS, rawPrefix: prefix }, (r) => {
        s.reading = false;
        if (this.#socket !== s || s.state !== 'open') return;
        // a module may refuse to read a socket the peer closed once it is empty
        if (!r.ok && s.peerClosed) return this.#close(s, true);
        if (!r.ok) return this.#fail(s, `read failed: ${r.error} {network}`);
        const got = r.raw?.length ?? 0;
        const line = r.lines.find((l) => l.startsWith(prefix));
        // the module may hold more: its answer says so, or (when it does not) the read was not empty
        const more = d.readMore && line !== undefined ? d.readMore(line, SOCKET) : got > 0;
        if (got > 0) {
          this.#figures.payloadDown += got;
          if (!s.closeWhenSent) s.handlers.onData(r.raw!);
        }
        if (more) s.readWanted = true;
        else if (s.peerClosed) return this.#close(s, true); // all read: now the close
        this.#pump(s);
      });
    }
  }

  /** Close by the engine (once what it wrote has gone), or after the peer closed and everything was read. */
  #close(s: Socket, byPeer = false): void {
    if (s.state === 'closed' || s.state === 'closing') return;
    if (s.state === 'open' && !byPeer && (s.sending || s.outBytes > 0)) {
      s.closeWhenSent = true;
      return;
    }
    const held = s.state === 'open' || s.state === 'opening';
    this.#settle(s, 'closing');
    if (!held || this.#socket !== s) return this.#closed(s, byPeer);
    this.#at.run({ text: this.#dialect.close(SOCKET), timeoutMs: CLOSE_MS }, (r) => {
      if (r.ok) this.#stale = false;
      this.#closed(s, byPeer);
    });
  }

  #closed(s: Socket, report: boolean): void {
    s.state = 'closed';
    if (this.#socket === s) this.#socket = undefined;
    if (report) s.handlers.onClose();
  }

  /** `held`: the module may still hold the socket (closed before the next open). */
  #fail(s: Socket, error: string, held = true): void {
    if (s.state === 'closed') return;
    if (s.state === 'closing') return this.#closed(s, false); // the engine closed it already
    const wasOpen = s.state === 'open' || s.state === 'opening';
    this.#settle(s, 'closed');
    if (this.#socket === s) this.#socket = undefined;
    if (wasOpen) this.#stale = held;
    this.#facts.error = error;
    s.handlers.onClose(error);
  }

  #settle(s: Socket, state: Socket['state']): void {
    if (s.timer !== undefined) this.#clock.cancel(s.timer);
    s.timer = undefined;
    s.state = state;
    s.out.length = 0;
    s.outBytes = 0;
    this.#figures.radioOnMs += this.#clock.now() - s.since;
  }
}
