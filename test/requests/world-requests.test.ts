// card.aux (gpio), card.illumination and card.power against a scripted world; and what a card
// without those parts answers.
import { RamFlash } from '../../hosts/node/ram-flash';
import type { AuxPinMode, AuxPins, World } from '../../src/world';
import { testCard, testHost } from '../support/host';

class FakePins implements AuxPins {
  readonly count = 4;
  modes: AuxPinMode[] = ['off', 'off', 'off', 'off'];
  levels: (0 | 1)[] = [0, 0, 0, 0];
  listener: ((pin: number, level: 0 | 1) => void) | undefined;
  configure(pin: number, mode: AuxPinMode): void {
    this.modes[pin - 1] = mode;
  }
  read(pin: number): 0 | 1 {
    return this.levels[pin - 1];
  }
  write(pin: number, level: 0 | 1): void {
    this.levels[pin - 1] = level;
  }
  onChange(listener: (pin: number, level: 0 | 1) => void): void {
    this.listener = listener;
  }
  /** The outside world drives an input pin. */
  drive(pin: number, level: 0 | 1): void {
    this.levels[pin - 1] = level;
    this.listener?.(pin, level);
  }
}

function worldCard(world: World, flash = new RamFlash({ size: 64 * 4096 })) {
  const host = testHost(flash);
  host.world = world;
  return { host, flash, ...testCard(host) };
}

describe('card.aux', () => {
  it('gpio mode drives outputs, reads inputs and counts rising edges in buckets; survives a restart', () => {
    const pins = new FakePins();
    const { req, host, flash } = worldCard({ aux: pins });
    expect(req({ req: 'card.aux' })).toEqual({ mode: 'off' });
    expect(req({ req: 'card.aux', mode: 'gpio', usage: ['off', 'low', 'high', 'count'], seconds: 2, max: 5, start: true })).toEqual({
      mode: 'gpio', state: [{}, { low: true }, { high: true }, { count: [0] }], seconds: 2, time: 1_700_000_000,
    });
    expect(pins.modes).toEqual(['off', 'output', 'output', 'input']);
    expect(pins.levels.slice(0, 3)).toEqual([0, 0, 1]);
    for (const t of [100, 600, 2500, 4100, 4200, 30_000, 31_000]) {
      host.ms = t;
      pins.drive(4, 1);
      pins.drive(4, 0); // falling edges are not counted
    }
    // buckets of 2 s: [0-2) 2, [2-4) 1, [4-6) 2, then everything past the 5th rolls into the last
    expect(req({ req: 'card.aux' }).state[3]).toEqual({ count: [2, 1, 2, 0, 2] });

    const again = worldCard({ aux: new FakePins() }, flash);
    expect(again.req({ req: 'card.aux' })).toMatchObject({ mode: 'gpio', state: [{}, { low: true }, { high: true }, { count: [0] }] });
  });

  it('sync:true reports an input change as a note of the pin states in file', () => {
    const pins = new FakePins();
    const { req, card } = worldCard({ aux: pins, power: { voltage: () => 5, usb: () => true } });
    expect(req({ req: 'card.aux', mode: 'gpio', usage: ['input', 'input-pullup'], sync: true, file: 'states.qo' })).toEqual({
      mode: 'gpio', state: [{ input: true, low: true }, { input: true, low: true }],
    });
    expect(pins.modes.slice(0, 2)).toEqual(['input', 'input-pullup']);
    pins.drive(2, 1);
    const f = card.notefiles.state('states.qo')!;
    expect(card.notefiles.pending(f, 10).map((n) => n.body)).toEqual([{ state: [{ input: true, low: true }, { input: true, high: true }], power: true }]);
  });

  it('the other modes are kept and reported; a bad usage or rate is refused; no pins: gpio is refused', () => {
    const { req } = worldCard({ aux: new FakePins() });
    expect(req({ req: 'card.aux', mode: 'neo-monitor', count: 5 })).toEqual({ mode: 'neo-monitor' });
    expect(req({ req: 'card.aux', rate: 9600 })).toEqual({ mode: 'neo-monitor' });
    expect(req({ req: 'card.aux', mode: '-' })).toEqual({ mode: 'off' });
    expect(req({ req: 'card.aux', mode: 'gpio', usage: ['sideways'] }).err).toMatch(/usage.*\{bad-arg\}/);
    expect(req({ req: 'card.aux', rate: 1234 }).err).toMatch(/rate.*\{bad-arg\}/);
    const bare = testCard();
    expect(bare.req({ req: 'card.aux', mode: 'track' })).toEqual({ mode: 'track' });
    expect(bare.req({ req: 'card.aux', mode: 'gpio', usage: ['input'] }).err).toMatch(/no AUX pins/);
  });
});

describe('card.illumination, card.power, card.status usb', () => {
  it('reads the light sensor; without one it is not available', () => {
    expect(worldCard({ light: { lux: () => 8806.4 } }).req({ req: 'card.illumination' })).toEqual({ value: 8806.4 });
    expect(testCard().req({ req: 'card.illumination' })).toEqual({ err: 'illumination sensor is not available' });
  });

  it('card.power reads the monitor, voltage and temperature; reset restarts the mAh count', () => {
    let mah = 3.95;
    const { req } = worldCard({
      power: { voltage: () => 4.2, usb: () => true, milliampHours: () => mah, resetMilliampHours: () => (mah = 0) },
      climate: { read: () => ({ temperature: 26.5 }) },
    });
    expect(req({ req: 'card.power' })).toEqual({ temperature: 26.5, voltage: 4.2, milliamp_hours: 3.95 });
    expect(req({ req: 'card.power', reset: true, minutes: 60 })).toEqual({ temperature: 26.5, voltage: 4.2, milliamp_hours: 0 });
    expect(req({ req: 'card.status' }).usb).toBe(true);
    expect(testCard().req({ req: 'card.power' })).toEqual({});
  });
});
