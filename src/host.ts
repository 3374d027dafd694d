// The contract between the card core and the machine it runs on.
// The core never imports a platform module: a host builds these objects
// (Node adapters in hosts/node, XS adapters in hosts/moddable) and hands them in.
import type { World } from './world';

export type {
  AttnPin,
  AuxPinMode,
  AuxPins,
  Accelerometer,
  Climate,
  ClimateReading,
  Gnss,
  GnssFix,
  LightSense,
  MotionEvent,
  Orientation,
  PowerSense,
  World,
} from './world';

/** An erase-block NOR flash device. Erased bytes read 0xFF; writes only clear bits. */
export interface Flash {
  /** Total bytes. */
  readonly size: number;
  /** Erase granularity in bytes (4096 on ESP32). */
  readonly blockSize: number;
  /** Writes must start at and span a multiple of this (1, 4, 8 or 16). */
  readonly writeAlign: number;
  read(offset: number, length: number): Uint8Array;
  /** Throws when the write would set a bit that is clear (NOR rule) or is misaligned. */
  write(offset: number, data: Uint8Array): void;
  /** Erase one block (index, not byte offset) back to 0xFF. */
  erase(block: number): void;
}

/** The byte stream to the host MCU. */
export interface Serial {
  onBytes(receive: (bytes: Uint8Array) => void): void;
  /** Write all bytes, in order; the host adapter buffers what the UART cannot take yet. */
  write(bytes: Uint8Array): void;
}

export type TimerHandle = unknown;

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. */
  now(): number;
  /** Wall time in unix milliseconds, or undefined when the host has no trusted source (RTC/NTP). */
  wall(): number | undefined;
  schedule(ms: number, fire: () => void): TimerHandle;
  cancel(timer: TimerHandle): void;
}

export interface Random {
  bytes(count: number): Uint8Array;
}

/** One open byte stream to a server (TCP over Wi-Fi, or a socket inside a modem). */
export interface NetStream {
  write(bytes: Uint8Array): void;
  /** Idempotent. */
  close(): void;
}

export interface NetHandlers {
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  /** Called once, after an error or when either side closed. */
  onClose(error?: string): void;
}

export interface Net {
  connect(host: string, port: number, handlers: NetHandlers): NetStream;
}

/** The links card.transport chooses among (Wi-Fi: the host's IP link; on the desktop, plain TCP). */
export type LinkName = 'wifi' | 'cell';

export interface Link {
  name: LinkName;
  net: Net;
}

/** Penalty box settings (card.wireless.penalty), minutes and a growth rate. */
export interface PenaltyConfig {
  min?: number;
  add?: number;
  max?: number;
  rate?: number;
}

/** A cellular modem's controls and facts: what card.wireless and card.wireless.penalty use. */
export interface Cellular {
  /** card.wireless members: status, count (bars), net {rat, band, rssi, ...}. */
  wireless(): { [key: string]: unknown };
  /** APN ('' = the SIM's default) and scan mode ('auto', 'm', 'nb', 'gprs'); from the next bring-up. */
  configure(apn: string, mode: string): void;
  /** card.wireless.penalty members: count, minutes, and seconds + status while in the box. */
  penalty(): { [key: string]: unknown };
  setPenalty(config: PenaltyConfig): void;
  resetPenalty(): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  log(level: LogLevel, message: string): void;
}

/** Everything a host hands to the core. */
export interface Host {
  flash: Flash;
  clock: Clock;
  random: Random;
  log: Log;
  net?: Net;
  /** Sensors and pins (src/world.ts); absent parts are hardware the card lacks. */
  world?: World;
  /** The flash area firmware images download to (a partition beside the store's; absent: none). */
  dfu?: Flash;
  /** When the host has more than one link: in its default (fallback) order; `net` is then unused. */
  links?: readonly Link[];
  /** The cellular modem, when the host has one. */
  cellular?: Cellular;
  /** Static facts about the platform, reported by card.version / card.status. */
  info: HostInfo;
}

export interface HostInfo {
  /** e.g. "node-simulator", "esp32". */
  platform: string;
  /** Bytes the binary buffer may hold (card.binary max). */
  binaryMax: number;
  /** A downloaded card image takes effect at the next restart (the simulator: it runs as the version the image names). */
  appliesCardImages?: boolean;
  /** Notes the sync considers per NOTES frame (default 256): each is a few JS objects while its
   * frame is built, so a small heap sets fewer and pays a round trip per that many notes. */
  notesPerFrame?: number;
  /** NOTES frames a pipelined sync sends before their ACKs (default and at most 4). Frames the link
   * has not yet taken wait in the host's output queue, ~4 KB each: a small heap sets fewer. */
  framesInFlight?: number;
}
