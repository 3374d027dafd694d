// The AT dialect of a modem family as a table: the command texts the driver sends and the way it
// reads their answers and the unsolicited result codes (URCs). The driver (modem.ts) only walks
// the steps; a second family (SIMCom AT+CIPOPEN/AT+CIPSEND/AT+CIPRXGET) is another table.
// Syntax from the Quectel BG95/BG96 AT and TCP/IP application notes (facts only).

/** What a socket URC means to the driver. */
export type SocketEvent =
  | { kind: 'opened'; socket: number; code: number }
  | { kind: 'recv'; socket: number }
  | { kind: 'closed'; socket: number }
  | { kind: 'deact' };

export interface AtDialect {
  readonly name: string;
  /** Largest payload of one send command, and of one read. */
  readonly maxSend: number;
  readonly maxRead: number;
  /** Commands run once after the module answers AT (echo off, numeric +CME errors). */
  readonly init: readonly string[];
  /** Lines that mean the module has just (re)started. */
  readonly bootUrcs: readonly string[];
  /** Prefixes of every unsolicited line the family sends (told apart from answers by them). */
  readonly urcs: readonly string[];
  /** Extra commands that only report network facts (their failures are ignored). */
  readonly facts: readonly { text: string; prefix: string }[];
  setApn(apn: string): string;
  /** Commands that restrict the radio access technologies (card.wireless mode 'm', 'nb', 'gprs', 'auto'). */
  scanMode(mode: string): readonly string[];
  /** Query whether the data context is up; `isActive` reads its answer lines. */
  readonly activeQuery: { text: string; prefix: string; isActive(lines: readonly string[]): boolean };
  activate(): string;
  readonly activateMs: number;
  open(socket: number, host: string, port: number): string;
  /** How long the module may take to report the outcome of an open. */
  readonly openMs: number;
  send(socket: number, length: number): string;
  /** Final result lines of a send: success and failure. */
  readonly sendOk: string;
  readonly sendFail: string;
  read(socket: number, max: number): string;
  /** The read answer's line prefix; the number after it is the count of raw bytes that follow. */
  readonly readPrefix: string;
  close(socket: number): string;
  /** A socket URC, or undefined when `line` is none of them. */
  socketUrc(line: string): SocketEvent | undefined;
}

/** The fields of an answer line after its `prefix`, split at commas, quotes removed. */
export function fields(line: string, prefix: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = prefix.length; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** A decimal field, or undefined. */
export function intField(text: string | undefined): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 9) return undefined;
  let n = 0;
  let i = text[0] === '-' ? 1 : 0;
  if (i === text.length) return undefined;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return text[0] === '-' ? -n : n;
}

/** An AT string argument: quotes and control characters cannot be sent inside one. */
function quoted(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c !== 34 && c < 127) out += s[i];
  }
  return `"${out}"`;
}

const CONTEXT = 1;

/** Quectel BG95 / BG96 (and BG77, BG600L): socket service in buffer access mode. */
export const QUECTEL: AtDialect = Object.freeze({
  name: 'quectel',
  maxSend: 1460,
  maxRead: 1500,
  init: Object.freeze(['ATE0', 'AT+CMEE=1']),
  bootUrcs: Object.freeze(['RDY']),
  urcs: Object.freeze(['+QIURC:', '+QIOPEN:', 'RDY', 'APP RDY', '+CPIN:', '+QUSIM:', '+QIND:', '+CEREG:', '+CREG:', 'POWERED DOWN']),
  facts: Object.freeze([
    Object.freeze({ text: 'AT+CSQ', prefix: '+CSQ:' }),
    Object.freeze({ text: 'AT+QCSQ', prefix: '+QCSQ:' }),
    Object.freeze({ text: 'AT+QNWINFO', prefix: '+QNWINFO:' }),
    Object.freeze({ text: 'AT+COPS?', prefix: '+COPS:' }),
  ]),
  // context 1, IPv4, no user or password, no authentication
  setApn: (apn: string) => `AT+QICSGP=${CONTEXT},1,${quoted(apn)},"","",0`,
  // iotopmode: 0 LTE-M, 1 NB-IoT, 2 both; nwscanmode: 0 automatic, 1 GSM only, 3 LTE only
  scanMode: (mode: string) =>
    mode === 'm' ? ['AT+QCFG="nwscanmode",3,1', 'AT+QCFG="iotopmode",0,1']
    : mode === 'nb' ? ['AT+QCFG="nwscanmode",3,1', 'AT+QCFG="iotopmode",1,1']
    : mode === 'gprs' ? ['AT+QCFG="nwscanmode",1,1']
    : mode === 'auto' ? ['AT+QCFG="nwscanmode",0,1', 'AT+QCFG="iotopmode",2,1']
    : [],
  activeQuery: Object.freeze({
    text: 'AT+QIACT?',
    prefix: '+QIACT:',
    isActive: (lines: readonly string[]) => lines.some((l) => {
      const f = fields(l, '+QIACT:');
      return intField(f[0]) === CONTEXT && intField(f[1]) === 1;
    }),
  }),
  activate: () => `AT+QIACT=${CONTEXT}`,
  activateMs: 150_000,
  // access mode 0: buffer access (a "recv" URC, then AT+QIRD), local port 0: any
  open: (socket: number, host: string, port: number) => `AT+QIOPEN=${CONTEXT},${socket},"TCP",${quoted(host)},${port},0,0`,
  openMs: 150_000,
  send: (socket: number, length: number) => `AT+QISEND=${socket},${length}`,
  sendOk: 'SEND OK',
  sendFail: 'SEND FAIL',
  read: (socket: number, max: number) => `AT+QIRD=${socket},${max}`,
  readPrefix: '+QIRD:',
  close: (socket: number) => `AT+QICLOSE=${socket}`,
  socketUrc(line: string): SocketEvent | undefined {
    if (line.startsWith('+QIOPEN:')) {
      const f = fields(line, '+QIOPEN:');
      return { kind: 'opened', socket: intField(f[0]) ?? -1, code: intField(f[1]) ?? -1 };
    }
    if (!line.startsWith('+QIURC:')) return undefined;
    const f = fields(line, '+QIURC:');
    if (f[0] === 'recv') return { kind: 'recv', socket: intField(f[1]) ?? -1 };
    if (f[0] === 'closed') return { kind: 'closed', socket: intField(f[1]) ?? -1 };
    if (f[0] === 'pdpdeact') return { kind: 'deact' };
    return undefined;
  },
});
