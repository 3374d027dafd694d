/**
 * One device connection of the listener: the handshake through HubSession, then the exchange of
 * docs/SYNC.md section 4 against the Hub service. Everything a connection does runs in order on
 * one promise chain (socket data, hub pushes, timers), so the session's sealing order is the
 * order frames are written.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { FrameError } from '../../src/sync/varint-io';
import { HubSession, type DeviceLookup, type HubEstablishedInfo, type SessionEvent } from '../../src/sync/session';
import {
  decodeMessage, fitNotes, LIMITS, MESSAGE_TYPES, templateVersion, FEATURE_CONTINUOUS, FEATURE_PIPELINE, FEATURE_SKIP,
  type CatalogEntry, type CatalogReplyEntry, type HelloMessage, type NotesMessage, type RefuseCode, type SyncMessage,
} from '../../src/sync/messages';
import { encodePlain } from '../../src/sync/frame';
import { maxContent } from '../../src/sync/messages';
import { Pieces, splitWeb, WEB_IN_FLIGHT, WEB_MAX_REQUEST, type WebMessage } from '../../src/sync/web';
import { proxyFetch, targetURL, type ProxyLimits, type ProxyResult, type TargetPolicy } from '../proxy';
import { fwData, type DfuKind } from '../../src/sync/dfu';
import { firmwareBody, type FirmwareType } from '../services/firmware';
import { acceptNotes } from '../../src/sync/receiver';
import { parseTemplate, type Template } from '../../src/template/index';
import { HubError, notefileKind, type Hub, type IngestNote } from '../hub';
import type { DeviceRecord, NoteInput, NoteRecord, SyncSessionRecord } from '../store/types';
import { fromWire, resolveDbChange, TemplateMissing, toEvent, toWire } from './notes';

export interface ConnectionLimits { handshakeMs: number; pingIdleMs: number; deadIdleMs: number }

export interface ConnectionContext {
  hub: Hub;
  tofu: boolean;
  limits: ConnectionLimits;
  tls: boolean;
  log(line: string): void;
  /** Where the cards' web requests may go (proxy routes), and their bounds. */
  proxy: { policy: TargetPolicy; limits: ProxyLimits };
  /** Called once established: the listener closes an older connection of the same device. */
  register(uid: string, c: DeviceConnection): Promise<void>;
  unregister(uid: string, c: DeviceConnection): void;
}

/** A failure that ends the session with REFUSE `code`. */
class Refusal extends Error {
  override name = 'Refusal';
  readonly code: RefuseCode;
  constructor(code: RefuseCode, message: string) { super(message); this.code = code; }
}

/** Per notefile of this session. `acked`: highest hub change the card committed; `sent`: sent so far. */
interface FileState { template: number; acked: number; sent: number }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const random = { bytes: (n: number): Uint8Array => new Uint8Array(randomBytes(n)) };

export class DeviceConnection {
  readonly #ctx: ConnectionContext;
  readonly #socket: Socket;
  #chain: Promise<void> = Promise.resolve();
  #pre: Buffer[] = [];
  #session: HubSession | undefined;
  #hello: HelloMessage | undefined;
  /** The device's hub epoch: drawn when the hub records the device (so a device deleted and provisioned again resyncs in full). */
  #hubEpoch: Uint8Array = random.bytes(8);
  #device: DeviceRecord | undefined;
  #record: SyncSessionRecord | undefined;
  #ended = false;
  // the exchange
  #catalog: CatalogEntry[] = [];
  #catalogDone = false;
  #cardEnv = 0;
  #envSent: string | undefined;
  #files = new Map<string, FileState>();
  #upUntil = new Map<string, number>();
  #templates = new Map<string, Template>();
  #downStarted = false;
  #doneOwed = false;
  #inFlight = 0;
  #blocked = new Set<string>();
  /** Notefiles this hub left out of the session (SKIP sent): their NOTES are answered, not applied. */
  #skipped = new Set<string>();
  /** Pipelined sessions: notefiles whose template CATALOG_REPLY asked for and no TEMPLATE brought yet. */
  #awaiting = new Set<string>();
  // web requests (docs/SYNC.md section 4.6): bodies being received, requests out, an upload in fragments
  #webIn = new Map<number, { first: WebMessage; pieces: Pieces; tooBig: boolean }>();
  #webOut = 0;
  #upload: { key: string; total: number; data: Uint8Array; received: number } | undefined;
  // liveness
  #lastRx: number;
  #pingOut = false;
  #timer: NodeJS.Timeout;

  constructor(ctx: ConnectionContext, socket: Socket) {
    this.#ctx = ctx;
    this.#socket = socket;
    this.#lastRx = ctx.hub.now();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#lastRx = this.#ctx.hub.now();
      socket.pause();
      this.#run(() => this.#receive(chunk), () => { if (!this.#ended) socket.resume(); });
    });
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => this.#finish('link closed'));
    const tick = Math.max(10, Math.min(1000, ctx.limits.pingIdleMs / 4));
    const started = ctx.hub.now();
    this.#timer = setInterval(() => this.#tick(started), tick);
    this.#timer.unref();
  }

  get deviceUID(): string | undefined { return this.#device?.uid; }
  /** Settles once the work queued so far is done. */
  get idle(): Promise<void> { return this.#chain; }
  get continuous(): boolean { return !!this.#session?.info && (this.#session.info.features & FEATURE_CONTINUOUS) !== 0; }

  /** Hub-side notes of this device changed: push them (continuous sessions, after the first down phase). */
  notesChanged(file: string): void {
    if (!this.continuous || !this.#downStarted) return;
    this.#run(() => {
      // a notefile the card did not list and the hub did not hold at CATALOG time: the card has none of it
      if (!this.#files.has(file) && DeviceConnection.#down(file)) this.#files.set(file, { template: 0, acked: 0, sent: 0 });
      return this.#pump();
    });
  }

  /** Some environment changed: send ENV if this device's effective environment differs from what it has. */
  envChanged(): void {
    if (this.continuous && this.#downStarted) this.#run(() => this.#sendEnv(true));
  }

  /** A signal for this device: sent when the session is live (continuous); true if it was. */
  signal(text: string): boolean {
    if (!this.continuous || this.#ended || this.#session?.state !== 'established') return false;
    this.#run(() => this.#send({ type: 'signal', body: new Uint8Array(Buffer.from(text)) }));
    return true;
  }

  /** Ends the connection (a newer connection of the same device); resolves once its work is done. */
  close(reason: string): Promise<void> {
    this.#run(async () => {
      if (this.#session?.state === 'established') this.#write([this.#session.close()!]);
      this.#end(reason);
    });
    return this.#chain;
  }

  #run(fn: () => Promise<void> | void, after?: () => void): void {
    this.#chain = this.#chain.then(async () => { if (!this.#ended) await fn(); })
      .catch((e: unknown) => this.#failure(e))
      .finally(() => after?.());
  }

  #tick(started: number): void {
    const now = this.#ctx.hub.now();
    const { handshakeMs, pingIdleMs, deadIdleMs } = this.#ctx.limits;
    if (this.#session?.state !== 'established') {
      if (now - started > handshakeMs) this.#end('handshake timeout');
      return;
    }
    const idle = now - this.#lastRx;
    if (idle > deadIdleMs) this.#end('idle timeout');
    else if (idle > pingIdleMs && !this.#pingOut && this.continuous) {
      this.#pingOut = true;
      this.#run(() => this.#send({ type: 'ping', token: now % 1e9 }));
    }
  }

  // ---------------------------------------------------------------- bytes in

  async #receive(chunk: Buffer): Promise<void> {
    this.#pingOut = false;
    if (!this.#session) {
      this.#pre.push(chunk);
      const all = Buffer.concat(this.#pre);
      const hello = peekHello(all);
      if (hello === undefined) return; // need more bytes
      this.#pre = [];
      const lookup: DeviceLookup = hello === null ? { status: 'refuse', code: 'protocol', text: 'the stream must begin with HELLO' } : await this.#lookup(hello);
      this.#hello = hello ?? undefined;
      this.#session = new HubSession({ hubEpoch: this.#hubEpoch, random, now: () => this.#ctx.hub.now(), lookup: () => lookup });
      chunk = all;
    }
    const out = this.#session.receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    const established = out.events.find((e) => e.type === 'established');
    if (established?.type === 'established') {
      try {
        await this.#established(established.info as HubEstablishedInfo);
      } catch (e) {
        const r = this.#refusal(e);
        this.#write([encodePlain({ type: 'refuse', code: r.code, text: r.message })]);
        return this.#end(`refused: ${r.message}`);
      }
    }
    this.#write(out.send);
    for (const e of out.events) {
      if (this.#ended) return;
      await this.#event(e);
    }
  }

  async #event(e: SessionEvent): Promise<void> {
    switch (e.type) {
      case 'established': case 'keyed': return;
      case 'message': return this.#message(e.message);
      case 'failed': return this.#end(`${e.code}: ${e.reason}`);
      case 'refused': return this.#end(`card refused: ${e.code} ${e.text}`);
      case 'closed': return this.#end('closed by the card');
    }
  }

  // ---------------------------------------------------------------- handshake

  /**
   * What the hub knows of the device: docs/SYNC.md section 3 and 4.4 "Identity" (TOFU, disabled,
   * deleted, product). A device belongs to the project of the product it announces.
   */
  async #lookup(h: HelloMessage): Promise<DeviceLookup> {
    const { lookup, hubEpoch } = await this.#ctx.hub.deviceSync.lookup(h, this.#ctx.tofu, this.#hubEpoch);
    this.#hubEpoch = hubEpoch;
    return lookup;
  }

  /** Authenticated: record a provisioned device, the card epoch (reset), the session. Before WELCOME goes out. */
  async #established(info: HubEstablishedInfo): Promise<void> {
    const { hub, tofu } = this.#ctx;
    const h = info.hello;
    const now = hub.now() / 1000;
    const refuse = (e: unknown): never => {
      throw e instanceof HubError ? new Refusal(e.status === 404 ? 'product' : 'auth', e.message) : e;
    };
    // the secret is recorded once, with the device, atomically: a handshake held open since before
    // another connection provisioned this UID is refused here (docs/SYNC.md 4.4 "Identity")
    if (info.secret) await hub.devices.admitDevice(h.product, h.uid, { sn: h.sn || undefined, secret: hex(info.secret), replaceForeign: tofu }).catch(refuse);
    else await hub.devices.followProduct(h.uid, h.product).catch(refuse);
    const device = await hub.deviceSync.connected(h, { provisioned: info.provisioned, hubEpoch: this.#hubEpoch });
    if (device.disabled) throw new Refusal('auth', 'device disabled');
    this.#device = device;
    this.#record = {
      uid: randomUUID(), deviceUID: device.uid, started: now, ended: null, remote: `${this.#socket.remoteAddress}:${this.#socket.remotePort}`,
      tls: this.#ctx.tls, features: info.features, notesUp: 0, notesDown: 0, reason: null,
    };
    await hub.deviceSync.begin(device, info.cardEpoch, info.cardReset, this.#record);
    // the ticket the next session may RESUME with (it replaces the one this session used)
    if (info.ticket) await hub.deviceSync.putTicket(device.uid, info.ticket);
    await this.#ctx.register(device.uid, this);
    this.#ctx.log(`device ${device.uid} connected${info.provisioned ? ' (provisioned)' : ''}${info.cardReset ? ' (card reset)' : ''}${info.resumed ? ' (resumed)' : ''}`);
  }

  // ---------------------------------------------------------------- the exchange

  async #message(m: SyncMessage): Promise<void> {
    switch (m.type) {
      case 'catalog':
        this.#catalog.push(...m.files);
        if (!m.more) await this.#onCatalog(m.envModified);
        return;
      case 'template': return this.#onTemplate(m.name, m.version, m.definition);
      case 'notes': return this.#onNotes(m);
      case 'ack': return this.#onAck(m.name, m.until);
      case 'skip':
        // the card cannot take this notefile's notes: stop sending them; its ACK follows
        this.#blocked.add(m.name);
        this.#ctx.log(`device ${this.#device!.uid}: the card skipped ${m.name}: ${m.text}`);
        return;
      case 'done':
        if (!this.#catalogDone) throw new Refusal('protocol', 'DONE before CATALOG');
        if (!this.#downStarted) {
          this.#downStarted = true;
          await this.#sendEnv(false);
          this.#doneOwed = true;
          await this.#pump();
        }
        return;
      case 'ping': return this.#send({ type: 'pong', token: m.token });
      case 'pong': return;
      case 'web': return this.#onWeb(m);
      case 'fwQuery': return this.#onFwQuery(m.kind, m.name);
      case 'fwGet': return this.#onFwGet(m.kind, m.name, m.offset, m.length);
      case 'fwStatus':
        await this.#ctx.hub.firmware.report(this.#device!.uid, FW_TYPE[m.kind], m.name, m.mode, m.text, m.version);
        if (m.mode !== 'downloading') this.#ctx.log(`device ${this.#device!.uid}: ${m.kind} firmware ${m.name}: ${m.mode} ${m.text}`);
        return;
      default: throw new Refusal('protocol', `${m.type} from a card`);
    }
  }

  /** A piece of a web request; the last one sends it out (off the chain: a slow target holds up nothing). */
  #onWeb(m: WebMessage): void {
    let w = this.#webIn.get(m.id);
    if (!w) {
      if (this.#webIn.size >= WEB_IN_FLIGHT) throw new Refusal('protocol', 'too many web requests in pieces');
      w = { first: m, pieces: new Pieces(WEB_MAX_REQUEST), tooBig: false };
      this.#webIn.set(m.id, w);
    }
    if (!w.tooBig && !w.pieces.add(m.body)) w.tooBig = true;
    if (m.more) return;
    this.#webIn.delete(m.id);
    const answer = (r: ProxyResult): void => this.#run(() => this.#webAnswer(m.id, r));
    if (w.tooBig) return answer({ ok: false, status: 413, error: `a web request carries at most ${WEB_MAX_REQUEST} bytes {too-big}` });
    if (this.#webOut >= WEB_IN_FLIGHT) return answer({ ok: false, status: 429, error: `at most ${WEB_IN_FLIGHT} web requests at once {busy}` });
    this.#webOut++;
    void this.#web(w.first, w.pieces.bytes())
      .catch((e: unknown): ProxyResult => {
        this.#ctx.log(`device ${this.#device?.uid ?? '?'}: web request failed: ${e instanceof Error ? e.stack : String(e)}`);
        return { ok: false, status: 500, error: 'internal error' };
      })
      .then((r) => { this.#webOut--; answer(r); });
  }

  /** The request through the device's proxy route `route`. */
  async #web(m: WebMessage, body: Uint8Array): Promise<ProxyResult> {
    const { hub, proxy } = this.#ctx;
    const device = await hub.devices.device(this.#device!.uid);
    const route = await hub.routes.proxyRoute(device.projectUID, m.route, device.fleetUIDs);
    if (!route) return { ok: false, status: 404, error: `no proxy route "${m.route}" for this device` };
    if (m.status && createHash('md5').update(body).digest('hex') !== m.status) return { ok: false, status: 400, error: 'the md5 of what arrived does not match status {bad-bin}' };
    const sends = m.method === 'POST' || m.method === 'PUT' || m.method === 'PATCH';
    // an upload in fragments (offset/total): kept here until the last one, then sent whole
    if (sends && m.total > 0 && !(m.offset === 0 && body.length === m.total)) {
      const key = `${m.route}\n${m.name}`;
      if (m.total > proxy.limits.maxRequest) return { ok: false, status: 413, error: `an upload carries at most ${proxy.limits.maxRequest} bytes {too-big}` };
      if (m.offset === 0) this.#upload = { key, total: m.total, data: new Uint8Array(m.total), received: 0 };
      const u = this.#upload;
      if (!u || u.key !== key || u.total !== m.total || m.offset !== u.received || u.received + body.length > u.total) {
        this.#upload = undefined;
        return { ok: false, status: 400, error: `fragment at offset ${m.offset} out of order: send the fragments in order from offset 0` };
      }
      u.data.set(body, u.received);
      u.received += body.length;
      if (u.received < u.total) return { ok: true, status: 100, contentType: '', body: new Uint8Array(0) };
      this.#upload = undefined;
      body = u.data;
    }
    const query: [string, number][] = !sends && m.max > 0 ? [['offset', m.offset], ['max', m.max]] : [];
    const headers: { [k: string]: string } = { ...route.headers };
    if (sends || body.length) headers['content-type'] = m.content || 'application/json';
    const timeoutMs = Math.min(m.seconds || 90, route.proxy?.timeout || 90) * 1000;
    return proxyFetch(proxy.policy, { method: m.method, url: targetURL(route.url, m.name, query), headers, body: sends || body.length ? body : undefined, timeoutMs }, proxy.limits);
  }

  #webAnswer(id: number, r: ProxyResult): void {
    if (this.#session?.state !== 'established') return;
    const room = maxContent(this.#session.sendFrame);
    if (!r.ok) {
      this.#send({ type: 'webReply', id, result: r.status, content: '', error: true, more: false, body: new Uint8Array(Buffer.from(r.error.slice(0, 512))) });
      return;
    }
    for (const m of splitWeb({ type: 'webReply', id, result: r.status, content: r.contentType.slice(0, 128), error: false, more: false, body: r.body }, room)) this.#send(m);
  }

  // ---------------------------------------------------------------- firmware (docs/SYNC.md section 8)

  async #onFwQuery(kind: DfuKind, name: string): Promise<void> {
    const got = await this.#ctx.hub.firmware.imageFor(this.#device!.uid, FW_TYPE[kind], name);
    if ('error' in got) return this.#send({ type: 'fwInfo', kind, name, error: got.error, body: {} });
    this.#send({ type: 'fwInfo', kind, name, error: '', body: firmwareBody(got.image) });
  }

  /** A chunk of the image, read from the store by offset (a connection holds no image in RAM).
   * A truncated or removed image sends what there is (the card notices the length). */
  async #onFwGet(kind: DfuKind, name: string, offset: number, length: number): Promise<void> {
    const data = await this.#ctx.hub.firmware.imageChunk(this.#device!.uid, FW_TYPE[kind], name, offset, length);
    this.#send(fwData(kind, name, offset, data ?? new Uint8Array(0)));
  }

  /** Down notefiles are the card's .qi/.db and those the hub holds for the device. */
  static #down(file: string): boolean {
    const k = notefileKind(file);
    return k === 'qi' || k === 'db';
  }

  async #onCatalog(envModified: number): Promise<void> {
    const { hub } = this.#ctx;
    const uid = this.#device!.uid;
    const files = this.#catalog;
    this.#catalog = [];
    this.#catalogDone = true;
    this.#cardEnv = envModified;
    this.#upUntil = new Map(Object.entries(await hub.deviceSync.upUntil(uid)));
    this.#files.clear();
    this.#inFlight = 0;
    const reply: CatalogReplyEntry[] = [];
    for (const f of files) {
      const why = refusedName(f.name);
      if (why !== undefined) {
        this.#skip(f.name, why);
        continue;
      }
      this.#files.set(f.name, { template: f.template, acked: f.downUntil, sent: f.downUntil });
      const needTemplate = f.template !== 0 && (await hub.deviceSync.template(uid, f.name, f.template)) === null;
      if (needTemplate && this.#pipelined()) this.#awaiting.add(f.name);
      let pending = 0;
      if (DeviceConnection.#down(f.name)) {
        if (notefileKind(f.name) === 'qi') await this.#delivered(f.name, f.downUntil); // an ACK lost with the link
        pending = (await this.#pending(f.name, f.downUntil)).length;
      }
      reply.push({ name: f.name, upUntil: this.#upUntil.get(f.name) ?? 0, needTemplate, pending });
    }
    for (const { file } of await hub.deviceSync.notefiles(uid)) {
      if (this.#files.has(file) || !DeviceConnection.#down(file) || refusedName(file) !== undefined) continue;
      this.#files.set(file, { template: 0, acked: 0, sent: 0 });
      const pending = (await this.#pending(file, 0)).length;
      if (pending) reply.push({ name: file, upUntil: this.#upUntil.get(file) ?? 0, needTemplate: false, pending });
    }
    // entries per frame so that the longest names fit the card's announced frame size
    const per = Math.max(1, Math.floor((this.#maxFrame() - 32) / (LIMITS.notefile + 32)));
    for (let i = 0; i === 0 || i < reply.length; i += per) {
      this.#send({ type: 'catalogReply', more: i + per < reply.length, files: reply.slice(i, i + per) });
    }
  }

  async #onTemplate(name: string, version: number, definition: Uint8Array): Promise<void> {
    const why = refusedName(name);
    if (why !== undefined) return this.#skip(name, why);
    if (templateVersion(definition) !== version) return this.#skip(name, `template version ${version} is not the CRC-32 of its definition`);
    const text = Buffer.from(definition).toString('utf8');
    let template: Template;
    try { template = parseTemplate(text); } catch (e) { return this.#skip(name, `bad template: ${e instanceof Error ? e.message : String(e)}`); }
    await this.#ctx.hub.deviceSync.putTemplate(this.#device!.uid, name, version, text);
    this.#awaiting.delete(name);
    this.#templates.set(`${name}/${version}`, template);
    const f = this.#files.get(name);
    if (f) f.template = version;
    else this.#files.set(name, { template: version, acked: 0, sent: 0 });
  }

  async #template(name: string): Promise<Template | undefined> {
    const version = this.#files.get(name)?.template ?? 0;
    if (!version) return undefined;
    const key = `${name}/${version}`;
    let t = this.#templates.get(key);
    if (!t) {
      const text = await this.#ctx.hub.deviceSync.template(this.#device!.uid, name, version);
      if (text === null) return undefined;
      t = parseTemplate(text);
      this.#templates.set(key, t);
    }
    return t;
  }

  /**
   * Up: acceptNotes, then the events, database writes and new upUntil in one transaction, then ACK.
   * A note the hub cannot take skips its notefile (SKIP): the notes before it are committed, the
   * ACK says how far, and the rest stays on the card.
   */
  async #onNotes(m: NotesMessage): Promise<void> {
    if (!this.#catalogDone) throw new Refusal('protocol', 'NOTES before CATALOG');
    const stored0 = this.#upUntil.get(m.name) ?? 0;
    if (this.#skipped.has(m.name)) return this.#send({ type: 'ack', name: m.name, until: stored0 }); // sent before our SKIP arrived
    const why = refusedName(m.name);
    if (why !== undefined) return this.#skipNotes(m.name, why, stored0);
    const kind = notefileKind(m.name);
    if (kind !== 'qo' && kind !== 'db') return this.#skipNotes(m.name, `${m.name} does not go up`, stored0);
    const { hub } = this.#ctx;
    const device = this.#device!;
    // Pipelined (docs/SYNC.md 4.7): a frame sent before the card saw CATALOG_REPLY may start beyond
    // what is stored here, or carry records of a template still on its way: answered with what is
    // stored, nothing applied; the card sends it again from there.
    if (this.#pipelined() && (m.since > stored0 || (this.#awaiting.has(m.name) && m.notes.some((n) => n.record)))) {
      return this.#send({ type: 'ack', name: m.name, until: stored0 });
    }
    let { apply, stored } = acceptNotes(stored0, m);
    const template = apply.some((n) => n.record) ? await this.#template(m.name) : undefined;
    const epoch = hex(this.#session!.info!.cardEpoch);
    const events: IngestNote[] = [];
    const writes: { input: NoteInput; origin: 'hub' | 'device' }[] = [];
    let refused: string | undefined;
    for (let i = 0; i < apply.length; i++) {
      const w = apply[i];
      let n;
      try {
        n = fromWire(w, template);
        if (kind === 'db' && !n.id) throw new Error('a database note without an id');
      } catch (e) {
        refused = `note ${w.counter}: ${e instanceof TemplateMissing ? e.message : `cannot be stored: ${e instanceof Error ? e.message : String(e)}`}`;
        if (!this.#mayskip()) throw new Refusal('protocol', `${m.name}: ${refused}`);
        // commit what came before it
        apply = apply.slice(0, i);
        stored = i > 0 ? apply[i - 1].counter : stored0;
        break;
      }
      const key = `${epoch}/${m.name}/${w.counter}`;
      if (kind === 'qo') {
        if (!n.deleted) events.push(toEvent({ ...n, id: undefined }, key));
        continue;
      }
      const acked = this.#files.get(m.name)?.acked ?? 0;
      writes.push(...resolveDbChange(n.id!, await hub.deviceSync.note(device.uid, m.name, n.id!), n, w.counter, acked));
      if (!n.deleted) events.push(toEvent(n, key));
    }
    if (stored > stored0 || apply.length) await hub.deviceSync.commitUpload(device, m.name, stored, events, writes, { session: this.#record!.uid });
    this.#upUntil.set(m.name, stored);
    this.#record!.notesUp += apply.length;
    if (refused !== undefined) this.#skip(m.name, refused);
    this.#send({ type: 'ack', name: m.name, until: stored });
    // conflict copies for the card: in a continuous session they go down at once
    if (writes.some((w) => w.origin === 'hub') && this.#downStarted) await this.#pump();
  }

  #pipelined(): boolean {
    return ((this.#session?.info?.features ?? 0) & FEATURE_PIPELINE) !== 0;
  }

  #mayskip(): boolean {
    return ((this.#session?.info?.features ?? 0) & FEATURE_SKIP) !== 0;
  }

  /** Leave notefile `name` out of this session: tell the card (SKIP), or refuse the session when it cannot hear it. */
  #skip(name: string, why: string): void {
    if (!this.#mayskip()) throw new Refusal('protocol', `${name}: ${why}`);
    if (this.#skipped.has(name)) return;
    this.#skipped.add(name);
    this.#blocked.add(name);
    this.#ctx.log(`device ${this.#device!.uid}: ${name} skipped: ${why}`);
    this.#send({ type: 'skip', name, text: why });
  }

  /** A NOTES frame of a notefile the hub will not take: SKIP, and ACK what is stored. */
  #skipNotes(name: string, why: string, stored: number): void {
    this.#skip(name, why);
    this.#send({ type: 'ack', name, until: stored });
  }

  async #onAck(name: string, until: number): Promise<void> {
    const f = this.#files.get(name);
    if (!f || !this.#downStarted) throw new Refusal('protocol', `ACK for ${name}, which was not sent`);
    f.acked = Math.max(f.acked, until);
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (notefileKind(name) === 'qi') await this.#delivered(name, until);
    await this.#pump();
  }

  /** The card committed the .qi notes up to `until`: they leave the hub. */
  #delivered(file: string, until: number): Promise<void> {
    return this.#ctx.hub.deviceSync.delivered(this.#device!.uid, file, until);
  }

  /** Hub changes of a down notefile after `since` (the card's own edits are never echoed). */
  #pending(file: string, since: number): Promise<NoteRecord[]> {
    return this.#ctx.hub.deviceSync.pending(this.#device!.uid, file, since);
  }

  /** Down: NOTES frames while fewer than LIMITS.inFlight are unacknowledged; DONE once all are out. */
  #maxFrame(): number {
    return Math.min(LIMITS.maxFrame, this.#hello?.maxFrame || LIMITS.maxFrame);
  }

  async #pump(): Promise<void> {
    const maxFrame = this.#maxFrame();
    for (const [name, f] of this.#files) {
      if (!DeviceConnection.#down(name) || this.#blocked.has(name)) continue;
      let pending = await this.#pending(name, f.sent);
      while (pending.length) {
        if (this.#inFlight >= LIMITS.inFlight) return;
        const wire = pending.map(toWire);
        let fit;
        try { fit = fitNotes(name, f.sent, wire[wire.length - 1].counter, wire, maxFrame); } catch (e) {
          if (!(e instanceof FrameError)) throw e;
          // version 1 has no fragmentation: this note cannot go down; the notefile waits for an operator
          this.#blocked.add(name);
          this.#ctx.log(`device ${this.#device!.uid}: ${name} note ${pending[0].id} is too large for one frame; not sent`);
          break;
        }
        this.#send(fit.message);
        this.#inFlight++;
        this.#doneOwed = true;
        this.#record!.notesDown += fit.count;
        f.sent = fit.message.until;
        pending = pending.slice(fit.count);
      }
    }
    if (this.#doneOwed) {
      this.#doneOwed = false;
      this.#send({ type: 'done' });
    }
  }

  /** ENV when the effective environment's `modified` differs from the card's (or, pushed, its content changed). */
  async #sendEnv(pushed: boolean): Promise<void> {
    const { hub } = this.#ctx;
    const uid = this.#device!.uid;
    const modified = Math.floor(await hub.env.envModified(uid));
    const vars = await hub.env.effectiveEnv(uid);
    const text = JSON.stringify(vars);
    if (pushed ? text === this.#envSent : modified === this.#cardEnv) return;
    try {
      this.#send({ type: 'env', modified, vars });
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.#ctx.log(`device ${uid}: environment too large for one frame; not sent`);
      return;
    }
    this.#envSent = text;
    this.#cardEnv = modified;
  }

  // ---------------------------------------------------------------- bytes out, the end

  #send(m: SyncMessage): void {
    if (this.#ended || this.#session?.state !== 'established') return;
    this.#write([this.#session.send(m)]);
  }

  #write(frames: Uint8Array[]): void {
    if (this.#socket.destroyed) return;
    for (const f of frames) this.#socket.write(f);
  }

  /** What the card is told of a failure: internal details (database text...) go to the log only. */
  #refusal(e: unknown): Refusal {
    if (e instanceof Refusal) return e;
    if (e instanceof FrameError) return new Refusal(/authentication/.test(e.message) ? 'auth' : 'protocol', e.message);
    if (e instanceof HubError && e.status === 400) return new Refusal('protocol', e.message);
    this.#ctx.log(`device ${this.#device?.uid ?? this.#hello?.uid ?? '?'}: ${e instanceof Error ? e.stack : String(e)}`);
    return new Refusal('internal', 'internal error');
  }

  /** Ends this connection after any failure; never throws (nothing else may go down with it). */
  #failure(e: unknown): void {
    if (this.#ended) return;
    let r = new Refusal('internal', 'internal error');
    try {
      r = this.#refusal(e);
      this.#send({ type: 'refuse', code: r.code, text: r.message });
    } catch (x) {
      this.#ctx.log(`device ${this.#device?.uid ?? '?'}: refusal not sent: ${x instanceof Error ? x.message : String(x)}`);
    }
    this.#end(`${r.code}: ${r.message}`);
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#finish(reason);
  }

  #finish(reason: string): void {
    this.#ended = true;
    clearInterval(this.#timer);
    const rec = this.#record;
    if (!rec || rec.ended !== null) return;
    rec.ended = this.#ctx.hub.now() / 1000;
    rec.reason = reason;
    this.#ctx.unregister(rec.deviceUID, this);
    this.#ctx.log(`device ${rec.deviceUID} disconnected: ${reason}`);
    void this.#ctx.hub.deviceSync.end(rec).catch(() => undefined); // the database may be closing
  }
}

const FW_TYPE: Readonly<Record<DfuKind, FirmwareType>> = Object.freeze({ user: 'host', card: 'notecard' });

/** Why the hub will not sync a notefile of this name (undefined: it will). */
function refusedName(name: string): string | undefined {
  try {
    return notefileKind(name) === 'dbx' ? `${name} is never synced` : undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** The HELLO at the start of the stream: undefined = incomplete, null = not a HELLO. */
function peekHello(b: Buffer): HelloMessage | null | undefined {
  let n = 0, scale = 1, h = 0;
  for (;;) {
    if (h >= b.length) return undefined;
    const x = b[h++];
    n += (x & 0x7f) * scale;
    if (x < 0x80) break;
    scale *= 128;
    if (h === 3) return null;
  }
  if (n < 1 || n > LIMITS.maxFrame) return null;
  if (b.length < h + n) return undefined;
  if (b[h] !== MESSAGE_TYPES.hello && b[h] !== MESSAGE_TYPES.resume) return null;
  try {
    // a RESUME names the device as a HELLO does (the ticket is the session's business)
    const m = decodeMessage(b[h], new Uint8Array(b.subarray(h + 1, h + n))) as HelloMessage;
    return { ...m, type: 'hello' };
  } catch {
    return null;
  }
}
