// The card's sync engine: when to sync (hub.set modes, hub.sync, note.add sync:true), and one
// session of docs/SYNC.md at a time over the host's Net: handshake, catalogue, up, down.
// Everything durable goes through the notefile store, so a cut at any instant resumes cleanly.
import type { Clock, Log, Net, NetStream, Random, TimerHandle } from '../host';
import type { JsonObject } from '../json';
import { CardError } from '../errors';
import { storedKindOf } from '../notefile/kinds';
import { MAX_TEMPLATE_DEFINITION, notefileNameError } from '../rules/names';
import { every, isDigit } from '../util/chars';
import type { Note, Notefiles } from '../notefile/notefiles';
import type { NoteTemplates } from '../notefile/templates';
import { addUsage, type CardSettings, type SyncState, type UsageCounts } from '../settings';
import type { Environment } from '../store/env';
import { StorageFull } from '../store/store';
import { fromHex, toHex } from '../util/hex';
import { serializeTemplate } from '../template/index';
import { utf8Encode } from '../util/utf8';
import { FrameError } from './varint-io';
import type { SyncControl, WebAnswer, WebCall } from './control';
import type { CardDfu } from '../dfu/dfu';
import { Pieces, splitWeb, WEB_IN_FLIGHT, WEB_MAX_REPLY } from './web';
import { utf8Decode } from '../util/utf8';
import { FEATURE_CONTINUOUS, FEATURE_DFU, FEATURE_PIPELINE, FEATURE_RESUME, FEATURE_SKIP, fitNotes, LIMITS, maxContent, templateVersion, type NotesMessage, type SyncMessage } from './messages';
import type { WireNote } from './notes-block';
import { CardSession, type EstablishedInfo, type SessionEvent } from './session';
import { mergeFromHub } from './merge';
import { acceptNotes } from './receiver';

/** The hub's device port when hub.set host names none. */
export const DEFAULT_DEVICE_PORT = 8086;
/** Minutes between periodic syncs when hub.set gives none. */
const DEFAULT_OUTBOUND_MINUTES = 60;
const DEFAULT_INBOUND_MINUTES = 240;
/** A session that makes no progress for this long is abandoned. */
const STALL_MS = 30_000;
/** Retry after a failure: base * 2^failures, capped, with +-50% jitter. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 15 * 60_000;
/** Notes considered per NOTES frame unless the host sets fewer (HostInfo.notesPerFrame): fitNotes packs as many as fit. */
const BATCH = 256;
/** How often a continuous session looks for new local changes to push. */
const PUSH_POLL_MS = 500;
/** A continuous session writes its usage counts to flash at most this often (others at their end). */
const USAGE_FLUSH_MS = 60 * 60_000;

function noTraffic(): UsageCounts {
  return { bytes_sent: 0, bytes_received: 0, notes_sent: 0, notes_received: 0, sessions: 0 };
}

/** The card waits this much longer than a web request's `seconds` (the hub answers a timeout itself). */
const WEB_GRACE_MS = 5_000;
/** Signals kept until hub.signal reads them: the oldest go first beyond these bounds. */
const MAX_SIGNALS = 8;
const MAX_SIGNAL_BYTES = 8192;

/** A web request waiting for the hub's answer. */
interface WebWait {
  done: (answer: WebAnswer) => void;
  timer: TimerHandle;
  pieces: Pieces;
}

type Phase = 'idle' | 'connecting' | 'handshake' | 'exchange';

/** What the engine works with: the card's services, named one by one. */
export interface SyncDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Log;
  readonly net: Net | undefined;
  readonly settings: CardSettings;
  readonly notefiles: Notefiles;
  readonly templates: NoteTemplates;
  readonly env: Environment;
  deviceUID(): string;
  /** Unix ms, or undefined until known; the hub sets it. */
  epochMs(): number | undefined;
  setTime(epochMs: number): void;
  /** The hub to sync with when hub.set host names none ("host:port"). */
  readonly hubHost?: string;
  /** Firmware downloads, on hosts with a DFU flash area. */
  readonly dfu?: CardDfu;
  /** HostInfo.notesPerFrame and framesInFlight. */
  readonly notesPerFrame?: number;
  readonly framesInFlight?: number;
  /** A voltage-variable value (hub.set voutbound/vinbound) in the card's current voltage mode. */
  variable?(spec: string): number | undefined;
  /** A session with the hub came up (true) or went down (false): card.attn `connected`. */
  onConnection?(up: boolean): void;
  /** A signal arrived from the hub: card.attn `signal`. */
  onSignal?(): void;
}

export class SyncEngine implements SyncControl {
  readonly #card: SyncDeps;
  #phase: Phase = 'idle';
  #stream: NetStream | undefined;
  #session: CardSession | undefined;
  #continuous = false;
  #timer: TimerHandle | undefined;
  #stall: TimerHandle | undefined;
  #failures = 0;
  #again = false;
  #stopped = false;
  // What hub.sync.status reports.
  #requested: number | undefined;
  #completed: number | undefined;
  #error: string | undefined;
  #connectedAt: number | undefined;
  // The exchange of the current session.
  /** Per notefile: the highest counter the hub confirmed (CATALOG_REPLY, ACK) and the `until` of the last frame sent. */
  #acked = new Map<string, number>();
  #sent = new Map<string, number>();
  /** NOTES frames not yet acknowledged, oldest first (at most the window; nothing of them is kept but this). */
  #flights: { name: string; until: number; notes: number }[] = [];
  /** The first flight went behind AUTH, before WELCOME (docs/SYNC.md section 4.7). */
  #early = false;
  /** Nothing left to send up (set by #pump). */
  #upIdle = false;
  /** DONE sent: this direction had nothing more (a continuous session keeps pushing after). */
  #upDone = false;
  #hubDone = false;
  /** Notefiles left out of this session, and why (a name or note the sync cannot carry, a hub SKIP). */
  #skipped = new Map<string, string>();
  /** FEATURE_* bits the hub granted this session. */
  #granted = 0;
  /** What hub.sync.status reports of them: the last completed session's, and any since. */
  #reported = new Map<string, string>();
  /** Notefiles (and '' for the environment) the hub sent what a full store had no room for:
   * left at the hub for a later sync, which the session still completes. */
  #noRoom = new Set<string>();
  /** Traffic not yet added to the `usage` setting (card.usage.get), and when it last was. */
  #traffic = noTraffic();
  #trafficSince = 0;
  // web requests and signals (docs/SYNC.md section 4.6)
  #webNext = 1;
  #webWaits = new Map<number, WebWait>();
  #signals: string[] = [];
  #signalBytes = 0;
  #signalWait: { done: () => void; timer: TimerHandle } | undefined;

  constructor(card: SyncDeps) {
    this.#card = card;
    this.#schedule();
  }

  /** Sync as soon as possible (hub.sync, note.add sync:true). */
  request(): void {
    if (this.#stopped) return;
    this.#requested = this.#now();
    if (this.#phase === 'idle') this.#begin();
    else if (this.#continuous) this.#pump();
    else this.#again = true;
  }

  /** The card is restarting: end the session and schedule nothing more. */
  stop(): void {
    this.#stopped = true;
    this.#end();
  }

  /** Something a periodic interval depends on changed (the voltage mode): re-plan the next sync. */
  rescheduled(): void {
    if (this.#phase === 'idle' && this.#failures === 0) this.#schedule();
  }

  /** hub.set changed the configuration: drop the session (ending it reschedules, the last
   * failure forgotten: the new settings may mend it). */
  reconfigure(): void {
    this.#error = undefined;
    this.#end();
  }

  get running(): boolean {
    return this.#phase !== 'idle';
  }

  /** hub.sync.status */
  status(): JsonObject {
    const out: JsonObject = {};
    if (this.running) out.status = `${this.#continuous && this.#hubDone ? 'connected' : 'syncing'} {sync-begin}`;
    else if (this.#error) out.status = `${this.#error} {sync-error}`;
    else if (this.#completed !== undefined && this.#noRoom.size) out.status = 'completed; what the hub sent waits for room on the card {sync-end} {storage-full}';
    else if (this.#completed !== undefined) out.status = 'completed {sync-end}';
    else out.status = 'idle';
    if (this.#requested !== undefined) out.requested = this.#requested;
    if (this.#completed !== undefined) out.completed = this.#completed;
    out.sync = this.running && !(this.#continuous && this.#hubDone);
    if (this.#failures) out.failures = this.#failures;
    if (this.#reported.size) {
      const skipped: JsonObject = {};
      for (const [name, why] of this.#reported) skipped[name] = why;
      out.skipped = skipped;
    }
    return out;
  }

  /** Add the traffic counted since the last call to the `usage` setting (one write, if any). */
  flushUsage(): void {
    const t = this.#traffic;
    this.#trafficSince = this.#card.clock.now();
    if (!t.bytes_sent && !t.bytes_received && !t.sessions) return;
    this.#traffic = noTraffic();
    try {
      this.#card.settings.set('usage', addUsage(this.#card.settings.get('usage') ?? {}, t, this.#now()));
    } catch (e) {
      if (!(e instanceof StorageFull)) throw e;
      this.#card.log.log('warn', 'sync: no room to record the usage counts');
    }
  }

  /** Why notefile `name` was left out of the last sync (file.changes.pending shows it). */
  skippedReason(name: string): string | undefined {
    return this.#reported.get(name);
  }

  /** hub.status */
  connection(): JsonObject {
    const connected = this.#phase === 'exchange';
    return connected
      ? { status: `connected ${this.#continuous ? '(continuous)' : '(syncing)'} {connected}`, connected: true }
      : { status: this.#error ? `${this.#error} {disconnected}` : 'idle {disconnected}', connected: false };
  }

  // ---- web requests and signals ----

  get connected(): boolean {
    return this.#phase === 'exchange';
  }

  webUnavailable(): string | undefined {
    if (this.#card.settings.hubMode() !== 'continuous') return 'web requests need the card in continuous mode (hub.set mode:continuous) {hub-mode}';
    if (this.#phase !== 'exchange' || !(this.#granted & FEATURE_CONTINUOUS)) return 'the card is not connected to the hub {network}';
    if (this.#webWaits.size >= WEB_IN_FLIGHT) return `at most ${WEB_IN_FLIGHT} web requests may wait at once {busy}`;
    return undefined;
  }

  web(call: WebCall, done: (answer: WebAnswer) => void): void {
    const clock = this.#card.clock;
    const why = this.webUnavailable();
    if (why !== undefined) {
      clock.schedule(0, () => done({ ok: false, result: 503, error: why }));
      return;
    }
    const id = this.#webNext++;
    const timer = clock.schedule(call.seconds * 1000 + WEB_GRACE_MS, () => this.#webDone(id, { ok: false, result: 504, error: `no answer from the hub within ${call.seconds} seconds {timeout}` }));
    this.#webWaits.set(id, { done, timer, pieces: new Pieces(WEB_MAX_REPLY) });
    const room = maxContent(this.#session!.sendFrame);
    for (const m of splitWeb({ type: 'web', id, more: false, ...call }, room)) this.#send(m);
  }

  nextSignal(): { signal: string | undefined; left: number } {
    const signal = this.#signals.shift();
    if (signal !== undefined) this.#signalBytes -= signal.length;
    return { signal, left: this.#signals.length };
  }

  pendingSignals(): number {
    return this.#signals.length;
  }

  awaitSignal(ms: number, done: () => void): void {
    this.#signalWaited();
    const timer = this.#card.clock.schedule(ms, () => this.#signalWaited());
    this.#signalWait = { done, timer };
  }

  /** The wait for a signal is over (one came, or the time is up). */
  #signalWaited(): void {
    const w = this.#signalWait;
    if (!w) return;
    this.#signalWait = undefined;
    this.#card.clock.cancel(w.timer);
    this.#card.clock.schedule(0, w.done);
  }

  #webDone(id: number, answer: WebAnswer): void {
    const wait = this.#webWaits.get(id);
    if (!wait) return;
    this.#webWaits.delete(id);
    this.#card.clock.cancel(wait.timer);
    // Not from inside the session's receive: the answer lets the host's next request run.
    this.#card.clock.schedule(0, () => wait.done(answer));
  }

  #webReply(m: { id: number; result: number; content: string; error: boolean; more: boolean; body: Uint8Array }): void {
    const wait = this.#webWaits.get(m.id);
    if (!wait) return; // timed out here already
    if (m.error) return this.#webDone(m.id, { ok: false, result: m.result, error: utf8Decode(m.body) });
    if (!wait.pieces.add(m.body)) {
      return this.#webDone(m.id, { ok: false, result: m.result, error: `the answer is longer than the ${WEB_MAX_REPLY} bytes a reply carries {too-big}` });
    }
    if (!m.more) this.#webDone(m.id, { ok: true, result: m.result, content: m.content, body: wait.pieces.bytes() });
  }

  #signal(body: Uint8Array): void {
    const text = utf8Decode(body);
    this.#signals.push(text);
    this.#signalBytes += text.length;
    while (this.#signals.length > MAX_SIGNALS || (this.#signalBytes > MAX_SIGNAL_BYTES && this.#signals.length > 1)) {
      this.#signalBytes -= this.#signals.shift()!.length;
    }
    this.#signalWaited();
    this.#card.onSignal?.();
  }

  // ---- scheduling ----

  #schedule(): void {
    const clock = this.#card.clock;
    if (this.#timer !== undefined) clock.cancel(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    const mode = this.#card.settings.hubMode();
    let delay: number | undefined;
    if (this.#failures > 0 && mode !== 'off' && this.#wanted()) {
      const base = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.#failures - 1));
      delay = base * (0.5 + this.#card.random.bytes(1)[0] / 255);
    } else if (mode === 'continuous') {
      // A failure no retry can mend (no host, no network) waits for hub.set or the long retry.
      delay = this.#error === undefined ? 0 : RETRY_MAX_MS;
    }
    else if (mode === 'periodic') {
      const cfg = this.#card.settings.hub();
      // voutbound/vinbound, when set, follow the voltage mode; 0 there means "not in this mode"
      const vary = (spec: string | undefined) => (spec === undefined ? undefined : this.#card.variable?.(spec));
      const vout = vary(cfg.voutbound);
      const vin = vary(cfg.vinbound);
      const out = vout !== undefined && vout > 0 ? vout : typeof cfg.outbound === 'number' ? cfg.outbound : DEFAULT_OUTBOUND_MINUTES;
      const inbound = vin !== undefined && vin > 0 ? vin : typeof cfg.inbound === 'number' ? cfg.inbound : DEFAULT_INBOUND_MINUTES;
      delay = Math.min(out, inbound) * 60_000;
      this.#card.log.log('debug', `sync: next periodic sync in ${Math.min(out, inbound)} minutes (outbound ${out}, inbound ${inbound})`);
    }
    if (delay !== undefined) {
      this.#timer = clock.schedule(delay, () => {
        this.#timer = undefined;
        this.#begin();
      });
    }
  }

  /** A sync is worth retrying: asked for, or the mode calls for one. */
  #wanted(): boolean {
    return this.#again || this.#requested !== undefined || this.#card.settings.hubMode() !== 'minimum';
  }

  // ---- the session ----

  #begin(): void {
    // Begun early (request()): cancel the planned one, whose timer would otherwise hold this
    // engine, and the whole card, until it fires (after card.restart too).
    if (this.#timer !== undefined) this.#card.clock.cancel(this.#timer);
    this.#timer = undefined;
    if (this.#phase !== 'idle') return;
    const card = this.#card;
    const cfg = card.settings.hub();
    if (card.settings.hubMode() === 'off') return this.#fail('hub.set mode is off', false);
    // the host reads its firmware from the card: no sync until hub.set leaves dfu mode
    if (card.settings.hubMode() === 'dfu') return this.#fail('hub.set mode is dfu {dfu-in-progress}', false);
    const net = card.net;
    if (!net) return this.#fail('this host has no network', false);
    const target = typeof cfg.host === 'string' ? cfg.host : card.hubHost;
    if (!target) return this.#fail('no hub host: hub.set host', false);
    const [host, portText] = splitHostPort(target);
    const port = portText ? Number(portText) : DEFAULT_DEVICE_PORT;
    card.log.log('debug', `sync: session with ${host}:${port}`);
    const state = this.#state();
    this.#continuous = card.settings.hubMode() === 'continuous';
    this.#again = false;
    this.#forgetUpload();
    this.#noRoom.clear();
    this.#hubDone = false;
    this.#phase = 'connecting';
    this.#armStall();
    const session = new CardSession({
      uid: card.deviceUID(),
      sn: typeof cfg.sn === 'string' ? cfg.sn : '',
      product: typeof cfg.product === 'string' ? cfg.product : '',
      secret: this.#secret(),
      cardEpoch: this.#cardEpoch(),
      random: card.random,
      mayProvision: state.hubEpoch === undefined,
      features: (this.#continuous ? FEATURE_CONTINUOUS : 0) | FEATURE_SKIP | FEATURE_PIPELINE | FEATURE_RESUME | (card.dfu ? FEATURE_DFU : 0),
      resume: this.#ticket(state),
    });
    this.#session = session;
    this.#stream = net.connect(host, port, {
      onConnect: () => {
        if (this.#session !== session) return;
        this.#phase = 'handshake';
        this.#write(session.start());
        // resuming: the whole first flight goes now, as early data (docs/SYNC.md 3.1)
        if (session.resumingTicket) this.#flight();
      },
      onData: (bytes) => {
        if (this.#session === session) this.#receive(bytes);
      },
      onClose: (error) => {
        if (this.#session !== session) return;
        if (this.#phase === 'idle') return;
        // hub.sync.status tells a link that never opened ({connect-failure}) from one that broke
        // ({network}); a link that knows better (a modem's {registration-failure}) tags it itself.
        const tag = this.#phase === 'connecting' ? '{connect-failure}' : '{network}';
        if (!error) this.#fail(`hub closed the connection ${tag}`, true);
        else this.#fail(`connection lost: ${error}${error.indexOf('{') >= 0 ? '' : ` ${tag}`}`, true);
      },
    });
  }

  #receive(bytes: Uint8Array): void {
    this.#traffic.bytes_received += bytes.length;
    const out = this.#session!.receive(bytes);
    for (const frame of out.send) this.#write(frame);
    for (const event of out.events) {
      try {
        this.#event(event);
      } catch (e) {
        this.#fail(`sync failed: ${e instanceof Error ? e.message : String(e)}`, true);
      }
      if (this.#phase === 'idle') return;
    }
  }

  #event(e: SessionEvent): void {
    this.#armStall();
    switch (e.type) {
      case 'established':
        return this.#established(e.info);
      case 'keyed':
        return this.#keyed(e.hubEpoch);
      case 'restart':
        // the hub did not take the ticket: the early data is void, a full handshake follows
        this.#forgetUpload();
        return this.#dropTicket();
      case 'message':
        return this.#message(e.message);
      case 'refused':
        return this.#fail(`hub refused the session: ${e.text}${e.code === 'auth' ? ' {auth}' : ''}`, true);
      case 'failed':
        return this.#fail(`sync stopped: ${e.reason}${e.code === 'auth' ? ' {auth}' : ''}`, true);
      case 'closed':
        return this.#end();
    }
  }

  #established(info: EstablishedInfo): void {
    const card = this.#card;
    this.#phase = 'exchange';
    this.#granted = info.features;
    this.#connectedAt = this.#now();
    card.onConnection?.(true);
    this.#traffic.sessions++;
    card.setTime(info.time);
    if (info.ticket) this.#keep({ ...this.#state(), ticket: toHex(info.ticket.id), resume: toHex(info.ticket.secret) });
    else this.#dropTicket();
    if (!this.#early) {
      const state = this.#state();
      const hubEpoch = toHex(info.hubEpoch);
      if (state.hubEpoch !== hubEpoch) {
        // Another hub, or this one lost its database: everything goes again (SYNC.md section 3).
        if (state.hubEpoch !== undefined) card.notefiles.forgetHubPositions();
        card.settings.set('sync', { ...state, hubEpoch, envModified: 0, templates: {} });
      }
      // authenticated now: with pipelining the whole flight goes at once (first contact, another hub)
      if (this.#granted & FEATURE_PIPELINE) this.#flight();
      else this.#sendCatalog(false);
    }
    if (card.dfu && this.#granted & FEATURE_DFU) card.dfu.begin((m) => this.#send(m), () => this.#maybeFinish());
    if (this.#early) this.#pump();
  }

  /** Nothing of this session's upload is sent or acknowledged yet (a new session, or a RESUME the
   * hub did not take). */
  #forgetUpload(): void {
    this.#acked.clear();
    this.#sent.clear();
    this.#flights = [];
    this.#early = this.#upIdle = this.#upDone = false;
    this.#skipped.clear();
  }

  /** The hub offered pipelining: unless anything is in doubt (first contact, another hub epoch:
   * those wait for the authenticated WELCOME), send the whole first flight now. */
  #keyed(hubEpoch: Uint8Array): void {
    if (this.#state().hubEpoch !== toHex(hubEpoch)) return;
    this.#flight();
  }

  /** The first flight before the hub answers: TEMPLATEs, CATALOG, NOTES as the window allows,
   * and always DONE (it ends a RESUME's early data, whatever is left for after the ACKs). */
  #flight(): void {
    this.#early = true;
    this.#sendCatalog(true);
    this.#pump();
    if (!this.#upDone) {
      this.#upDone = true;
      this.#send({ type: 'done' });
    }
  }

  /** The last session's ticket, if there is one that can be used. */
  #ticket(state: SyncState): { id: Uint8Array; secret: Uint8Array; hubEpoch: Uint8Array } | undefined {
    const id = state.ticket === undefined ? undefined : fromHex(state.ticket);
    const secret = state.resume === undefined ? undefined : fromHex(state.resume);
    const hubEpoch = state.hubEpoch === undefined ? undefined : fromHex(state.hubEpoch);
    return id?.length === 16 && secret?.length === 32 && hubEpoch?.length === 8 ? { id, secret, hubEpoch } : undefined;
  }

  /** Forget the session ticket: the next session makes a full handshake. */
  #dropTicket(): void {
    const state = this.#state();
    if (state.ticket === undefined) return;
    const { ticket: _t, resume: _r, ...rest } = state;
    this.#keep(rest);
  }

  /** Record what only saves round trips (a ticket, confirmed templates): a full store skips it
   * (a stale ticket costs a full handshake, an unconfirmed template one TEMPLATE frame). */
  #keep(state: SyncState): void {
    try {
      this.#card.settings.set('sync', state);
    } catch (e) {
      if (!(e instanceof StorageFull)) throw e;
      this.#card.log.log('warn', 'sync: no room to record the session ticket');
    }
  }

  /** CATALOG; in a pipelined flight preceded by the TEMPLATEs the hub has not confirmed holding. */
  #sendCatalog(early: boolean): void {
    const card = this.#card;
    const confirmed = this.#state().templates ?? {};
    const files = [];
    for (const name of this.#syncedFiles()) {
      const f = card.notefiles.state(name)!;
      const t = this.#activeTemplate(name);
      if (t && t.definition.length > MAX_TEMPLATE_DEFINITION) {
        this.#skip(name, `its template is longer than the ${MAX_TEMPLATE_DEFINITION} bytes the sync carries`);
        continue;
      }
      files.push({ name, template: t?.id ?? 0, downUntil: card.notefiles.downUntil(name), pending: card.notefiles.pendingCount(f) });
      if (early && t && confirmed[name] !== t.id && !storedKindOf(name).inbound) this.#send({ type: 'template', name, version: t.id, definition: t.definition });
    }
    this.#send({ type: 'catalog', more: false, envModified: this.#state().envModified ?? 0, files });
  }

  #message(m: SyncMessage): void {
    const card = this.#card;
    switch (m.type) {
      case 'catalogReply': {
        const state = this.#state();
        const confirmed = { ...(state.templates ?? {}) };
        for (const entry of m.files) {
          const f = card.notefiles.state(entry.name);
          if (!f || this.#skipped.has(entry.name)) continue;
          const k = storedKindOf(entry.name);
          if (!k.synced || k.inbound) continue;
          const t = this.#activeTemplate(entry.name);
          // A pipelined flight sent the unconfirmed templates before the CATALOG: the hub asks
          // only for one it lost; its NOTES frames then come back acknowledged short, and go again.
          if (t && entry.needTemplate) {
            this.#send({ type: 'template', name: entry.name, version: t.id, definition: t.definition });
            delete confirmed[entry.name];
          } else if (t) confirmed[entry.name] = t.id;
          // An ACK lost with the last link: the hub already has these.
          if (entry.upUntil > 0) card.notefiles.acknowledge(entry.name, entry.upUntil + 1);
          this.#acked.set(entry.name, Math.max(this.#acked.get(entry.name) ?? 0, entry.upUntil));
          // before a pipelined flight the next frame starts here; after one, only if the hub is ahead
          if (!this.#early || entry.upUntil > (this.#sent.get(entry.name) ?? 0)) this.#sent.set(entry.name, entry.upUntil);
        }
        if (JSON.stringify(confirmed) !== JSON.stringify(state.templates ?? {})) this.#keep({ ...state, templates: confirmed });
        return this.#pump();
      }
      case 'ack': {
        card.notefiles.acknowledge(m.name, m.until + 1);
        this.#acked.set(m.name, Math.max(this.#acked.get(m.name) ?? 0, m.until));
        const i = this.#flights.findIndex((x) => x.name === m.name);
        if (i >= 0) {
          const flight = this.#flights.splice(i, 1)[0];
          if (m.until >= flight.until) this.#traffic.notes_sent += flight.notes;
          // Acknowledged short (a gap, a template the hub lacked, a skip): once the frames of this
          // notefile are all answered, the next one starts where the hub stands.
          if (!this.#flights.some((x) => x.name === m.name)) this.#sent.set(m.name, this.#acked.get(m.name)!);
        }
        return this.#pump();
      }
      case 'notes':
        return this.#notes(m);
      case 'skip':
        // The hub will not take this notefile now: its notes stay here; an ACK follows any NOTES in flight.
        this.#skip(m.name, `the hub refused it: ${m.text}`);
        return;
      case 'env':
        this.#roomFor('', () => {
          card.env.replace('hub', m.vars, true);
          card.settings.set('sync', { ...this.#state(), envModified: m.modified });
        });
        // continuous sessions: a pushed environment may name new firmware
        if (this.#hubDone && this.#granted & FEATURE_DFU) card.dfu?.hubDone();
        return;
      case 'done':
        this.#hubDone = true;
        // the environment is current now: the download _fw / _fwc ask for runs in this session
        if (this.#granted & FEATURE_DFU) card.dfu?.hubDone();
        return this.#maybeFinish();
      case 'fwInfo':
      case 'fwData':
        if (!(this.#granted & FEATURE_DFU) || !card.dfu) throw new Error(`unexpected ${m.type} from the hub`);
        return card.dfu.message(m);
      case 'ping':
        return this.#send({ type: 'pong', token: m.token });
      case 'pong':
        return;
      case 'close':
        return this.#end();
      case 'webReply':
        return this.#webReply(m);
      case 'signal':
        return this.#signal(m.body);
      default:
        throw new Error(`unexpected ${m.type} from the hub`);
    }
  }

  /** Hub notes: applied with their position in one commit, then ACK. When the hub can hear it, a
   * notefile whose notes cannot be stored here is skipped: what comes before the note that cannot
   * be stored goes in, then SKIP, then the ACK of what is stored (the rest stays on the hub). */
  #notes(m: NotesMessage): void {
    const card = this.#card;
    const downUntil = card.notefiles.downUntil(m.name);
    const { apply, stored } = acceptNotes(downUntil, m);
    let at = downUntil;
    let why = this.#skipped.get(m.name);
    // No room: nothing of the frame is stored, and the ACK says so (the hub sends it again later).
    if (this.#noRoom.has(m.name)) return this.#send({ type: 'ack', name: m.name, until: downUntil });
    if (why === undefined) {
      try {
        if (!this.#roomFor(m.name, () => card.notefiles.applyFromHub(m.name, mergeFromHub(card.notefiles, m.name, apply), stored))) {
          return this.#send({ type: 'ack', name: m.name, until: downUntil });
        }
        at = stored;
        this.#traffic.notes_received += apply.length;
      } catch (e) {
        if (!(e instanceof CardError || e instanceof FrameError) || !this.#mayskip()) throw e;
        for (const n of apply) {
          try {
            card.notefiles.applyFromHub(m.name, mergeFromHub(card.notefiles, m.name, [n]), n.counter);
          } catch {
            break;
          }
          at = n.counter;
        }
        why = e.message;
        this.#skip(m.name, `its notes from the hub cannot be stored: ${why}`);
      }
    }
    if (at < stored && this.#mayskip()) this.#send({ type: 'skip', name: m.name, text: why ?? 'skipped' });
    this.#send({ type: 'ack', name: m.name, until: at });
  }

  #mayskip(): boolean {
    return (this.#granted & FEATURE_SKIP) !== 0;
  }

  /** Leave notefile `name` out of this session; hub.sync.status reports why. */
  #skip(name: string, why: string): void {
    this.#skipped.set(name, why);
    this.#reported.set(name, why);
    this.#card.log.log('warn', `sync: ${name} skipped: ${why}`);
  }

  /** Send NOTES frames while the window allows (one frame at a time without pipelining), then
   * DONE when nothing is left (with pipelining DONE may precede the ACKs). Each frame is read from
   * flash, sealed, written and forgotten by the engine; the host's output queue holds frames the
   * link has not taken yet, hence HostInfo.framesInFlight. */
  #pump(): void {
    if (this.#phase !== 'exchange' && !this.#early) return;
    const pipelined = this.#early || (this.#granted & FEATURE_PIPELINE) !== 0;
    const card = this.#card;
    const window = pipelined ? Math.max(1, Math.min(LIMITS.inFlight, card.framesInFlight ?? LIMITS.inFlight)) : 1;
    let idle = true;
    for (const name of this.#syncedFiles()) {
      if (this.#flights.length >= window) {
        idle = false;
        break;
      }
      const f = card.notefiles.state(name)!;
      const k = storedKindOf(name);
      if (k.inbound || this.#skipped.has(name)) continue;
      // a pipelined first frame starts at the card's own acknowledged position
      const since = this.#sent.get(name) ?? card.notefiles.hubPosition(f);
      // Notes packed with the template the hub holds cross as their records; others as JSON.
      const active = this.#activeTemplate(name);
      const batch = card.notesPerFrame ?? BATCH;
      const notes = card.notefiles.pending(f, batch, active?.v, since);
      if (notes.length === 0) continue;
      const wire = notes.map((n) => toWire(n, k.queue, active?.v));
      const until = notes.length < batch ? Math.max(f.counter - 1, wire[wire.length - 1].counter) : wire[wire.length - 1].counter;
      let fit;
      try {
        fit = fitNotes(name, since, until, wire, LIMITS.maxFrame);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        // Version 1 has no fragmentation: this note stays here, and so do the notes after it.
        this.#skip(name, `note ${wire[0].counter} is too large for one frame (${e.message})`);
        continue;
      }
      card.log.log('debug', `sync: ${name}: ${fit.count} notes in ${fit.content.length} bytes`);
      this.#flights.push({ name, until: fit.message.until, notes: fit.message.notes.length });
      this.#sent.set(name, fit.message.until);
      this.#send(fit.message, fit.content);
      // more of this notefile may follow while the window allows
      return this.#pump();
    }
    this.#upIdle = idle;
    if (!idle || (!pipelined && this.#flights.length)) return;
    if (!this.#upDone) {
      this.#upDone = true;
      this.#send({ type: 'done' });
    }
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (!this.#upDone || !this.#hubDone || this.#phase !== 'exchange' || this.#flights.length || !this.#upIdle) return;
    // a firmware download keeps a periodic session open until it is done (or the link goes)
    if (!this.#continuous && this.#card.dfu?.busy) return;
    this.#completed = this.#now();
    this.#error = undefined;
    this.#failures = 0;
    this.#reported = new Map(this.#skipped);
    if (this.#continuous) {
      if (this.#card.clock.now() - this.#trafficSince >= USAGE_FLUSH_MS) this.flushUsage();
      // Stay: push local changes as they come (the hub pushes its own).
      this.#armStall(PUSH_POLL_MS, () => this.#pump());
      return;
    }
    this.#send({ type: 'close' });
    this.#end();
    if (this.#again) this.#begin();
  }

  /** Store what the hub sent; false when the store is full (the uploads, which free room, go on). */
  #roomFor(name: string, store: () => void): boolean {
    try {
      store();
      return true;
    } catch (e) {
      if (!(e instanceof StorageFull)) throw e;
      this.#noRoom.add(name);
      this.#card.log.log('warn', `sync: no room for ${name || 'the environment'} from the hub: ${e.message}`);
      return false;
    }
  }

  // ---- plumbing ----

  #send(m: SyncMessage, content?: Uint8Array): void {
    this.#write(this.#session!.send(m, content));
  }

  #write(frame: Uint8Array): void {
    if (!this.#stream) return;
    this.#traffic.bytes_sent += frame.length;
    this.#stream.write(frame);
  }

  #fail(reason: string, retry: boolean): void {
    // a session that failed while resuming: its ticket is in doubt
    if (this.#session?.resumingTicket) this.#dropTicket();
    this.#error = reason;
    if (retry) this.#failures++;
    this.#card.log.log('warn', `sync: ${reason}`);
    this.#end();
  }

  #end(): void {
    const clock = this.#card.clock;
    if (this.#stall !== undefined) clock.cancel(this.#stall);
    this.#stall = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#session = undefined;
    const wasUp = this.#phase === 'exchange';
    this.#phase = 'idle';
    this.#flights = [];
    this.#early = false;
    this.#card.dfu?.end();
    stream?.close();
    if (stream) this.flushUsage();
    // Web requests cannot be answered over another session: their ids die with this one.
    for (const id of [...this.#webWaits.keys()]) this.#webDone(id, { ok: false, result: 503, error: 'the connection to the hub was lost {network}' });
    this.#signalWaited();
    if (wasUp) this.#card.onConnection?.(false);
    this.#schedule();
  }

  /** Abandon a session that stalls; in continuous mode the same timer polls for local changes. */
  #armStall(ms = STALL_MS, onFire?: () => void): void {
    const clock = this.#card.clock;
    if (this.#stall !== undefined) clock.cancel(this.#stall);
    this.#stall = clock.schedule(ms, () => {
      this.#stall = undefined;
      if (onFire && this.#phase === 'exchange') {
        onFire();
        if (this.#stall === undefined) this.#armStall(ms, onFire);
      } else if (this.#phase !== 'idle') this.#fail('the hub stopped answering {timeout}', true);
    });
  }

  /** The template new notes of a file are packed with, as the protocol names it. */
  #activeTemplate(name: string): { v: number; id: number; definition: Uint8Array } | undefined {
    const f = this.#card.notefiles.state(name);
    const active = f && this.#card.templates.versions(f).find((x) => x.to === undefined);
    if (!active) return undefined;
    const definition = utf8Encode(serializeTemplate(active.template));
    return { v: active.v, id: templateVersion(definition), definition };
  }

  /** The notefiles that take part in the sync; one the sync cannot carry by name (kept by an older
   * build) is skipped, never the whole sync. */
  #syncedFiles(): string[] {
    // the card's own system notefiles (_track.qo, _health_host.qo, ...) sync like any other
    return this.#card.notefiles.names(true).filter((name) => {
      if (this.#skipped.has(name) || !storedKindOf(name).synced) return false;
      const why = notefileNameError(name, true);
      if (why !== undefined) this.#skip(name, why);
      return why === undefined;
    });
  }

  #state(): SyncState {
    return this.#card.settings.get('sync') ?? {};
  }

  /** The 32-byte device secret, created at first use and kept through factory resets. */
  #secret(): Uint8Array {
    return this.#identityBytes('secret', 32);
  }

  /** Drawn when the store is formatted: a factory reset makes a new one. */
  #cardEpoch(): Uint8Array {
    return this.#identityBytes('epoch', 8);
  }

  #identityBytes(key: 'secret' | 'epoch', length: number): Uint8Array {
    const saved = this.#card.settings.get(key);
    const known = typeof saved === 'string' ? fromHex(saved) : undefined;
    if (known?.length === length) return known;
    const bytes = this.#card.random.bytes(length);
    this.#card.settings.set(key, toHex(bytes));
    return bytes;
  }

  #now(): number | undefined {
    const ms = this.#card.epochMs();
    return ms === undefined ? undefined : Math.floor(ms / 1000);
  }
}

function toWire(n: Note, queue: boolean, activeVersion: number | undefined): WireNote {
  const w: WireNote = { counter: n.seq, time: n.time ?? 0 };
  if (!queue) w.id = n.id;
  if (n.deleted) w.deleted = true;
  else {
    if (n.record && n.format === activeVersion) w.record = n.record;
    else if (n.body) w.body = n.body;
    if (n.payload) w.payload = n.payload;
  }
  return w;
}

function splitHostPort(target: string): [string, string | undefined] {
  const scheme = target.indexOf('://');
  const t = scheme > 0 && every(target, (c) => c >= 97 && c <= 122, 0, scheme) ? target.slice(scheme + 3) : target;
  const i = t.lastIndexOf(':');
  return i > 0 && i < t.length - 1 && every(t, isDigit, i + 1) ? [t.slice(0, i), t.slice(i + 1)] : [t, undefined];
}
