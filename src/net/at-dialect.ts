// The AT dialect of a modem family as a table: the command texts the driver sends and the way it
// reads their answers and the unsolicited result codes (URCs). The driver (modem.ts) only walks
// the steps; each family is one table: Quectel BG95/BG96 (AT+QIOPEN..., the default) and SIMCom
// SIM7500/SIM7600 (AT+NETOPEN, AT+CIPOPEN/AT+CIPSEND/AT+CIPRXGET). Syntax from the vendors'
// AT and TCP/IP manuals (facts only).

/** Network facts a family reports in its own answers (beyond the standard +CSQ and +COPS). */
export interface NetFacts {
  rat?: string;
  band?: string;
  network?: string;
  rsrp?: number;
  rsrq?: number;
  sinr?: number;
}

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
  /** The facts in one answer line of the family's own fact commands (undefined: none). */
  fact(line: string): NetFacts | undefined;
  setApn(apn: string): string;
  /** Commands that restrict the radio access technologies (card.wireless mode 'm', 'nb', 'gprs', 'auto'). */
  scanMode(mode: string): readonly string[];
  /** Query whether the data context is up; `isActive` reads its answer lines. */
  readonly activeQuery: { text: string; prefix: string; isActive(lines: readonly string[]): boolean };
  activate(): string;
  readonly activateMs: number;
  /** When the activation's outcome comes after its OK (a URC): the success line, and the prefix of
   * a failure line. Without it, OK ends the activation. */
  readonly activateDone?: { readonly ok: string; readonly fail: string };
  open(socket: number, host: string, port: number): string;
  /** How long the module may take to report the outcome of an open. */
  readonly openMs: number;
  /** The open failed because the module still holds a socket with this id (an open's URC code, or
   * the lines of its ERROR answer): close it and open again. */
  openInUse(code: number | undefined, lines: readonly string[]): boolean;
  send(socket: number, length: number): string;
  /** Final result lines of a send: success, and (the prefix of) failure. */
  readonly sendOk: string;
  readonly sendFail: string;
  read(socket: number, max: number): string;
  /** The read answer's line prefix; the number after it (up to a comma) is the count of raw bytes that follow. */
  readPrefix(socket: number): string;
  /** Whether the module holds more after a read (from its answer line); undefined: read until a read brings nothing. */
  readMore?(line: string, socket: number): boolean;
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
  fact(line: string): NetFacts | undefined {
    if (line.startsWith('+QCSQ:')) {
      const v = fields(line, '+QCSQ:');
      if (v[0] === 'eMTC' || v[0] === 'NBIoT' || v[0] === 'LTE') {
        return { rat: v[0] === 'eMTC' ? 'emtc' : v[0] === 'NBIoT' ? 'nbiot' : 'lte', rsrp: intField(v[2]), sinr: intField(v[3]), rsrq: intField(v[4]) };
      }
      return v[0] === 'GSM' ? { rat: 'gsm' } : undefined;
    }
    if (line.startsWith('+QNWINFO:')) {
      const v = fields(line, '+QNWINFO:');
      const f: NetFacts = {};
      if (v[1]) f.network = v[1];
      if (v[2]) f.band = v[2];
      return f;
    }
    return undefined;
  },
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
  // +QIOPEN error 563: the socket id is in use
  openInUse: (code: number | undefined) => code === 563,
  send: (socket: number, length: number) => `AT+QISEND=${socket},${length}`,
  sendOk: 'SEND OK',
  sendFail: 'SEND FAIL',
  read: (socket: number, max: number) => `AT+QIRD=${socket},${max}`,
  readPrefix: () => '+QIRD:',
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

/** SIMCom SIM7500 / SIM7600 (LTE Cat-1 / Cat-4) and kin: the TCP/IP stack of AT+NETOPEN with
 * AT+CIPOPEN sockets (link numbers 0-9), data read on demand (AT+CIPRXGET manual mode). */
export const SIMCOM: AtDialect = Object.freeze({
  name: 'simcom',
  maxSend: 1500,
  maxRead: 1500,
  // numeric +CME errors; received data waits in the module until read (AT+CIPRXGET=2)
  init: Object.freeze(['ATE0', 'AT+CMEE=1', 'AT+CIPRXGET=1']),
  bootUrcs: Object.freeze(['RDY']),
  urcs: Object.freeze(['+CIPRXGET: 1', '+CIPOPEN:', '+IPCLOSE:', '+CIPCLOSE:', '+CIPSEND:', '+CIPEVENT:', '+NETOPEN:', 'RDY',
    '+CPIN:', 'SMS DONE', 'PB DONE', '+CEREG:', '+CREG:', '+CGEV:']),
  facts: Object.freeze([
    Object.freeze({ text: 'AT+CSQ', prefix: '+CSQ:' }),
    Object.freeze({ text: 'AT+CPSI?', prefix: '+CPSI:' }),
    Object.freeze({ text: 'AT+COPS?', prefix: '+COPS:' }),
  ]),
  // +CPSI: LTE,Online,MCC-MNC,TAC,cell,PCI,EUTRAN-BANDn,EARFCN,dlbw,ulbw,RSRQ,RSRP,RSSI,RSSNR
  // (RSRQ, RSRP, RSSI in tenths of dB; RSSNR in dB)
  fact(line: string): NetFacts | undefined {
    if (!line.startsWith('+CPSI:')) return undefined;
    const v = fields(line, '+CPSI:');
    if (v[0] === 'NO SERVICE' || v[1] === 'Offline') return undefined;
    const f: NetFacts = { rat: v[0] === 'LTE' ? 'lte' : v[0] === 'GSM' ? 'gsm' : v[0] === 'WCDMA' ? 'wcdma' : v[0].toLowerCase() };
    const plmn = v[2] ?? '';
    const dash = plmn.indexOf('-');
    if (dash > 0) f.network = plmn.substring(0, dash) + plmn.substring(dash + 1);
    if (v[0] === 'LTE') {
      if (v[6]) f.band = v[6];
      const tenth = (t: string | undefined) => {
        const n = intField(t);
        return n === undefined ? undefined : Math.round(n / 10);
      };
      f.rsrq = tenth(v[10]);
      f.rsrp = tenth(v[11]);
      f.sinr = intField(v[13]);
    }
    return f;
  },
  setApn: (apn: string) => `AT+CGDCONT=${CONTEXT},"IP",${quoted(apn)}`,
  // AT+CNMP: 2 automatic, 13 GSM only, 38 LTE only (the Cat-1/Cat-4 parts have no LTE-M / NB-IoT choice)
  scanMode: (mode: string) =>
    mode === 'm' || mode === 'nb' ? ['AT+CNMP=38'] : mode === 'gprs' ? ['AT+CNMP=13'] : mode === 'auto' ? ['AT+CNMP=2'] : [],
  activeQuery: Object.freeze({
    text: 'AT+NETOPEN?',
    prefix: '+NETOPEN:',
    isActive: (lines: readonly string[]) => lines.some((l) => intField(fields(l, '+NETOPEN:')[0]) === 1),
  }),
  // OK at once; the outcome follows as +NETOPEN: <err> (0: opened)
  activate: () => 'AT+NETOPEN',
  activateMs: 150_000,
  activateDone: Object.freeze({ ok: '+NETOPEN: 0', fail: '+NETOPEN:' }),
  open: (socket: number, host: string, port: number) => `AT+CIPOPEN=${socket},"TCP",${quoted(host)},${port}`,
  openMs: 150_000,
  // a link still open answers the open at once: +IP ERROR: Connection is already created, ERROR
  openInUse: (_code: number | undefined, lines: readonly string[]) => lines.some((l) => l.startsWith('+IP ERROR: Connection is already created')),
  send: (socket: number, length: number) => `AT+CIPSEND=${socket},${length}`,
  // OK once the module took the data (then +CIPSEND: <link>,<requested>,<sent>, a URC here)
  sendOk: 'OK',
  sendFail: '+CIPERROR:',
  read: (socket: number, max: number) => `AT+CIPRXGET=2,${socket},${max}`,
  // +CIPRXGET: 2,<link>,<read>,<left>
  readPrefix: (socket: number) => `+CIPRXGET: 2,${socket},`,
  readMore: (line: string, socket: number) => (intField(fields(line, `+CIPRXGET: 2,${socket},`)[1]) ?? 0) > 0,
  close: (socket: number) => `AT+CIPCLOSE=${socket}`,
  socketUrc(line: string): SocketEvent | undefined {
    if (line.startsWith('+CIPOPEN:')) {
      const f = fields(line, '+CIPOPEN:');
      return { kind: 'opened', socket: intField(f[0]) ?? -1, code: intField(f[1]) ?? -1 };
    }
    if (line.startsWith('+CIPRXGET: 1,')) return { kind: 'recv', socket: intField(fields(line, '+CIPRXGET:')[1]) ?? -1 };
    // closed by the peer (1) or after a send timed out (2)
    if (line.startsWith('+IPCLOSE:')) return { kind: 'closed', socket: intField(fields(line, '+IPCLOSE:')[0]) ?? -1 };
    if (line === '+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY') return { kind: 'deact' };
    return undefined;
  },
});

/** The families by name (a host's configuration chooses one; Quectel when it names none). */
export const DIALECTS: Readonly<Record<string, AtDialect>> = Object.freeze({ quectel: QUECTEL, simcom: SIMCOM });
