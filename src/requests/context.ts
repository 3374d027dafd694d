// What a request handler may use: the card's services, never the store or the card itself.
import type { CardDfu } from '../dfu/dfu';
import type { Cellular, LinkName, Random, World } from '../host';
import type { JsonObject } from '../json';
import type { Notefiles } from '../notefile/notefiles';
import type { CardSettings } from '../settings';
import type { SyncControl, SyncHook } from '../sync/control';
import type { BinaryBuffer } from '../wire/binary';
import type { AuxGpio } from './aux-gpio';
import type { CardWorld } from '../sensing/card-world';
import type { TemplateRegistry } from './note-template';

/** The environment variables (env.*); the card's are kept in the flash store. */
export interface EnvironmentVars {
  get(name: string): string | undefined;
  all(): Record<string, string>;
  set(layer: 'local' | 'default', name: string, value: string | undefined): void;
  /** Unix seconds of the last change (0: never). */
  modified(): number;
}

export interface RequestContext {
  readonly notefiles: Notefiles;
  readonly templates: TemplateRegistry;
  readonly env: EnvironmentVars;
  readonly settings: CardSettings;
  /** Ask for a sync (remembered until a sync engine runs). */
  readonly sync: SyncHook;
  /** The sync engine, on hosts with a network. */
  readonly engine: SyncControl | undefined;
  readonly binary: BinaryBuffer;
  /** Firmware updates (dfu.status, dfu.get, card.dfu). */
  readonly dfu: CardDfu;
  readonly random: Random;
  /** The host's sensors and pins; a part left out is hardware this card lacks. */
  readonly world: World;
  /** The AUX pins' gpio state (card.aux), when the world has AUX pins. */
  readonly aux: AuxGpio | undefined;
  /** The card's behaviour on that world: location, motion, voltage, temperature, ATTN. */
  readonly sensing: CardWorld;
  /** The cellular modem, on hosts with one (card.wireless). */
  readonly cellular?: Cellular;
  /** The links card.transport may choose among, in the host's order, and the one last used. */
  readonly links?: { names: readonly LinkName[]; current(): LinkName | undefined };
  /** The host platform card.version names. */
  readonly platform: string;
  deviceUID(): string;
  /** Unix ms, or undefined until a host clock or the hub tells us. */
  epochMs(): number | undefined;
  uptimeSeconds(): number;
  /** Percent of the flash the store holds. */
  storagePercent(): number;
  /** card.restore without delete: forget configuration, keep notes and identity. */
  resetConfiguration(): void;
  /** card.restore {delete:true}: wipe the store keeping identity. */
  factoryReset(): void;
  /** Restart the card (after the reply is out). */
  restart(): void;
}

/** Per-request extras a handler may set beside its JSON members. */
export interface Exchange {
  trailer?: Uint8Array;
  after?: () => void;
  /** The reply comes later (web.* waits for the hub): the card calls `later` with `answer`, which
   * the handler calls once, with what builds the reply (its errors become an {"err"} reply). */
  later?: (answer: (build: (exchange: Exchange) => JsonObject) => void) => void;
}
