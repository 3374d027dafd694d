// The composition root: builds the card's services from a Host and answers request lines.
import { CardError } from './errors';
import type { Host } from './host';
import type { Json, JsonObject } from './json';
import { CardDfu } from './dfu/dfu';
import { Args } from './requests/args';
import type { Exchange, RequestContext } from './requests/context';
import { REQUESTS, knownFamily } from './requests/index';
import { applyAux } from './requests/aux';
import { AuxGpio } from './requests/aux-gpio';
import { Notefiles } from './notefile/notefiles';
import { NoteTemplates } from './notefile/templates';
import { CONFIGURATION_KEYS, CardSettings, IDENTITY_KEYS } from './settings';
import { Environment } from './store/env';
import { FlashSettings, NS } from './store/settings';
import { Store } from './store/store';
import { toHex } from './util/hex';
import type { SyncHook } from './sync/control';
import { SyncEngine } from './sync/engine';
import { DEFAULT_FALLBACK_SECONDS, TransportNet } from './net/transport';
import { BinaryBuffer } from './wire/binary';
import { EnvelopeError, openEnvelope, sealReply } from './wire/envelope';
import { CardWorld } from './sensing/card-world';
import type { LineCard, Reply } from './wire/session';

export { API_LEVEL, PRODUCT, VERSION } from './version';
export type { Reply } from './wire/session';

export interface CardOptions {
  /** Called after the reply to card.restart / card.restore has been written. */
  onRestart?: () => void;
  /** Called by card.restore {delete:true} to wipe storage, before onRestart; `keep` (the
   * card's identity) must be written back into the fresh storage. */
  onFactoryReset?: (keep: JsonObject) => void;
  /** The hub to sync with when hub.set host names none ("host:port"; the simulator's local hub). */
  hubHost?: string;
}


/** Until a sync engine is attached, a sync request is only remembered, never faked. */
export class PendingSync implements SyncHook {
  requested = false;
  request(): void {
    this.requested = true;
  }
}

export class Card implements LineCard {
  readonly host: Host;
  readonly settings: CardSettings;
  /** The notefile store on the host's flash, mounted (replayed) at construction. */
  readonly store: Store;
  readonly notefiles: Notefiles;
  /** Templates of the notefiles (note.template), also the notefiles' body codec. */
  readonly templates: NoteTemplates;
  readonly env: Environment;
  readonly sync: SyncHook;
  /** The sync engine, on hosts with a network. */
  readonly engine: SyncEngine | undefined;
  readonly binary: BinaryBuffer;
  readonly dfu: CardDfu;
  /** The card's behaviour on the host's sensors and pins (location, motion, voltage, ATTN). */
  readonly world: CardWorld;
  readonly options: CardOptions;
  /** Monotonic ms at boot, for card.status uptime. */
  readonly bootedAt: number;
  #epochOffset: number | undefined; // wall ms - monotonic ms, once known
  /** What request handlers see. */
  readonly #context: RequestContext;

  constructor(host: Host, options: CardOptions = {}) {
    this.host = host;
    this.options = options;
    this.store = new Store(host.flash);
    this.settings = new CardSettings(new FlashSettings(this.store));
    const seconds = (): number | undefined => {
      const ms = this.epochMs();
      return ms === undefined ? undefined : Math.floor(ms / 1000);
    };
    let templates: NoteTemplates | undefined;
    this.notefiles = new Notefiles(this.store, seconds, () => toHex(host.random.bytes(8)), (files) => (templates = new NoteTemplates(files)));
    this.templates = templates!;
    this.env = new Environment(this.store, seconds);
    this.binary = new BinaryBuffer(host.info.binaryMax);
    this.dfu = new CardDfu({
      flash: host.dfu, settings: this.settings, log: host.log, env: (name) => this.env.get(name), voltageMode: () => this.voltageMode(),
    });
    if (host.info.appliesCardImages) {
      const version = this.dfu.applyCardImage();
      if (version) host.log.log('info', `dfu: card firmware updated; running ${version}`);
    }
    this.bootedAt = host.clock.now();
    const wall = host.clock.wall();
    if (wall !== undefined) this.setTime(wall);
    // Several links (Wi-Fi, cellular): card.transport chooses among them.
    const transport = host.links?.length
      ? new TransportNet(host.links, host.clock, () => {
          const t = this.settings.get('transport') ?? {};
          return { method: typeof t.method === 'string' ? t.method : '-', seconds: typeof t.seconds === 'number' ? t.seconds : DEFAULT_FALLBACK_SECONDS };
        })
      : undefined;
    const net = transport ?? host.net;
    if (host.cellular) {
      const w = this.settings.get('wireless') ?? {};
      host.cellular.configure(typeof w.apn === 'string' ? w.apn : '', typeof w.mode === 'string' ? w.mode : '');
      if (w.penalty) host.cellular.setPenalty(w.penalty);
    }
    let world: CardWorld | undefined;
    this.engine = net
      ? new SyncEngine({
          clock: host.clock,
          random: host.random,
          log: host.log,
          net,
          settings: this.settings,
          notefiles: this.notefiles,
          templates: this.templates,
          env: this.env,
          deviceUID: () => this.deviceUID,
          epochMs: () => this.epochMs(),
          setTime: (ms) => this.setTime(ms),
          hubHost: options.hubHost,
          notesPerFrame: host.info.notesPerFrame,
          framesInFlight: host.info.framesInFlight,
          dfu: host.dfu ? this.dfu : undefined,
          variable: (spec) => world?.variable(spec),
          onConnection: () => world?.hubEvent('connected'),
          onSignal: () => world?.hubEvent('signal'),
        })
      : undefined;
    this.sync = this.engine ?? new PendingSync();
    this.world = world = new CardWorld({
      world: host.world ?? {},
      clock: host.clock,
      log: host.log,
      settings: this.settings,
      notefiles: this.notefiles,
      templates: this.templates,
      env: this.env,
      sync: this.sync,
      epochMs: () => this.epochMs(),
      voltageChanged: () => this.engine?.rescheduled(),
    });
    this.engine?.rescheduled(); // its first plan could not yet ask the voltage mode
    this.#context = Object.freeze({
      notefiles: this.notefiles,
      templates: this.templates,
      env: this.env,
      settings: this.settings,
      sync: this.sync,
      engine: this.engine,
      binary: this.binary,
      dfu: this.dfu,
      random: host.random,
      world: host.world ?? {},
      aux: host.world?.aux ? new AuxGpio(host.world.aux, () => host.clock.now(), () => world!.auxChanged()) : undefined,
      sensing: this.world,
      cellular: host.cellular,
      links: host.links?.length ? { names: host.links.map((l) => l.name), current: () => transport?.current } : undefined,
      platform: host.info.platform,
      deviceUID: () => this.deviceUID,
      epochMs: () => this.epochMs(),
      uptimeSeconds: () => Math.floor((host.clock.now() - this.bootedAt) / 1000),
      storagePercent: () => {
        const s = this.store.stats();
        return Math.round((100 * s.usedBytes) / (s.blocks * s.blockSize));
      },
      resetConfiguration: () => this.resetConfiguration(),
      factoryReset: () => this.factoryReset(),
      restart: () => this.options.onRestart?.(),
    });
    // card.aux's stored gpio configuration drives the pins from boot
    if (this.#context.aux && this.settings.get('config')?.['card.aux']) applyAux(this.#context, false);
  }

  /** Stable per-card identity, created at first boot from the host's random source. */
  get deviceUID(): string {
    let uid = this.settings.get('device');
    if (uid === undefined) {
      // 15 digits, the shape of a real card's IMEI-based UID.
      uid = 'dev:' + Array.from(this.host.random.bytes(15), (b) => b % 10).join('');
      this.settings.set('device', uid);
    }
    return uid;
  }

  /** Unix ms, or undefined until a host clock or the hub tells us. */
  epochMs(): number | undefined {
    return this.#epochOffset === undefined ? undefined : this.host.clock.now() + this.#epochOffset;
  }

  setTime(epochMs: number): void {
    this.#epochOffset = epochMs - this.host.clock.now();
  }

  /** The power source's state (usb, high, normal, low, dead) that vvalue settings are read against. */
  voltageMode(): string {
    return this.world.voltageMode();
  }

  /** Before the host replaces this card with a fresh one (restart): let go of the network. */
  shutdown(): void {
    this.engine?.stop();
    this.world.stop();
    // The world outlives the card: a listener left there would keep this whole card reachable
    // while the next one boots, and the device has no room for two.
    const w = this.host.world;
    w?.accelerometer?.onMotion(() => undefined);
    w?.aux?.onChange(() => undefined);
  }

  /** card.restore without delete: forget configuration, keep notes and identity. */
  resetConfiguration(): void {
    for (const key of CONFIGURATION_KEYS) this.settings.set(key, undefined);
  }

  /** card.restore {delete:true}: wipe the store (atomically) keeping identity, then tell the host. */
  factoryReset(): void {
    const keep: JsonObject = {};
    for (const key of IDENTITY_KEYS) {
      const v = this.settings.get(key);
      if (v !== undefined) keep[key] = v;
    }
    this.store.wipe((tx) => {
      for (const key of Object.keys(keep)) tx.setKV(NS.SETTINGS, key, JSON.stringify(keep[key]));
    });
    this.options.onFactoryReset?.(keep);
  }

  /** Answer one request line (without its line ending). Never throws. */
  request(text: string): Reply {
    let id: Json | undefined;
    let crcSeq: string | undefined;
    let wantsReply = true;
    const exchange: Exchange = {};
    let members: JsonObject;
    try {
      const env = openEnvelope(text);
      ({ id, crcSeq, wantsReply } = env);
      if (this.binary.receiving) this.binary.abortPut('a request arrived instead of binary data');
      const handler = Object.prototype.hasOwnProperty.call(REQUESTS, env.name) ? REQUESTS[env.name] : undefined;
      if (!handler) {
        const why = knownFamily(env.name) ? 'is not supported by this card' : 'is an unknown request';
        throw new CardError(`${env.name} ${why}`, 'not-supported');
      }
      members = handler(this.#context, new Args(env.args), exchange);
    } catch (e) {
      if (e instanceof EnvelopeError) ({ id, crcSeq, wantsReply } = e);
      members = { err: errorText(e) };
    }
    const later = exchange.later;
    if (later && !('err' in members)) {
      // A cmd is not waited for: its answer goes nowhere.
      if (!wantsReply) {
        later(() => undefined);
        return { after: exchange.after };
      }
      return {
        later: (send) => later((build) => {
          const ex: Exchange = {};
          let answer: JsonObject;
          try {
            answer = build(ex);
          } catch (e) {
            answer = { err: errorText(e) };
          }
          send({ text: sealReply(answer, id, crcSeq), trailer: ex.trailer, after: ex.after });
        }),
      };
    }
    if (!wantsReply) return { after: exchange.after };
    return { text: sealReply(members, id, crcSeq), trailer: exchange.trailer, after: exchange.after };
  }
}

function errorText(e: unknown): string {
  if (e instanceof CardError) return e.wireText;
  // A bug, not a user error: say so without leaking internals, and keep answering.
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}
