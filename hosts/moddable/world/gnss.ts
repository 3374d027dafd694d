// A GNSS receiver on its own UART speaking NMEA 0183: bytes go to the core's parser
// (src/sensing/nmea.ts), which keeps the latest fix.
import type { Serial } from '../../../src/host';
import { NmeaReader } from '../../../src/sensing/nmea';
import type { Gnss, GnssFix } from '../../../src/world';

export function nmeaGnss(uart: Serial): Gnss {
  let listener: ((fix: GnssFix) => void) | undefined;
  const reader = new NmeaReader((fix) => listener?.(fix));
  uart.onBytes((bytes) => reader.push(bytes));
  return {
    fix: () => reader.fix(),
    onFix(l) {
      listener = l;
    },
  };
}
