/**
 * A scripted card for the listener tests: durable state (what would be in its flash) and one
 * sync session over a real TCP socket, built from src/sync (CardSession, codec, acceptNotes and
 * the conflict rule). Not the card's engine: just enough of the protocol, written plainly.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import * as nodeCrypto from 'node:crypto';
import { CardSession } from '../../src/sync/session';
import { acceptNotes } from '../../src/sync/receiver';
import { resolveConflict, type NoteVersion, type Side } from '../../src/rules/conflict';
import { fitNotes, templateVersion, FEATURE_CONTINUOUS, FEATURE_SKIP, type CatalogReplyEntry, type NotesMessage, type RefuseCode, type SyncMessage } from '../../src/sync/messages';
import type { WireNote } from '../../src/sync/notes-block';
import { compileTemplate, packNote, serializeTemplate } from '../../src/template';
import type { JsonObject } from '../../src/json';

const random = { bytes: (n: number): Uint8Array => new Uint8Array(nodeCrypto.randomBytes(n)) };
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** A database note on the card: `dirty` until the hub acknowledges its counter. */
export interface DbNote { note: WireNote; dirty: boolean }

export interface CardFile {
  counter: number;
  /** hub change counter durably applied (.qi, .db) */
  downUntil: number;
  template?: { definition: Uint8Array; version: number; body: JsonObject };
  outbox: Map<number, WireNote>; // .qo by counter
  inbox: Map<string, WireNote>; // .qi by hub id
  db: Map<string, DbNote>; // .db by id
}

/** What survives on the card. */
export class CardState {
  uid: string;
  product: string;
  sn = 'scripted';
  secret: Uint8Array = random.bytes(32);
  cardEpoch: Uint8Array = random.bytes(8);
  hubEpoch: Uint8Array | undefined;
  /** hub.set since the last authenticated session: the secret may be sent if the hub asks */
  provisionAllowed = true;
  files = new Map<string, CardFile>();
  env: { modified: number; vars: Record<string, string> } = { modified: 0, vars: {} };
  hubTime = 0;
  /** every inbound note id ever applied, to see a duplicate that an upsert would hide */
  applied: string[] = [];

  constructor(uid: string, product: string) { this.uid = uid; this.product = product; }

  file(name: string): CardFile {
    let f = this.files.get(name);
    if (!f) this.files.set(name, f = { counter: 0, downUntil: 0, outbox: new Map(), inbox: new Map(), db: new Map() });
    return f;
  }

  setTemplate(name: string, body: JsonObject): void {
    const t = compileTemplate(body);
    const definition = utf8(serializeTemplate(t));
    this.file(name).template = { definition, version: templateVersion(definition), body };
  }

  /** note.add to a .qo: templated when the notefile has a template. */
  add(name: string, body: JsonObject, time = 1_700_000_000, payload?: Uint8Array): void {
    const f = this.file(name);
    f.counter++;
    const n: WireNote = { counter: f.counter, time };
    if (f.template) n.record = packNote(compileTemplate(f.template.body), body, payload, { time });
    else { n.body = body; if (payload) n.payload = payload; }
    f.outbox.set(f.counter, n);
  }

  /** note.update / note.delete on a .db: a new counter, dirty. */
  dbPut(name: string, id: string, body: JsonObject | null, time: number): void {
    const f = this.file(name);
    f.counter++;
    const n: WireNote = body === null ? { counter: f.counter, time, id, deleted: true } : { counter: f.counter, time, id, body };
    f.db.set(id, { note: n, dirty: true });
  }
}

export interface SyncResult {
  established: boolean;
  provisioned: boolean;
  cardReset: boolean;
  refused?: { code: RefuseCode; text: string };
  /** the card closed after both DONEs */
  completed: boolean;
  /** bytes carried, both directions */
  bytes: number;
  /** bytes the card wrote */
  bytesUp: number;
  /** notefiles the hub left out of the session (SKIP), and why */
  skipped: Record<string, string>;
}

export interface SyncOptions {
  port: number;
  host?: string;
  /** the card's announced frame limit (default 4096) */
  maxFrame?: number;
  /** connect with TLS, trusting this certificate (PEM) */
  tlsCa?: string;
  /** cut the link after this many bytes (both directions together) */
  budget?: number;
  continuous?: boolean;
  /** ask for FEATURE_SKIP (the hub may then leave a notefile out instead of refusing the session) */
  skip?: boolean;
  /** notes per NOTES frame (small: many frames, many cut points); 'fit': as many as fit a frame */
  perFrame?: number | 'fit';
  /** may the secret be sent? default: state.provisionAllowed */
  mayProvision?: boolean;
  /** called for every message received (tests watch continuous pushes) */
  onMessage?: (m: SyncMessage) => void;
  /** at the budget, stall (stop reading and writing, keep the socket open) instead of cutting; then call this */
  onStall?: () => void;
  /** sees (and may replace) every frame the card writes, in order */
  tap?: (frame: Uint8Array) => Uint8Array;
}

/** One session. Resolves when the link closes; `link.stop()` ends a continuous session. */
export class CardLink {
  readonly result: SyncResult = { established: false, provisioned: false, cardReset: false, completed: false, bytes: 0, bytesUp: 0, skipped: {} };
  readonly done: Promise<SyncResult>;
  readonly #s: CardState;
  readonly #o: SyncOptions;
  readonly #session: CardSession;
  readonly #socket: Socket;
  #reply: CatalogReplyEntry[] = [];
  #hubDone = false;
  #cut = false;

  constructor(state: CardState, o: SyncOptions) {
    this.#s = state;
    this.#o = o;
    this.#session = new CardSession({
      uid: state.uid, sn: state.sn, product: state.product, secret: state.secret, cardEpoch: state.cardEpoch, random,
      mayProvision: o.mayProvision ?? state.provisionAllowed, features: (o.continuous ? FEATURE_CONTINUOUS : 0) | (o.skip ? FEATURE_SKIP : 0), maxFrame: o.maxFrame,
    });
    this.#socket = o.tlsCa ? tlsConnect({ port: o.port, host: o.host ?? '127.0.0.1', ca: o.tlsCa, servername: 'localhost' })
      : connect(o.port, o.host ?? '127.0.0.1');
    this.#socket.setNoDelay(true);
    this.done = new Promise((ok) => {
      this.#socket.on('error', () => undefined);
      this.#socket.on('close', () => ok(this.result));
    });
    this.#socket.on(o.tlsCa ? 'secureConnect' : 'connect', () => this.#write([this.#session.start()]));
    this.#socket.on('data', (chunk: Buffer) => this.#receive(new Uint8Array(chunk)));
  }

  /** Ends the session with CLOSE. */
  stop(): Promise<SyncResult> {
    const bytes = this.#session.close();
    if (bytes) this.#write([bytes]);
    this.#socket.end();
    return this.done;
  }

  /** Cuts the link now, as a network failure would. */
  cut(): Promise<SyncResult> {
    this.#socket.destroy();
    return this.done;
  }

  #budget(n: number): number {
    const room = (this.#o.budget ?? Infinity) - this.result.bytes;
    return Math.max(0, Math.min(n, room));
  }

  #write(frames: Uint8Array[]): void {
    for (let f of frames) {
      if (this.#cut) return;
      if (this.#o.tap) f = this.#o.tap(f);
      const n = this.#budget(f.length);
      this.result.bytes += n;
      this.result.bytesUp += n;
      if (n < f.length) {
        this.#cut = true;
        if (this.#o.onStall) {
          this.#socket.write(f.subarray(0, n));
          this.#o.onStall();
          return;
        }
        this.#socket.end(f.subarray(0, n)); // the rest is lost with the link
        setImmediate(() => this.#socket.destroy());
        return;
      }
      this.#socket.write(f);
    }
  }

  #receive(chunk: Uint8Array): void {
    if (this.#cut) return;
    const n = this.#budget(chunk.length);
    this.result.bytes += n;
    const part = chunk.subarray(0, n);
    if (n < chunk.length) {
      this.#cut = true;
      if (this.#o.onStall) this.#o.onStall();
      else this.#socket.destroy();
    }
    const out = this.#session.receive(part);
    const send = [...out.send];
    const msg = (m: SyncMessage): void => { send.push(this.#session.send(m)); };
    for (const e of out.events) {
      if (e.type === 'established') this.#established(e.info, msg);
      else if (e.type === 'refused' || e.type === 'failed') {
        this.result.refused = { code: e.code, text: e.type === 'refused' ? e.text : e.reason };
        this.#socket.end();
      } else if (e.type === 'closed') this.#socket.end();
      else if (e.type === 'message') this.#message(e.message, msg, send);
    }
    this.#write(send);
  }

  #established(info: { hubEpoch: Uint8Array; time: number; cardReset: boolean; provisioned: boolean }, msg: (m: SyncMessage) => void): void {
    const s = this.#s;
    Object.assign(this.result, { established: true, provisioned: info.provisioned, cardReset: info.cardReset });
    if (s.hubEpoch && Buffer.compare(Buffer.from(s.hubEpoch), Buffer.from(info.hubEpoch)) !== 0) {
      // the hub was reset: forget downUntil, send every database note again
      for (const f of s.files.values()) {
        f.downUntil = 0;
        for (const d of f.db.values()) d.dirty = true;
      }
    }
    s.hubEpoch = info.hubEpoch;
    s.provisionAllowed = false;
    s.hubTime = info.time;
    const files = [...s.files].map(([name, f]) => ({
      name, template: f.template?.version ?? 0, downUntil: f.downUntil, pending: f.outbox.size + [...f.db.values()].filter((d) => d.dirty).length,
    }));
    const per = Math.max(1, Math.floor(((this.#o.maxFrame ?? 4096) - 40) / 100));
    for (let i = 0; i === 0 || i < files.length; i += per) {
      msg({ type: 'catalog', more: i + per < files.length, envModified: s.env.modified, files: files.slice(i, i + per) });
    }
  }

  #message(m: SyncMessage, msg: (m: SyncMessage) => void, send: Uint8Array[]): void {
    const s = this.#s;
    this.#o.onMessage?.(m);
    switch (m.type) {
      case 'catalogReply':
        this.#reply.push(...m.files);
        if (!m.more) this.#up(msg);
        return;
      case 'ack': return this.#acked(m.name, m.until);
      case 'notes': return this.#apply(m, msg);
      case 'env': s.env = { modified: m.modified, vars: m.vars }; return;
      case 'skip': this.result.skipped[m.name] = m.text; return;
      case 'ping': return msg({ type: 'pong', token: m.token });
      case 'done':
        this.#hubDone = true;
        if (!this.#o.continuous) {
          this.result.completed = true;
          const close = this.#session.close();
          if (close) send.push(close);
          setImmediate(() => this.#socket.end());
        }
        return;
      default:
    }
  }

  #acked(name: string, until: number): void {
    const f = this.#s.file(name);
    for (const c of [...f.outbox.keys()]) if (c <= until) f.outbox.delete(c);
    for (const d of f.db.values()) if (d.note.counter <= until) d.dirty = false;
  }

  /** After CATALOG_REPLY: templates asked for, then every change after upUntil, then DONE. */
  #up(msg: (m: SyncMessage) => void): void {
    const per = this.#o.perFrame ?? 4;
    for (const r of this.#reply) {
      const f = this.#s.files.get(r.name);
      if (!f) continue;
      if (r.needTemplate && f.template) msg({ type: 'template', name: r.name, version: f.template.version, definition: f.template.definition });
      this.#acked(r.name, r.upUntil); // an ACK lost with the link is recovered here
      const notes = [...f.outbox.values(), ...[...f.db.values()].filter((d) => d.dirty).map((d) => d.note)]
        .filter((n) => n.counter > r.upUntil).sort((a, b) => a.counter - b.counter);
      let since = r.upUntil;
      if (per === 'fit') {
        for (let rest = notes; rest.length;) {
          const fit = fitNotes(r.name, since, f.counter, rest);
          msg(fit.message);
          since = fit.message.until;
          rest = rest.slice(fit.count);
        }
        continue;
      }
      for (let i = 0; i < notes.length; i += per) {
        const batch = notes.slice(i, i + per);
        const until = i + per >= notes.length ? f.counter : batch[batch.length - 1].counter;
        msg({ type: 'notes', name: r.name, since, until, notes: batch });
        since = until;
      }
    }
    this.#reply = [];
    msg({ type: 'done' });
  }

  /** Down: acceptNotes, apply (the conflict rule for dirty database notes), commit with downUntil, ACK. */
  #apply(m: NotesMessage, msg: (m: SyncMessage) => void): void {
    const s = this.#s;
    const f = s.file(m.name);
    const { apply, stored } = acceptNotes(f.downUntil, m);
    for (const n of apply) {
      s.applied.push(`${m.name}/${n.id}`);
      if (m.name.endsWith('.qi') || m.name.endsWith('.qis')) { f.inbox.set(n.id!, n); continue; }
      const mine = f.db.get(n.id!);
      const local = (note: WireNote): void => { f.counter++; f.db.set(note.id!, { note: { ...note, counter: f.counter }, dirty: true }); };
      const theirs = (): void => {
        f.counter++;
        if (n.deleted) f.db.delete(n.id!);
        else f.db.set(n.id!, { note: { ...n, counter: f.counter }, dirty: false });
      };
      const r = resolveConflict(n.id!, mine?.dirty ? version('card', mine.note) : undefined, version('hub', n));
      if (r.copy?.of === 'theirs') local({ ...n, id: r.copy.id });
      else if (r.copy) local({ ...mine!.note, id: r.copy.id });
      if (r.winner === 'theirs') theirs();
    }
    f.downUntil = stored;
    msg({ type: 'ack', name: m.name, until: stored });
  }

  get hubDone(): boolean { return this.#hubDone; }
}

function version(side: Side, n: WireNote): NoteVersion {
  return { side, counter: n.counter, time: n.time, deleted: n.deleted, body: n.body, payload: n.payload && Buffer.from(n.payload).toString('base64') };
}

/** One periodic sync: connect, exchange, close. */
export function syncOnce(state: CardState, o: SyncOptions): Promise<SyncResult> {
  return new CardLink(state, o).done;
}
