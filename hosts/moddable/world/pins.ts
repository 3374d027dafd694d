// ATTN and the AUX pins through ECMA-419 `embedded:io/digital`. A pin's mode is fixed when it
// is opened, so configure() closes and reopens it; inputs report both edges.
import type { AttnPin, AuxPinMode, AuxPins } from '../../../src/world';

/** What the pins need of a digital IO class (embedded:io/digital on a board). */
export interface DigitalPin {
  read(): 0 | 1;
  write(value: 0 | 1): void;
  close(): void;
}
export type OpenPin = (pin: number, mode: AuxPinMode, onChange?: () => void) => DigitalPin;

export function attnPin(open: OpenPin, pin: number): AttnPin {
  const io = open(pin, 'output');
  return { set: (high) => io.write(high ? 1 : 0) };
}

export function auxPins(open: OpenPin, pins: readonly number[]): AuxPins {
  const ios: (DigitalPin | undefined)[] = pins.map(() => undefined);
  const levels: (0 | 1)[] = pins.map(() => 0);
  let listener: ((pin: number, level: 0 | 1) => void) | undefined;
  const index = (pin: number) => {
    if (!Number.isInteger(pin) || pin < 1 || pin > pins.length) throw new RangeError(`no AUX${pin}`);
    return pin - 1;
  };
  return {
    count: pins.length,
    configure(pin, mode) {
      const i = index(pin);
      ios[i]?.close();
      ios[i] = undefined;
      if (mode === 'off') return;
      const io = open(pins[i], mode, mode === 'output' ? undefined : () => {
        const level = io.read();
        if (level === levels[i]) return;
        levels[i] = level;
        listener?.(pin, level);
      });
      ios[i] = io;
      levels[i] = mode === 'output' ? levels[i] : io.read();
    },
    read(pin) {
      const i = index(pin);
      return ios[i] ? ios[i]!.read() : levels[i];
    },
    write(pin, level) {
      const i = index(pin);
      levels[i] = level;
      ios[i]?.write(level);
    },
    onChange(l) {
      listener = l;
    },
  };
}
