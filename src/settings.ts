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
export const TRANSPORT_METHODS = Object.freeze(['-', 'wifi', 'cell', 'wifi-cell', 'dual-wifi-cell'] as const);
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
  wireless: 'object',
  transport: 'object',
});

/** Settings that survive a factory reset: who this card is. */
export const IDENTITY_KEYS = Object.freeze(['device', 'secret'] as const);
/** Settings that card.restore forgets. */
export const CONFIGURATION_KEYS: readonly SettingKey[] = Object.freeze(['hub', 'wifi', 'wireless', 'transport'] as const);

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
