// Supply voltage through an ADC pin (ECMA-419 `embedded:io/analog`) behind a divider: `scale`
// is the supply voltage at the ADC's full-scale reading (e.g. 3.3 V reference x 2 for a 1:1
// divider). Averaged over a few readings: one ADC sample on an ESP32 is noisy.
import type { PowerSense } from '../../../src/world';

export interface AdcPin {
  readonly resolution: number;
  read(): number;
}

const SAMPLES = 8;

export function supplySense(adc: AdcPin, scale: number): PowerSense {
  const full = 2 ** adc.resolution - 1;
  return {
    voltage() {
      let sum = 0;
      for (let i = 0; i < SAMPLES; i++) sum += adc.read();
      return Math.round((sum / SAMPLES / full) * scale * 1000) / 1000;
    },
  };
}
