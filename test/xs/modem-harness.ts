// A scripted modem and a virtual clock for the modem driver (src/net/modem.ts): a transcript
// written from the module's AT manual says what the driver must send and what the module answers.
// No timers, no host globals: one timeline of events is run to the end, so a run is a pure
// function of the script and gives the same log on Node and under XS (test/modem-xs.test.ts).
import type { Clock, NetStream, Serial } from '../../src/host';
import { ModemLink } from '../../src/net/modem';
import { DIALECTS } from '../../src/net/at-dialect';
import { utf8Decode, utf8Encode } from '../../src/util/utf8';

/** One exchange of the transcript. */
export type Step =
  /** The driver must write `at` + CR; the module answers `reply` after `delay` ms (never, without one). */
  | { at: string; reply?: string; delay?: number }
  /** A send: the prompt, then `data` bytes from the driver, then `reply`. */
  | { at: string; prompt: string; data: number; reply: string; delay?: number }
  /** The module speaks unprompted, `delay` ms after the step before it was answered. */
  | { urc: string; delay?: number };

export interface Scenario {
  script: Step[];
  /** Written to the socket once it is connected. */
  send?: string;
  /** The client closes once it has received this many bytes (and never before). */
  expect?: number;
  /** Connections tried one after the other, each after the previous one ended. */
  connects?: number;
  /** Between a closed connection and the next attempt. */
  retryMs?: number;
  /** Deliver the module's output one byte at a time. */
  split?: boolean;
  apn?: string;
  registrationMs?: number;
  /** The driver's AT family (src/net/at-dialect DIALECTS); quectel when absent. */
  dialect?: string;
}

export interface Outcome {
  log: string[];
  facts: unknown;
  figures: unknown;
  /** Steps of the script that were never reached. */
  left: number;
  now: number;
}

interface Event {
  at: number;
  seq: number;
  fire: () => void;
  live: boolean;
}

/** A virtual-time event queue that is also the driver's Clock. */
export class Timeline implements Clock {
  #now = 0;
  #seq = 0;
  #events: Event[] = [];
  now(): number {
    return this.#now;
  }
  wall(): number | undefined {
    return undefined;
  }
  schedule(ms: number, fire: () => void): Event {
    const e = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fire, live: true };
    this.#events.push(e);
    return e;
  }
  cancel(timer: unknown): void {
    (timer as Event).live = false;
  }
  /** Run events in time order (ties in the order scheduled) until none is left or `max` ran. */
  run(max = 100_000): void {
    for (let n = 0; n < max; n++) {
      let best = -1;
      for (let i = 0; i < this.#events.length; i++) {
        const e = this.#events[i];
        if (!e.live) continue;
        if (best < 0 || e.at < this.#events[best].at || (e.at === this.#events[best].at && e.seq < this.#events[best].seq)) best = i;
      }
      if (best < 0) return;
      const e = this.#events[best];
      this.#events.splice(best, 1);
      this.#now = e.at;
      e.fire();
      if (n % 64 === 0) this.#events = this.#events.filter((x) => x.live);
    }
  }
}

function show(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    s += b === 13 ? '\\r' : b === 10 ? '\\n' : b < 32 || b > 126 ? '\\x' + (b < 16 ? '0' : '') + b.toString(16) : String.fromCharCode(b);
  }
  return s;
}

/** The module side of the UART, following the script. */
class ScriptedModem implements Serial {
  #receive: (bytes: Uint8Array) => void = () => {};
  #pending = '';
  #data = -1;
  #dataStep: Extract<Step, { prompt: string }> | undefined;
  #at = 0;
  constructor(readonly script: Step[], readonly clock: Timeline, readonly log: string[], readonly split: boolean) {}

  get left(): number {
    return this.script.length - this.#at;
  }
  onBytes(receive: (bytes: Uint8Array) => void): void {
    this.#receive = receive;
  }
  write(bytes: Uint8Array): void {
    this.log.push(`-> ${show(bytes)}`);
    for (let i = 0; i < bytes.length; i++) {
      if (this.#dataStep) {
        if (--this.#data === 0) {
          const step = this.#dataStep;
          this.#dataStep = undefined;
          this.#answer(step.reply, step.delay ?? 0);
        }
        continue;
      }
      if (bytes[i] === 13) {
        this.#command(this.#pending);
        this.#pending = '';
      } else if (bytes[i] !== 10) this.#pending += String.fromCharCode(bytes[i]);
    }
  }
  /** Unprompted steps at the head of the script go out now (after their delays). */
  start(): void {
    this.#urcs(0);
  }

  #command(text: string): void {
    const step = this.script[this.#at];
    if (!step || !('at' in step) || step.at !== text) {
      this.log.push(`!! unexpected ${JSON.stringify(text)} (script wants ${step ? JSON.stringify(step) : 'nothing'})`);
      this.#at = this.script.length;
      return;
    }
    this.#at++;
    if ('prompt' in step) {
      this.#dataStep = step;
      this.#data = step.data;
      this.#send(step.prompt, 0);
      return;
    }
    if (step.reply !== undefined) this.#answer(step.reply, step.delay ?? 0);
    else this.#urcs(0);
  }

  #answer(reply: string, delay: number): void {
    this.#send(reply, delay);
    this.#urcs(delay);
  }

  #urcs(after: number): void {
    let t = after;
    while (this.#at < this.script.length) {
      const step = this.script[this.#at];
      if (!('urc' in step)) return;
      this.#at++;
      t += step.delay ?? 0;
      this.#send(step.urc, t);
    }
  }

  #send(text: string, delay: number): void {
    const bytes = utf8Encode(text);
    this.clock.schedule(delay, () => {
      this.log.push(`<- ${show(bytes)}`);
      if (!this.split) return this.#receive(bytes);
      for (let i = 0; i < bytes.length; i++) this.#receive(bytes.subarray(i, i + 1));
    });
  }
}

/** Run a scenario: the driver against the scripted module, a client on its socket. */
export function runModem(scenario: Scenario): Outcome {
  const clock = new Timeline();
  const log: string[] = [];
  const modem = new ScriptedModem(scenario.script, clock, log, scenario.split ?? false);
  const link = new ModemLink({ serial: modem, clock, apn: scenario.apn ?? 'iot.example', registrationMs: scenario.registrationMs, dialect: DIALECTS[scenario.dialect ?? 'quectel'] });
  let connects = scenario.connects ?? 1;
  const attempt = () => {
    connects--;
    let got = 0;
    let text = '';
    let stream: NetStream | undefined = undefined;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (connects > 0) clock.schedule(scenario.retryMs ?? 1000, attempt);
    };
    stream = link.connect('hub.example', 8086, {
      onConnect: () => {
        log.push(`** connected at ${clock.now()}`);
        if (scenario.send !== undefined) stream!.write(utf8Encode(scenario.send));
        if (!scenario.expect) {
          stream!.close();
          end();
        }
      },
      onData: (bytes) => {
        got += bytes.length;
        text += utf8Decode(bytes);
        if (scenario.expect && got >= scenario.expect) {
          log.push(`** received ${JSON.stringify(text)}`);
          stream!.close();
          end();
        }
      },
      onClose: (error) => {
        log.push(`** closed${error ? ': ' + error : ''} at ${clock.now()}${got ? ` after ${JSON.stringify(text)}` : ''}`);
        end();
      },
    });
  };
  modem.start();
  attempt();
  clock.run();
  return { log, facts: link.facts(), figures: link.figures(), left: modem.left, now: clock.now() };
}

/** What a module of one family says in the transcripts (from its vendor's AT manual). */
interface Speech {
  dialect: string;
  /** AT, echo off and the family's other init commands. */
  init: Step[];
  /** AT+CEREG? after AT+CPIN?, then the fact commands, the APN and the data context query. */
  facts: Step[];
  /** Activation: OK after 800 ms (or OK, then its outcome 800 ms later). */
  activate: Step[];
  activateError: Step[];
  /** Open socket 0 to hub.example:8086: OK, the outcome 300 ms later; `openFail` the same failing. */
  open: Step[];
  openFail: Step[];
  /** An open that finds socket 0 still held, then the close that frees it. */
  openInUse: Step[];
  send(n: number, prompt?: string, reply?: string): Step;
  sendOk: string;
  sendFail: string;
  recv: string;
  closed: string;
  read(data: string, left?: number): Step;
  /** The read after the last, when the module does not say what is left (undefined: none). */
  readEmpty?: Step;
  close: Step;
  deact: string;
  /** The module's words on a restart. */
  boot: string;
  /** A URC the family sends that has nothing to do with the socket. */
  noise: string;
  maxSend: number;
}

const QUECTEL_SPEECH: Speech = {
  dialect: 'quectel',
  init: [
    { at: 'AT', reply: 'AT\r\r\nOK\r\n' },
    { at: 'ATE0', reply: 'ATE0\r\r\nOK\r\n' },
    { at: 'AT+CMEE=1', reply: '\r\nOK\r\n' },
  ],
  facts: [
    { at: 'AT+CSQ', reply: '\r\n+CSQ: 20,99\r\n\r\nOK\r\n' },
    { at: 'AT+QCSQ', reply: '\r\n+QCSQ: "eMTC",-75,-102,112,-11\r\n\r\nOK\r\n' },
    { at: 'AT+QNWINFO', reply: '\r\n+QNWINFO: "CAT-M1","310410","LTE BAND 12",5110\r\n\r\nOK\r\n' },
    { at: 'AT+COPS?', reply: '\r\n+COPS: 0,0,"AT&T",8\r\n\r\nOK\r\n' },
    { at: 'AT+QICSGP=1,1,"iot.example","","",0', reply: '\r\nOK\r\n' },
    { at: 'AT+QIACT?', reply: '\r\nOK\r\n' },
  ],
  activate: [{ at: 'AT+QIACT=1', reply: '\r\nOK\r\n', delay: 800 }],
  activateError: [{ at: 'AT+QIACT=1', reply: '\r\n+CME ERROR: 30\r\n' }],
  open: [
    { at: 'AT+QIOPEN=1,0,"TCP","hub.example",8086,0,0', reply: '\r\nOK\r\n' },
    { urc: '\r\n+QIOPEN: 0,0\r\n', delay: 300 },
  ],
  openFail: [
    { at: 'AT+QIOPEN=1,0,"TCP","hub.example",8086,0,0', reply: '\r\nOK\r\n' },
    { urc: '\r\n+QIOPEN: 0,566\r\n', delay: 300 },
  ],
  openInUse: [
    { at: 'AT+QIOPEN=1,0,"TCP","hub.example",8086,0,0', reply: '\r\nOK\r\n' },
    { urc: '\r\n+QIOPEN: 0,563\r\n', delay: 10 },
    { at: 'AT+QICLOSE=0', reply: '\r\nOK\r\n' },
  ],
  send: (n, prompt = '> ', reply = '\r\nSEND OK\r\n') => ({ at: `AT+QISEND=0,${n}`, prompt, data: n, reply }),
  sendOk: '\r\nSEND OK\r\n',
  sendFail: '\r\nSEND FAIL\r\n',
  recv: '\r\n+QIURC: "recv",0\r\n',
  closed: '\r\n+QIURC: "closed",0\r\n',
  read: (data) => ({ at: 'AT+QIRD=0,1500', reply: `\r\n+QIRD: ${data.length}\r\n${data}\r\n\r\nOK\r\n` }),
  readEmpty: { at: 'AT+QIRD=0,1500', reply: '\r\n+QIRD: 0\r\n\r\nOK\r\n' },
  close: { at: 'AT+QICLOSE=0', reply: '\r\nOK\r\n' },
  deact: '\r\n+QIURC: "pdpdeact",1\r\n',
  boot: '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n',
  noise: '\r\n+QIND: SMS DONE\r\n',
  maxSend: 1460,
};

const SIMCOM_SPEECH: Speech = {
  dialect: 'simcom',
  init: [
    { at: 'AT', reply: 'AT\r\r\nOK\r\n' },
    { at: 'ATE0', reply: 'ATE0\r\r\nOK\r\n' },
    { at: 'AT+CMEE=1', reply: '\r\nOK\r\n' },
    { at: 'AT+CIPRXGET=1', reply: '\r\nOK\r\n' },
  ],
  facts: [
    { at: 'AT+CSQ', reply: '\r\n+CSQ: 20,99\r\n\r\nOK\r\n' },
    { at: 'AT+CPSI?', reply: '\r\n+CPSI: LTE,Online,310-410,0x2F1A,27447553,301,EUTRAN-BAND12,5110,3,3,-110,-1020,-750,11\r\n\r\nOK\r\n' },
    { at: 'AT+COPS?', reply: '\r\n+COPS: 0,0,"AT&T",7\r\n\r\nOK\r\n' },
    { at: 'AT+CGDCONT=1,"IP","iot.example"', reply: '\r\nOK\r\n' },
    { at: 'AT+NETOPEN?', reply: '\r\n+NETOPEN: 0\r\n\r\nOK\r\n' },
  ],
  activate: [
    { at: 'AT+NETOPEN', reply: '\r\nOK\r\n' },
    { urc: '\r\n+NETOPEN: 0\r\n', delay: 800 },
  ],
  activateError: [
    { at: 'AT+NETOPEN', reply: '\r\nOK\r\n' },
    { urc: '\r\n+NETOPEN: 1\r\n', delay: 0 },
  ],
  open: [
    { at: 'AT+CIPOPEN=0,"TCP","hub.example",8086', reply: '\r\nOK\r\n' },
    { urc: '\r\n+CIPOPEN: 0,0\r\n', delay: 300 },
  ],
  openFail: [
    { at: 'AT+CIPOPEN=0,"TCP","hub.example",8086', reply: '\r\nOK\r\n' },
    { urc: '\r\n+CIPOPEN: 0,1\r\n', delay: 300 },
  ],
  openInUse: [
    { at: 'AT+CIPOPEN=0,"TCP","hub.example",8086', reply: '\r\n+IP ERROR: Connection is already created\r\n\r\nERROR\r\n', delay: 10 },
    { at: 'AT+CIPCLOSE=0', reply: '\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n' },
  ],
  send: (n, prompt = '> ', reply = `\r\nOK\r\n\r\n+CIPSEND: 0,${n},${n}\r\n`) => ({ at: `AT+CIPSEND=0,${n}`, prompt, data: n, reply }),
  sendOk: '\r\nOK\r\n',
  sendFail: '\r\n+CIPERROR: 4\r\n',
  recv: '\r\n+CIPRXGET: 1,0\r\n',
  closed: '\r\n+IPCLOSE: 0,1\r\n',
  read: (data, left = 0) => ({ at: 'AT+CIPRXGET=2,0,1500', reply: `\r\n+CIPRXGET: 2,0,${data.length},${left}\r\n${data}\r\n\r\nOK\r\n` }),
  close: { at: 'AT+CIPCLOSE=0', reply: '\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n' },
  deact: '\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n',
  boot: '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n',
  noise: '\r\nSMS DONE\r\n',
  maxSend: 1500,
};

export const SPEECH: Readonly<Record<string, Speech>> = { quectel: QUECTEL_SPEECH, simcom: SIMCOM_SPEECH };

const CPIN: Step = { at: 'AT+CPIN?', reply: '\r\n+CPIN: READY\r\n\r\nOK\r\n' };
const CEREG: Step = { at: 'AT+CEREG?', reply: '\r\n+CEREG: 0,1\r\n\r\nOK\r\n' };

function bringUp(v: Speech): Step[] {
  return [...v.init, CPIN, CEREG, ...v.facts, ...v.activate];
}

/** The bring-up every transcript starts with: a BG96 that registers at once on LTE-M. */
export const BRING_UP: readonly Step[] = bringUp(QUECTEL_SPEECH);

/** Open socket 0 to the hub; the module reports the outcome in a URC. */
export const OPEN: readonly Step[] = QUECTEL_SPEECH.open;

/** The transcripts of test/net/modem.test.ts, by name (also run under XS): the Quectel family's
 * under their names, the SIMCom family's as `simcom.<name>`. */
export function transcripts(): Record<string, Scenario> {
  const out: Record<string, Scenario> = transcriptsOf(QUECTEL_SPEECH);
  for (const [k, v] of Object.entries(transcriptsOf(SIMCOM_SPEECH))) out[`simcom.${k}`] = v;
  return out;
}

function transcriptsOf(v: Speech): Record<string, Scenario> {
  const hello = 'hello hub';
  const reply = 'hello card';
  const BU = bringUp(v);
  const d = v.dialect;
  const readToEnd = (data: string): Step[] => (v.readEmpty ? [v.read(data), v.readEmpty] : [v.read(data)]);
  const exchange: Step[] = [
    ...v.open,
    v.send(9),
    { urc: v.recv, delay: 300 },
    v.read(reply),
    v.close,
  ];
  return {
    session: { dialect: d, script: [...BU, ...exchange], send: hello, expect: reply.length },
    split: { dialect: d, script: [...BU, ...exchange], send: hello, expect: reply.length, split: true },
    // A URC in the middle of an answer, and a "recv" between a command and its answer.
    interleaved: {
      dialect: d,
      script: [
        ...v.init, CPIN,
        { at: 'AT+CEREG?', reply: '\r\n+CEREG: 0,2\r\n\r\nOK\r\n' },
        { at: 'AT+CREG?', reply: `${v.noise}+CREG: 0,5\r\n\r\nOK\r\n` },
        ...v.facts, ...v.activate,
        ...v.open,
        v.send(9, '\r\n> ', v.sendOk + v.recv),
        v.read(reply),
        v.close,
      ],
      send: hello,
      expect: reply.length,
    },
    // The hub answers and closes: the data is read before the close is reported.
    peerClose: {
      dialect: d,
      script: [
        ...BU, ...v.open,
        v.send(9),
        { urc: v.recv + v.closed, delay: 300 },
        ...readToEnd('bye!'),
        v.close,
      ],
      send: hello,
      expect: 100,
    },
    noSim: { dialect: d, script: [...v.init, { at: 'AT+CPIN?', reply: '\r\n+CME ERROR: 10\r\n' }] },
    denied: { dialect: d, script: [...v.init, CPIN, { at: 'AT+CEREG?', reply: '\r\n+CEREG: 0,3\r\n\r\nOK\r\n' }] },
    // Still searching when the registration time is up: polled every 2 s, then given up.
    slowRegistration: {
      dialect: d,
      registrationMs: 5_000,
      script: [
        ...v.init, CPIN,
        ...[0, 1, 2].flatMap((): Step[] => [
          { at: 'AT+CEREG?', reply: '\r\n+CEREG: 0,2\r\n\r\nOK\r\n' },
          { at: 'AT+CREG?', reply: '\r\n+CREG: 0,0\r\n\r\nOK\r\n' },
        ]),
      ],
    },
    // The module is still booting: AT goes unanswered twice, then RDY and OK.
    boot: {
      dialect: d,
      script: [
        { at: 'AT' },
        { at: 'AT' },
        { at: 'AT', reply: '\r\nRDY\r\nAT\r\r\nOK\r\n' },
        ...BU.slice(1),
        ...v.open,
        v.close,
      ],
    },
    dead: { dialect: d, script: Array.from({ length: 10 }, (): Step => ({ at: 'AT' })) },
    // The hub is unreachable: the open reports a socket error; the next attempt opens anew
    // (nothing to close: a failed open leaves no socket).
    connectFailure: {
      dialect: d,
      connects: 2,
      script: [...BU, ...v.openFail, ...v.open, v.close],
    },
    // The module still holds socket 0 (the card restarted with it open): closed, opened again.
    inUse: { dialect: d, script: [...BU, ...v.openInUse, ...v.open, v.close] },
    // The module restarts mid-session: the socket fails; the next connect brings it up again
    // (echo is back on after a restart) and finds no socket left to close.
    reboot: {
      dialect: d,
      connects: 2,
      send: hello,
      expect: 4,
      script: [
        ...BU, ...v.open,
        v.send(9),
        { urc: v.boot, delay: 100 },
        ...BU, ...v.open,
        v.send(9),
        { urc: v.recv, delay: 300 },
        v.read('back'),
        v.close,
      ],
    },
    // More than one send carries: the family's largest AT send at most.
    bigSend: {
      dialect: d,
      send: 'x'.repeat(2000),
      script: [...BU, ...v.open, v.send(v.maxSend), v.send(2000 - v.maxSend), v.close],
    },
    activationError: { dialect: d, script: [...BU.slice(0, BU.length - v.activate.length), ...v.activateError] },
    sendError: {
      dialect: d,
      send: hello,
      expect: 4,
      script: [...BU, ...v.open, v.send(9, '> ', v.sendFail)],
    },
    contextLost: {
      dialect: d,
      send: hello,
      expect: 4,
      script: [
        ...BU, ...v.open,
        v.send(9),
        { urc: v.deact, delay: 50 },
      ],
    },
  };
}
