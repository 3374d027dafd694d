// The desktop simulator: one card on a file-backed flash, restartable, fed by any byte transport.
import * as fs from 'fs';
import * as path from 'path';
import { Card, CardOptions } from '../../src/card';
import type { LogLevel, Serial, World } from '../../src/host';
import { SerialSession } from '../../src/wire/session';
import { REQUESTS } from '../../src/requests/index';
import { FileFlash } from './file-flash';
import { nodeHost, nodeNet } from './node-host';
import { ModemLink } from '../../src/net/modem';
import { DIALECTS } from '../../src/net/at-dialect';
import { ModemEmulator, type ModemEmulatorOptions } from './modem-emulator';

export interface SimulatorOptions {
  /** Directory holding the flash image (and anything else that must survive restarts). */
  dataDir: string;
  flashSize?: number;
  /** Bytes of the DFU flash area (dfu.bin beside flash.bin; half for host images, half for card images). */
  dfuSize?: number;
  binaryMax?: number;
  trustSystemClock?: boolean;
  logLevel?: LogLevel | 'silent';
  /** The hub to sync with until hub.set host says otherwise ("host:port"). */
  hubHost?: string;
  /** The world the card senses (hosts/node/world-sim.ts); it outlives restarts. */
  world?: World;
  /** Sync through the modem driver and an emulated cellular module (card.transport may still pick TCP);
   * with `serial`, the driver talks to that UART instead (a module, or an emulator in its own process). */
  modem?: ModemEmulatorOptions & { apn?: string; serial?: Serial };
  /** Extra card options (settings come from the flash store). */
  card?: Partial<CardOptions>;
}

/** 4 MiB: host and card images of up to 2 MiB each. */
const DEFAULT_DFU_SIZE = 4 * 1024 * 1024;

export class Simulator {
  readonly flash: FileFlash;
  /** The partition firmware images download to. */
  readonly dfuFlash: FileFlash;
  readonly session: SerialSession<Card>;
  #options: SimulatorOptions;
  #output: (bytes: Uint8Array) => void = () => {};
  restarts = 0;
  /** The emulated module: outlives card restarts, as the module on a board outlives the MCU's. */
  readonly modem: ModemEmulator | undefined;
  /** The modem driver (kept across card restarts, as on a board). */
  link: ModemLink | undefined;

  constructor(options: SimulatorOptions) {
    this.#options = options;
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 }); // 0700 when we create it; a directory the user had is left alone
    this.flash = new FileFlash(path.join(options.dataDir, 'flash.bin'), { size: options.flashSize });
    this.dfuFlash = new FileFlash(path.join(options.dataDir, 'dfu.bin'), { size: options.dfuSize ?? DEFAULT_DFU_SIZE });
    this.modem = options.modem && !options.modem.serial ? new ModemEmulator(options.modem) : undefined;
    this.session = new SerialSession(this.#boot(), (bytes) => this.#output(bytes));
  }

  get card(): Card {
    return this.session.card!;
  }

  /** Where the card's serial output goes (the transport). */
  set output(write: (bytes: Uint8Array) => void) {
    this.#output = write;
  }

  receive(bytes: Uint8Array): void {
    this.session.receive(bytes);
  }

  /**
   * One request line answered by the card directly, beside the serial transport (the hub's web
   * terminal): the reply line, or '' for a cmd. Binary trailers are not returned.
   */
  requestLine(line: string): Promise<string> {
    return new Promise((resolve) => {
      const done = (r: { text?: string; after?: () => void }): void => { resolve(r.text ?? ''); r.after?.(); };
      const r = this.card.request(line.trim());
      if (r.later) r.later(done); else done(r);
    });
  }

  /** The request names the card answers (the web terminal's completion). */
  get requestNames(): string[] { return Object.keys(REQUESTS).sort(); }

  close(): void {
    this.session.card!.shutdown();
    this.modem?.close();
    this.flash.close();
    this.dfuFlash.close();
  }

  #boot(): Card {
    const o = this.#options;
    let host = nodeHost({ flash: this.flash, dfu: this.dfuFlash, binaryMax: o.binaryMax, trustSystemClock: o.trustSystemClock, logLevel: o.logLevel, world: o.world });
    const uart = o.modem?.serial ?? this.modem?.uart;
    if (uart) {
      // one driver for the simulator's life: two on the same UART would talk over each other
      this.link ??= new ModemLink({ serial: uart, clock: host.clock, log: host.log, apn: o.modem?.apn ?? 'iot.example', dialect: DIALECTS[o.modem?.dialect ?? 'quectel'] });
      host = { ...host, links: [{ name: 'cell', net: this.link }, { name: 'wifi', net: nodeNet }], cellular: this.link };
    }
    // card.restore {delete:true} wipes the store itself (atomically, keeping identity): the
    // restart that follows is all the simulator has to do.
    return new Card(host, { ...o.card, hubHost: o.hubHost, onRestart: () => this.#restart() });
  }

  #restart(): void {
    this.restarts++;
    this.session.card!.shutdown();
    this.session.card = this.#boot();
  }
}
