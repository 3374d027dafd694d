// The card on a Moddable board: UART to the host MCU, a flash partition for the store, timers.
// Build: mcconfig -d -m -p esp32/<board> (see README.md).
import Time from 'time';
import Timer from 'timer';
import { Card } from '../../src/card';
import type { Host } from '../../src/host';
import { SerialSession } from '../../src/wire/session';
import { openFlash } from './flash';
import { joinWifi, tcpNet } from './net';
import { openUart } from './serial';

/** Board wiring; override in the manifest's config for other boards. */
const UART = { port: 1, receive: 16, transmit: 17, baud: 9600 };
/** The binary buffer costs RAM on the device: keep it modest. */
const BINARY_MAX = 16 * 1024;

const host: Host = {
  flash: openFlash('storage'),
  clock: {
    now: () => Time.ticks,
    wall: () => undefined, // no trusted wall clock until the hub sets it
    schedule: (ms, fire) => Timer.set(() => fire(), ms),
    cancel: (timer) => Timer.clear(timer as Timer),
  },
  random: {
    // XS seeds Math.random from the platform's hardware RNG on ESP32.
    bytes: (n) => Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0),
  },
  log: { log: (level, message) => trace(`[${level}] ${message}\n`) },
  net: tcpNet,
  info: { platform: 'moddable-esp32', binaryMax: BINARY_MAX },
};

const serial = openUart(UART);
let session: SerialSession;
const boot = (): Card =>
  new Card(host, {
    onRestart: () => {
      session.card.shutdown();
      session.card = boot();
    },
  });
session = new SerialSession(boot(), (bytes) => serial.write(bytes));
serial.onBytes((bytes) => session.receive(bytes));

// Join the Wi-Fi network stored by card.wifi (takes effect at the next restart).
const wifi = session.card.settings.get('wifi');
if (wifi && typeof wifi === 'object' && !Array.isArray(wifi) && typeof wifi.ssid === 'string') {
  joinWifi(wifi.ssid, typeof wifi.password === 'string' ? wifi.password : '', (up) => host.log.log('info', `wifi ${up ? 'up' : 'down'}`));
}
