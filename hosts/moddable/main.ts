// The card on the Moddable runtime: one composition for every board. A platform's boot module
// (esp32/boot.js, lin/boot.js) hands in its Board: where the store lives, how the UART opens,
// how the network comes up. Nothing here runs at import, so the module can be preloaded.
import Time from 'time';
import Timer from 'timer';
import { Card } from '../../src/card';
import type { Flash, Host, Net, Random } from '../../src/host';
import type { World } from '../../src/world';
import { SerialSession } from '../../src/wire/session';
import { ModemLink } from '../../src/net/modem';
import { DIALECTS } from '../../src/net/at-dialect';
import { openUart, type UartOptions } from './serial';

export interface Board {
  /** card.version's platform name. */
  readonly platform: string;
  /** Bytes the binary buffer may hold; it costs RAM on the device. */
  readonly binaryMax: number;
  readonly uart: UartOptions;
  openFlash(): Flash;
  readonly net?: Net;
  /** A cellular module on a second UART (AT dialect: Quectel BG95/BG96 unless `dialect` names
   * another family of src/net/at-dialect DIALECTS); card.transport then chooses between it and `net`. */
  readonly modem?: { readonly uart: UartOptions; readonly apn?: string; readonly dialect?: string };
  /** Where the platform's Math.random is not a real random source. */
  readonly random?: Random;
  /** Bring the network up with the credentials card.wifi stored (boards with Wi-Fi). */
  joinWifi?(ssid: string, password: string, log: (message: string) => void): void;
  /** The sensors and pins the board has (src/world.ts); none when absent. */
  openWorld?(schedule: (ms: number, fire: () => void) => void, log: (message: string) => void): World;
  /** Live heap bytes after a collection (instrumented builds): debug log lines carry them. */
  readonly memory?: () => string;
}

export function start(board: Board): void {
  const host: Host = {
    flash: board.openFlash(),
    clock: {
      now: () => Time.ticks,
      wall: () => undefined, // no trusted wall clock until the hub sets it
      schedule: (ms, fire) => Timer.set(() => fire(), ms),
      cancel: (timer) => Timer.clear(timer as Timer),
    },
    random: board.random ?? {
      // On ESP32, XS's Math.random is the hardware RNG.
      bytes: (n) => Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0),
    },
    log: { log: (level, message) => trace(`[${level}] ${message}${level === 'debug' && board.memory ? ` (${board.memory()})` : ''}\n`) },
    net: board.net,
    // 256 notes per frame did not fit the 4,928-slot heap after 800 note.adds (bench/moddable.ts):
    // at about 15 slots a note while its frame is built, 64 leaves room; a round trip per 64 notes.
    // A pipelined sync's frames wait in the socket's output queue until sent: 4 of ~4 KB did not
    // fit the chunk heap after 1,000 note.adds (bench/moddable.ts); one at a time does.
    info: { platform: board.platform, binaryMax: board.binaryMax, notesPerFrame: 64, framesInFlight: 1 },
    world: board.openWorld?.((ms, fire) => Timer.set(fire, ms), (m) => trace(`[info] ${m}\n`)),
  };
  if (board.modem) {
    // One driver for the board's life: the module outlives card restarts.
    const dialect = board.modem.dialect === undefined ? undefined : DIALECTS[board.modem.dialect];
    const link = new ModemLink({ serial: openUart(board.modem.uart), clock: host.clock, log: host.log, apn: board.modem.apn, dialect });
    host.links = board.net ? [{ name: 'wifi', net: board.net }, { name: 'cell', net: link }] : [{ name: 'cell', net: link }];
    host.cellular = link;
  }

  const serial = openUart(board.uart);
  let session: SerialSession<Card>;
  const boot = (): Card =>
    new Card(host, {
      onRestart: () => {
        // The device has no room for two cards: the old one lets go of the network and of every
        // reference, and the new one boots from a fresh stack once the old one is garbage.
        host.log.log('debug', 'card: restarting');
        session.card!.shutdown();
        session.card = undefined;
        Timer.set(() => {
          host.log.log('debug', 'card: booting');
          session.card = boot();
          host.log.log('debug', 'card: restarted');
        }, 0);
      },
    });
  session = new SerialSession(boot(), (bytes) => serial.write(bytes));
  serial.onBytes((bytes) => session.receive(bytes));
  host.log.log('debug', 'card: booted');

  // Join the Wi-Fi network stored by card.wifi (a change takes effect at the next restart).
  const wifi = session.card!.settings.get('wifi');
  if (board.joinWifi && wifi && typeof wifi === 'object' && !Array.isArray(wifi) && typeof wifi.ssid === 'string') {
    board.joinWifi(wifi.ssid, typeof wifi.password === 'string' ? wifi.password : '', (m) => host.log.log('info', m));
  }
}

/** A manifest config value (the command line makes every value a string). */
export function configNumber(value: unknown, fallback: number): number {
  const n = Number(value);
  return value === undefined || value === '' || !Number.isFinite(n) ? fallback : n;
}
