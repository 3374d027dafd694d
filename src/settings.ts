// The card's persistent settings, declared once with their types: who this card is, where it
// syncs, its Wi-Fi, and the sync's own state. Every reader and writer goes through CardSettings.
import { type Json, type JsonObject, isObject } from './json';

/** The raw key -> JSON store the settings live in (the flash store's FlashSettings). */
export interface Settings {
  get(key: string): Json | undefined;
  /** Durable once it returns. `undefined` deletes. */
  set(key: string, value: Json | undefined): void;
}

export const HUB_MODES = Object.freeze(['periodic', 'continuous', 'minimum', 'off', 'dfu'] as const);
export type HubMode = (typeof HUB_MODES)[number];

/** hub.set arguments kept as given (hub.get answers them back). */
export const HUB_STRING_FIELDS = Object.freeze(['product', 'host', 'sn', 'voutbound', 'vinbound'] as const);
export const HUB_MINUTE_FIELDS = Object.freeze(['outbound', 'inbound', 'duration'] as const);
export const HUB_BOOL_FIELDS = Object.freeze(['align'] as const);

/** hub.set: where and how the card syncs. */
export interface HubConfig {
  mode?: string;
  product?: string;
  host?: string;
  sn?: string;
  voutbound?: string;
  vinbound?: string;
  outbound?: number;
  inbound?: number;
  duration?: number;
  align?: boolean;
  /** The host library's user-agent body, kept for the hub. */
  agent?: JsonObject;
}

/** card.wifi: the network a Wi-Fi host joins. */
export interface WifiConfig {
  ssid?: string;
  password?: string;
}

/** card.wireless and card.wireless.penalty: the cellular modem's configuration. */
export interface WirelessConfig {
  apn?: string;
  mode?: string;
  penalty?: { min?: number; add?: number; max?: number; rate?: number };
}

/** card.transport methods this card knows ('-': the host's own order of its links). */
export const TRANSPORT_METHODS = Object.freeze(['-', 'wifi', 'cell', 'wifi-cell', 'dual-wifi-cell', 'ntn', 'wifi-ntn', 'cell-ntn', 'wifi-cell-ntn'] as const);
/** card.wireless scan modes ('-': back to the default). */
export const WIRELESS_MODES = Object.freeze(['-', 'auto', 'm', 'nb', 'gprs'] as const);

/** card.transport: which links, in which order. */
export interface TransportConfig {
  method?: string;
  seconds?: number;
  allow?: boolean;
}

/** The sync engine's state across restarts. */
export interface SyncState {
  /** hubEpoch (hex) of the last authenticated session; none: we may provision. */
  hubEpoch?: string;
  /** `modified` of the last ENV stored from the hub. */
  envModified?: number;
  /** Per notefile, the template version the hub confirmed holding (a pipelined flight sends the others). */
  templates?: Record<string, number>;
  /** The session ticket of the last session (hex: its name and resumption secret), for RESUME. */
  ticket?: string;
  resume?: string;
}

/** Traffic counts (card.usage.get): one period's, or the whole life's. */
export type UsageCounts = {
  bytes_sent: number;
  bytes_received: number;
  notes_sent: number;
  notes_received: number;
  sessions: number;
};

/** What the sync engine has moved, written at the end of a session: totals since `since` (unix s,
 * the first session) and bounded histories of hours and days ([period index, counts...]). */
export type UsageRecord = {
  since?: number;
  total?: UsageCounts;
  /** [hour since the epoch, bytes_sent, bytes_received, notes_sent, notes_received, sessions], newest last. */
  hours?: number[][];
  /** The same by day since the epoch. */
  days?: number[][];
};

export const USAGE_HOURS = 24;
export const USAGE_DAYS = 31;

/** Add what a session moved (`delta`) at unix second `now` (undefined: totals only). */
export function addUsage(record: UsageRecord, delta: UsageCounts, now: number | undefined): UsageRecord {
  const out: UsageRecord = { ...record, total: sumCounts(record.total, delta) };
  if (now === undefined) return out;
  if (out.since === undefined) out.since = now;
  out.hours = addToHistory(record.hours, Math.floor(now / 3600), delta, USAGE_HOURS);
  out.days = addToHistory(record.days, Math.floor(now / 86400), delta, USAGE_DAYS);
  return out;
}

export function sumCounts(a: UsageCounts | undefined, b: UsageCounts): UsageCounts {
  return {
    bytes_sent: (a?.bytes_sent ?? 0) + b.bytes_sent,
    bytes_received: (a?.bytes_received ?? 0) + b.bytes_received,
    notes_sent: (a?.notes_sent ?? 0) + b.notes_sent,
    notes_received: (a?.notes_received ?? 0) + b.notes_received,
    sessions: (a?.sessions ?? 0) + b.sessions,
  };
}

export function countsOf(entry: readonly number[]): UsageCounts {
  return { bytes_sent: entry[1], bytes_received: entry[2], notes_sent: entry[3], notes_received: entry[4], sessions: entry[5] };
}

function addToHistory(history: number[][] | undefined, index: number, d: UsageCounts, keep: number): number[][] {
  const out = (history ?? []).filter((e) => Array.isArray(e) && e.length === 6 && e[0] > index - keep && e[0] <= index);
  const last = out[out.length - 1];
  const before = last?.[0] === index ? countsOf(out.pop()!) : undefined;
  const c = sumCounts(before, d);
  out.push([index, c.bytes_sent, c.bytes_received, c.notes_sent, c.notes_received, c.sessions]);
  return out;
}

/** One kind of firmware image on the card (src/dfu/dfu.ts): where its download stands. */
export interface DfuSlot {
  mode: 'idle' | 'downloading' | 'ready' | 'error' | 'completed';
  /** The image (the hub's file name) being handled. */
  name?: string;
  status?: string;
  /** The hub's description of the image (dfu.status body). */
  body?: JsonObject;
  /** Bytes verified in flash. */
  got?: number;
  /** dfu.status off; vvalue. */
  off?: boolean;
  vvalue?: string;
  /** The host firmware's version as dfu.status gave it (JSON text for an object). */
  version?: string;
  /** The image last finished with (completed, error or cancelled): not fetched again. */
  done?: string;
  /** The image the next status report names, and whether one is owed to the hub. */
  report?: string;
  unsent?: boolean;
  /** card images: the version installed (card.version reports it). */
  running?: string;
}

/** card.dfu: the outboard firmware update configuration. */
export interface DfuOutboard {
  name?: string;
  on?: boolean;
  seconds?: number;
  mode?: string;
  /** Unix seconds of the last start / stop request. */
  started?: number;
  stopped?: number;
}

export interface DfuState {
  user?: DfuSlot;
  card?: DfuSlot;
  outboard?: DfuOutboard;
}

/** card.location.mode */
export interface LocationConfig {
  mode?: string;
  seconds?: number;
  vseconds?: string;
  threshold?: number;
  /** The fixed position (mode fixed) or the geofence centre. */
  lat?: number;
  lon?: number;
  /** Geofence radius in metres, and minutes outside it before tracking. */
  max?: number;
  minutes?: number;
}

/** card.location.track */
export interface TrackConfig {
  start?: boolean;
  heartbeat?: boolean;
  /** Heartbeat interval: hours, or minutes when negative. */
  hours?: number;
  sync?: boolean;
  file?: string;
}

/** A motion rule (card.motion.sync, card.motion.track). */
export interface MotionRule {
  minutes?: number;
  count?: number;
  threshold?: number;
  file?: string;
  now?: boolean;
}

/** card.motion.mode, card.motion.sync, card.motion.track */
export interface MotionConfig {
  stop?: boolean;
  seconds?: number;
  motion?: number;
  sensitivity?: number;
  sync?: MotionRule;
  track?: MotionRule;
}

/** card.voltage */
export interface VoltageConfig {
  /** The threshold table ("usb:4.6;high:4.0;..."). */
  mode?: string;
  calibration?: number;
  trend?: boolean;
  usb?: boolean;
  alert?: boolean;
  sync?: boolean;
  name?: string;
}

/** card.temp periodic readings */
export interface TempConfig {
  minutes?: number;
  status?: string;
}

/** card.attn */
export interface AttnConfig {
  off?: boolean;
  /** Enabled trigger keywords (files, env, location, motion, ...). */
  modes?: string[];
  files?: string[];
}

/** Every setting, by key. */
export interface SettingTypes {
  /** The card's device UID ("dev:" + 15 digits). */
  device: string;
  /** The 32-byte device secret (hex). */
  secret: string;
  /** Drawn when the store is formatted (hex, 8 bytes). */
  epoch: string;
  hub: HubConfig;
  wifi: WifiConfig;
  sync: SyncState;
  usage: UsageRecord;
  /** The configuration of the card's smaller requests (card.contact, card.sleep, ...), by request name. */
  config: Record<string, JsonObject>;
  dfu: DfuState;
  location: LocationConfig;
  track: TrackConfig;
  motion: MotionConfig;
  voltage: VoltageConfig;
  temp: TempConfig;
  attn: AttnConfig;
  wireless: WirelessConfig;
  transport: TransportConfig;
}
export type SettingKey = keyof SettingTypes;

const SHAPES: Readonly<Record<SettingKey, 'string' | 'object'>> = Object.freeze({
  device: 'string',
  secret: 'string',
  epoch: 'string',
  hub: 'object',
  wifi: 'object',
  sync: 'object',
  usage: 'object',
  config: 'object',
  dfu: 'object',
  location: 'object',
  track: 'object',
  motion: 'object',
  voltage: 'object',
  temp: 'object',
  attn: 'object',
  wireless: 'object',
  transport: 'object',
});

/** Settings that survive a factory reset: who this card is (and the data it has used in its life). */
export const IDENTITY_KEYS = Object.freeze(['device', 'secret', 'usage'] as const);
/** Settings that card.restore forgets. */
export const CONFIGURATION_KEYS: readonly SettingKey[] = Object.freeze(['hub', 'wifi', 'config', 'location', 'track', 'motion', 'voltage', 'temp', 'attn', 'wireless', 'transport'] as const);

/** Typed access to the settings: a stored value of the wrong shape reads as absent. */
export class CardSettings {
  readonly #raw: Settings;
  constructor(raw: Settings) {
    this.#raw = raw;
  }

  get<K extends SettingKey>(key: K): SettingTypes[K] | undefined {
    const v = this.#raw.get(key);
    const ok = SHAPES[key] === 'string' ? typeof v === 'string' : isObject(v);
    return ok ? (v as SettingTypes[K]) : undefined;
  }

  set<K extends SettingKey>(key: K, value: SettingTypes[K] | undefined): void {
    this.#raw.set(key, value as Json | undefined);
  }

  /** hub.set's configuration ({} until set). */
  hub(): HubConfig {
    return this.get('hub') ?? {};
  }

  /** The sync mode hub.set chose (periodic until set). */
  hubMode(): HubMode {
    const mode = this.hub().mode;
    return typeof mode === 'string' && (HUB_MODES as readonly string[]).includes(mode) ? (mode as HubMode) : 'periodic';
  }
}
