// A card behind the real serial line discipline (SerialSession), with a network that never
// answers and a world holding every part, for checking what each request answers on the wire.
import { Card } from '../../src/card';
import type { Net } from '../../src/host';
import type { AuxPinMode, AuxPins, World } from '../../src/world';
import { cobsEncode } from '../../src/wire/cobs';
import { SerialSession } from '../../src/wire/session';
import { testHost } from './host';

/** A link that connects nowhere: the engine exists (hub.sync and friends answer), no session ever starts. */
const SILENT_NET: Net = { connect: () => ({ write: () => undefined, close: () => undefined }) };

class Pins implements AuxPins {
  readonly count = 4;
  levels: (0 | 1)[] = [0, 0, 0, 0];
  configure(_pin: number, _mode: AuxPinMode): void {}
  read(pin: number): 0 | 1 {
    return this.levels[pin - 1];
  }
  write(pin: number, level: 0 | 1): void {
    this.levels[pin - 1] = level;
  }
  onChange(): void {}
}

/** Every part of the world, at plain values. */
export function fullWorld(): World {
  return {
    power: { voltage: () => 4.1, usb: () => true, milliampHours: () => 1.25, resetMilliampHours: () => undefined },
    climate: { read: () => ({ temperature: 22.5, humidity: 40, pressure: 101325 }) },
    accelerometer: { orientation: () => 'face-up', onMotion: () => undefined },
    gnss: { fix: () => ({ lat: 42.36, lon: -71.06, time: 1_700_000_000, dop: 1.2 }) },
    light: { lux: () => 120.5 },
    attn: { set: () => undefined },
    aux: new Pins(),
  };
}

export interface SerialCard {
  card: Card;
  /** Send one request object as a line; the one reply line, parsed ({} for a cmd). */
  ask(request: object, binary?: Uint8Array): Record<string, unknown>;
}

export function serialCard(world: World = fullWorld()): SerialCard {
  const host = testHost();
  host.net = SILENT_NET;
  host.world = world;
  const card = new Card(host);
  const out: Uint8Array[] = [];
  const session = new SerialSession(card, (b) => out.push(b.slice()));
  const ask = (request: object, binary?: Uint8Array): Record<string, unknown> => {
    out.length = 0;
    session.receive(Buffer.from(JSON.stringify(request) + '\n'));
    // card.binary.put: the reply comes first, then the host sends the encoded bytes.
    if (binary) session.receive(Buffer.concat([Buffer.from(cobsEncode(binary)), Buffer.from('\n')]));
    const text = Buffer.concat(out).toString('latin1');
    if (text === '') return {};
    const line = text.slice(0, text.indexOf('\r\n'));
    return JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as Record<string, unknown>;
  };
  return { card, ask };
}
