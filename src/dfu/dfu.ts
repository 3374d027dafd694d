// The card's firmware updates: the download of the image the hub names (_fw host, _fwc card) into
// the host's DFU flash area, chunk by chunk in the background of a sync (docs/SYNC.md section 8),
// and what dfu.status, dfu.get and card.dfu see. Progress is persisted after every verified chunk,
// so a cut link or a power cut resumes from the last chunk written, never from zero.
import type { Flash, Log } from '../host';
import type { JsonObject } from '../json';
import { isObject } from '../json';
import type { CardSettings, DfuSlot, DfuState } from '../settings';
import { DFU_CHUNK, DFU_IN_FLIGHT, type DfuKind, type DfuMessage } from '../sync/dfu';
import { crc32 } from '../util/crc32';
import { Md5 } from '../util/md5';
import { toHex } from '../util/hex';

export type DfuMode = 'idle' | 'downloading' | 'ready' | 'error' | 'completed';
export const DFU_KINDS: readonly DfuKind[] = Object.freeze(['user', 'card']);
/** The environment variable that names each kind's image (as on Notehub). */
const ENV_NAME: Readonly<Record<DfuKind, string>> = Object.freeze({ user: '_fw', card: '_fwc' });
/** A chunk whose CRC fails is asked for again this many times before the download is an error. */
const CHUNK_RETRIES = 3;

export interface DfuDeps {
  /** The DFU flash area (absent: this host keeps no images). Split in two: user, then card. */
  readonly flash: Flash | undefined;
  readonly settings: CardSettings;
  readonly log: Log;
  /** An environment variable of the card (the hub's included). */
  env(name: string): string | undefined;
  /** The card's voltage mode (usb, high, normal, low, dead) that vvalue is read against. */
  voltageMode(): string;
}

interface Fetch {
  kind: DfuKind;
  name: string;
  /** The next offset to request; requests outstanding. */
  next: number;
  inFlight: number;
  retries: number;
}

export class CardDfu {
  readonly #d: DfuDeps;
  #send: ((m: DfuMessage) => void) | undefined;
  #idle: (() => void) | undefined;
  #query: { kind: DfuKind; name: string } | undefined;
  #fetch: Fetch | undefined;
  /** The hub's DONE came this session: the environment is current. */
  #envCurrent = false;

  constructor(deps: DfuDeps) {
    this.#d = deps;
  }

  // ---- state

  #state(): DfuState {
    return this.#d.settings.get('dfu') ?? {};
  }

  slot(kind: DfuKind): DfuSlot {
    const s = this.#state()[kind];
    return isObject(s) ? (s as DfuSlot) : { mode: 'idle' };
  }

  #put(kind: DfuKind, slot: DfuSlot): void {
    this.#d.settings.set('dfu', { ...this.#state(), [kind]: slot });
  }

  /** The part of the DFU flash a kind's image goes to: [start, start + size). */
  #area(kind: DfuKind): { flash: Flash; start: number; size: number } | undefined {
    const flash = this.#d.flash;
    if (!flash) return undefined;
    const blocks = Math.floor(flash.size / flash.blockSize / 2);
    return { flash, start: kind === 'user' ? 0 : blocks * flash.blockSize, size: blocks * flash.blockSize };
  }

  /** Downloads allowed: not turned off, and the voltage mode allowed by vvalue. */
  allowed(kind: DfuKind): boolean {
    const s = this.slot(kind);
    if (s.off) return false;
    if (!s.vvalue) return true;
    const mode = this.#d.voltageMode();
    for (const part of s.vvalue.split(';')) {
      const i = part.indexOf(':');
      if (i > 0 && part.slice(0, i).trim() === mode) {
        const v = part.slice(i + 1).trim();
        return v !== '0' && v !== 'off' && v !== 'false';
      }
    }
    return true;
  }

  // ---- what dfu.status reports and sets

  /** dfu.status's reply for a kind. */
  report(kind: DfuKind): JsonObject {
    const s = this.slot(kind);
    const out: JsonObject = { mode: s.mode };
    if (s.mode === 'downloading') out.status = progress(s);
    else if (s.status) out.status = s.status;
    out.on = !s.off;
    if (s.mode === 'ready' && s.body) out.body = s.body;
    return out;
  }

  setOptions(kind: DfuKind, o: { on?: boolean; vvalue?: string; version?: string }): void {
    if (o.on === undefined && o.vvalue === undefined && o.version === undefined) return; // a question: no flash write
    const s = { ...this.slot(kind) };
    if (o.on !== undefined) s.off = !o.on || undefined;
    if (o.vvalue !== undefined) s.vvalue = o.vvalue === '' || o.vvalue === '-' ? undefined : o.vvalue;
    if (o.version !== undefined) {
      s.version = o.version;
      s.unsent = true;
    }
    this.#put(kind, s);
    // turned off: no new requests (the chunks on their way are still written); back on: resume
    if (this.#fetch?.kind === kind && !this.allowed(kind)) this.#fetch = undefined;
    this.#maybeIdle();
  }

  /** dfu.status stop: the host is done with the image; `err` makes it an error. Reported to the hub. */
  stop(kind: DfuKind, status: string | undefined, err: string | undefined): void {
    const s = this.slot(kind);
    if (this.#fetch?.kind === kind) this.#fetch = undefined;
    const name = s.name ?? s.done;
    this.#put(kind, {
      mode: err ? 'error' : 'completed', status: err ?? status ?? 'completed', done: name, report: name,
      off: s.off, vvalue: s.vvalue, version: s.version, running: s.running, unsent: true,
    });
    this.#flushReports();
    this.#maybeIdle();
  }

  /** A downloaded card image takes effect: the card now runs the version it names (host-specific). */
  applyCardImage(): string | undefined {
    const s = this.slot('card');
    if (s.mode !== 'ready' || !s.body) return undefined;
    const v = s.body.version;
    const version = typeof v === 'string' && v ? v : String(s.body.name ?? s.name);
    this.#put('card', { ...s, mode: 'completed', status: `firmware updated to ${version}`, running: version, done: s.name, report: s.name, unsent: true, got: undefined });
    return version;
  }

  /** The version a card image installed (undefined: the built-in one). */
  runningVersion(): string | undefined {
    return this.slot('card').running;
  }

  /** dfu.get: `length` bytes at `offset` of the ready host image (hub.set mode dfu). */
  read(offset: number, length: number): { data: Uint8Array; body: JsonObject } {
    const s = this.slot('user');
    const area = this.#area('user')!;
    const total = Number(s.body!.length);
    const n = Math.max(0, Math.min(length, total - offset));
    return { data: area.flash.read(area.start + offset, n), body: s.body! };
  }

  // ---- the sync side

  /** A session with the hub began (feature dfu granted): `send` sends, `idle` is told when nothing is left. */
  begin(send: (m: DfuMessage) => void, idle: () => void): void {
    this.#send = send;
    this.#idle = idle;
    this.#query = undefined;
    this.#fetch = undefined;
    this.#envCurrent = false;
    this.#flushReports();
  }

  end(): void {
    this.#send = undefined;
    this.#idle = undefined;
    this.#query = undefined;
    this.#fetch = undefined;
    this.#envCurrent = false;
  }

  /** Downloading or asking: the session should stay open. */
  get busy(): boolean {
    return this.#query !== undefined || this.#fetch !== undefined;
  }

  /** The hub has sent what it had (its environment included): act on _fw / _fwc. */
  hubDone(): void {
    this.#envCurrent = true;
    if (this.#send && !this.busy) this.#decide();
  }

  message(m: DfuMessage): void {
    if (m.type === 'fwInfo') this.#info(m.kind, m.name, m.error, m.body);
    else if (m.type === 'fwData') this.#data(m.kind, m.name, m.offset, m.crc, m.data);
    else throw new Error(`unexpected ${m.type} from the hub`);
    this.#maybeIdle();
  }

  /** One download ended (or none runs): the other kind's may start; when nothing is left, say so. */
  #maybeIdle(): void {
    if (!this.#send || this.busy) return;
    if (this.#envCurrent) this.#decide();
    if (!this.busy) this.#idle?.();
  }

  /** What the environment asks for, against what the card holds: cancel, start or resume one download. */
  #decide(): void {
    for (const kind of DFU_KINDS) {
      const wanted = this.#d.env(ENV_NAME[kind]) || undefined;
      const s = this.slot(kind);
      if (!wanted) {
        if ((s.mode === 'downloading' || s.mode === 'ready') && s.name) {
          this.#fail(kind, s, 'firmware update cancelled by the hub');
        }
        continue;
      }
      if (wanted === s.done || (wanted === s.name && s.mode !== 'downloading')) continue;
      if (!this.allowed(kind)) continue;
      if (wanted === s.name) return this.#resume(kind, s);
      // a new image (also one that replaces a download under way): ask the hub about it
      if (s.mode === 'downloading' && s.name) this.#d.log.log('info', `dfu: ${kind} image ${s.name} replaced by ${wanted}`);
      this.#query = { kind, name: wanted };
      this.#send!({ type: 'fwQuery', kind, name: wanted });
      return;
    }
  }

  #info(kind: DfuKind, name: string, error: string, body: JsonObject): void {
    if (this.#query?.kind !== kind || this.#query.name !== name) return; // an answer to a question no longer asked
    this.#query = undefined;
    const old = this.slot(kind);
    const keep = { off: old.off, vvalue: old.vvalue, version: old.version, running: old.running };
    const length = body.length;
    const md5 = body.md5;
    const area = this.#area(kind);
    let why = error;
    if (!why && (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || typeof md5 !== 'string' || md5.length !== 32)) why = 'the hub described the image without length and md5';
    else if (!why && !area) why = 'this card has no flash area for firmware';
    else if (!why && (length as number) > area!.size) why = `the image (${length as number} bytes) is larger than the ${area!.size} bytes this card holds`;
    if (why) {
      this.#put(kind, { ...keep, mode: 'error', status: why, name, done: name, report: name, unsent: true });
      this.#flushReports();
      return;
    }
    this.#put(kind, { ...keep, mode: 'downloading', name, body, got: 0, report: name, unsent: true });
    this.#d.log.log('info', `dfu: downloading ${kind} image ${name} (${length as number} bytes)`);
    this.#flushReports();
    this.#resume(kind, this.slot(kind));
  }

  #resume(kind: DfuKind, s: DfuSlot): void {
    const area = this.#area(kind);
    if (!area || !s.body) return this.#fail(kind, s, 'the download lost its description');
    let got = s.got ?? 0;
    // a power cut in the middle of a flash write leaves a half-written chunk: its whole block goes again
    const bs = area.flash.blockSize;
    if (got % bs && !erased(area.flash.read(area.start + got, Math.min(DFU_CHUNK, bs - (got % bs))))) {
      got -= got % bs;
      this.#put(kind, { ...s, got });
    }
    this.#fetch = { kind, name: s.name!, next: got, inFlight: 0, retries: 0 };
    this.#pump();
  }

  #pump(): void {
    const f = this.#fetch;
    if (!f || !this.#send) return;
    const total = Number(this.slot(f.kind).body!.length);
    while (f.inFlight < DFU_IN_FLIGHT && f.next < total) {
      const length = Math.min(DFU_CHUNK, total - f.next);
      this.#send({ type: 'fwGet', kind: f.kind, name: f.name, offset: f.next, length });
      f.next += length;
      f.inFlight++;
    }
    if (f.next >= total && f.inFlight === 0) this.#finish(f.kind);
  }

  #data(kind: DfuKind, name: string, offset: number, crc: number, data: Uint8Array): void {
    const f = this.#fetch;
    const s = this.slot(kind);
    if (!f || f.kind !== kind || f.name !== name || s.name !== name) return; // left over from an abandoned request
    if (f.inFlight > 0) f.inFlight--; // (an answer to a request of a fetch paused and resumed: not counted)
    const got = s.got ?? 0;
    if (offset !== got) {
      // out of order only after a re-request: everything from `got` is asked for again
      if (f.inFlight === 0) {
        f.next = got;
        this.#pump();
      }
      return;
    }
    const total = Number(s.body!.length);
    const want = Math.min(DFU_CHUNK, total - got);
    if (data.length !== want) return this.#fail(kind, s, `the image is truncated: the hub sent ${data.length} bytes at offset ${offset}, expected ${want}`);
    const area = this.#area(kind)!;
    if (crc32(data) !== crc || !this.#write(area, offset, data, crc)) {
      if (++f.retries > CHUNK_RETRIES) return this.#fail(kind, s, `chunk at offset ${offset} failed its CRC check ${f.retries} times`);
      f.next = got; // this chunk and what follows it are asked for again once the requests in flight are in
      if (f.inFlight === 0) this.#pump();
      return;
    }
    const now = got + data.length;
    this.#put(kind, { ...s, got: now });
    if (Math.floor((10 * now) / total) > Math.floor((10 * got) / total)) {
      const text = progress({ ...s, got: now });
      this.#d.log.log('info', `dfu: ${kind} image ${name} ${text}`);
      this.#send?.({ type: 'fwStatus', kind, name, mode: 'downloading', text, version: s.version ?? '' });
    }
    this.#pump();
  }

  /** Erase the blocks the chunk begins, write it, read it back: true when flash holds it. */
  #write(area: { flash: Flash; start: number }, offset: number, data: Uint8Array, crc: number): boolean {
    const flash = area.flash;
    const at = area.start + offset;
    const bs = flash.blockSize;
    for (let b = Math.ceil(at / bs); b * bs < at + data.length; b++) flash.erase(b);
    const a = flash.writeAlign;
    let bytes = data;
    if (data.length % a) {
      bytes = new Uint8Array(data.length + a - (data.length % a)).fill(0xff);
      bytes.set(data);
    }
    flash.write(at, bytes);
    return crc32(flash.read(at, data.length)) === crc;
  }

  /** Every chunk is in: the whole image must match its md5 before it is called ready. */
  #finish(kind: DfuKind): void {
    this.#fetch = undefined;
    const s = this.slot(kind);
    const area = this.#area(kind)!;
    const total = Number(s.body!.length);
    const md5 = new Md5();
    for (let at = 0; at < total; at += DFU_CHUNK) md5.update(area.flash.read(area.start + at, Math.min(DFU_CHUNK, total - at)));
    const sum = toHex(md5.digest());
    if (sum !== String(s.body!.md5).toLowerCase()) return this.#fail(kind, s, `the image's md5 ${sum} does not match ${String(s.body!.md5)}`);
    this.#put(kind, { ...s, mode: 'ready', status: 'successfully downloaded', unsent: true });
    this.#d.log.log('info', `dfu: ${kind} image ${s.name} ready`);
    this.#flushReports();
  }

  #fail(kind: DfuKind, s: DfuSlot, why: string): void {
    if (this.#fetch?.kind === kind) this.#fetch = undefined;
    this.#put(kind, { mode: 'error', status: why, name: s.name, done: s.name, report: s.name, off: s.off, vvalue: s.vvalue, version: s.version, running: s.running, unsent: true });
    this.#d.log.log('warn', `dfu: ${kind} image ${s.name}: ${why}`);
    this.#flushReports();
  }

  /** Tell the hub what changed (now if a session is open, else at the next one). */
  #flushReports(): void {
    if (!this.#send) return;
    for (const kind of DFU_KINDS) {
      const s = this.slot(kind);
      if (!s.unsent) continue;
      const name = s.report ?? s.name;
      if (!name) {
        this.#put(kind, { ...s, unsent: undefined }); // nothing the hub asked for: nothing to report
        continue;
      }
      const status = s.mode === 'downloading' ? progress(s) : s.status ?? '';
      this.#send({ type: 'fwStatus', kind, name, mode: s.mode, text: status, version: s.version ?? '' });
      this.#put(kind, { ...s, unsent: undefined });
    }
  }
}

function progress(s: DfuSlot): string {
  const total = Number(s.body?.length ?? 0);
  const got = s.got ?? 0;
  const pct = total ? Math.floor((100 * got) / total) : 0;
  return `downloaded ${pct}% (${got}/${total})`;
}

function erased(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0xff) return false;
  return true;
}
