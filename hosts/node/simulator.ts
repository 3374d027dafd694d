// The desktop simulator: one card on a file-backed flash, restartable, fed by any byte transport.
import * as fs from 'fs';
import * as path from 'path';
import { Card, CardOptions } from '../../src/card';
import type { LogLevel } from '../../src/host';
import { SerialSession } from '../../src/wire/session';
import { REQUESTS } from '../../src/requests/index';
import { FileFlash } from './file-flash';
import { nodeHost } from './node-host';

export interface SimulatorOptions {
  /** Directory holding the flash image (and anything else that must survive restarts). */
  dataDir: string;
  flashSize?: number;
  binaryMax?: number;
  trustSystemClock?: boolean;
  logLevel?: LogLevel | 'silent';
  /** The hub to sync with until hub.set host says otherwise ("host:port"). */
  hubHost?: string;
  /** Extra card options (settings come from the flash store). */
  card?: Partial<CardOptions>;
}

export class Simulator {
  readonly flash: FileFlash;
  readonly session: SerialSession<Card>;
  #options: SimulatorOptions;
  #output: (bytes: Uint8Array) => void = () => {};
  restarts = 0;

  constructor(options: SimulatorOptions) {
    this.#options = options;
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 }); // 0700 when we create it; a directory the user had is left alone
    this.flash = new FileFlash(path.join(options.dataDir, 'flash.bin'), { size: options.flashSize });
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
    this.flash.close();
  }

  #boot(): Card {
    const o = this.#options;
    const host = nodeHost({ flash: this.flash, binaryMax: o.binaryMax, trustSystemClock: o.trustSystemClock, logLevel: o.logLevel });
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
