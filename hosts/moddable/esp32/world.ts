// The parts of the card's world an ESP32 board has, from the manifest's config (override on the
// mcconfig command line, e.g. `attnPin=5 i2cData=21 i2cClock=22`). A part whose pins are not
// configured, or that does not answer, is absent: the card answers as a Notecard without it.
import Analog from 'embedded:io/analog';
import Digital from 'embedded:io/digital';
import I2C from 'embedded:io/i2c';
import config from 'mc/config';
import type { World } from '../../../src/world';
import { configNumber } from '../main';
import { openUart } from '../serial';
import { nmeaGnss } from '../world/gnss';
import { Lis3dh, type Schedule } from '../world/lis3dh';
import { attnPin, auxPins, type OpenPin } from '../world/pins';
import { supplySense } from '../world/supply';

const settings = config as Record<string, unknown>;
const pin = (key: string): number | undefined => {
  const n = configNumber(settings[key], -1);
  return n >= 0 ? n : undefined;
};

const MODES = { input: Digital.Input, 'input-pullup': Digital.InputPullUp, 'input-pulldown': Digital.InputPullDown, output: Digital.Output };
const openPin: OpenPin = (at, mode, onChange) =>
  onChange
    ? new Digital({ pin: at, mode: MODES[mode as keyof typeof MODES], edge: Digital.Rising | Digital.Falling, onReadable: onChange })
    : new Digital({ pin: at, mode: MODES[mode as keyof typeof MODES] });

export function openWorld(schedule: Schedule, log: (message: string) => void): World {
  const world: World = {};
  const part = (name: string, open: () => void) => {
    try {
      open();
    } catch (e) {
      log(`${name}: absent (${(e as Error).message})`);
    }
  };
  const voltage = pin('voltagePin');
  if (voltage !== undefined) {
    part('supply voltage', () => (world.power = supplySense(new Analog({ pin: voltage }), configNumber(settings.voltageScale, 6.6))));
  }
  const data = pin('i2cData');
  const clock = pin('i2cClock');
  if (data !== undefined && clock !== undefined) {
    const address = configNumber(settings.accelAddress, 0x18);
    part('accelerometer', () => (world.accelerometer = new Lis3dh(new I2C({ data, clock, hz: 400_000, address }), schedule)));
  }
  const gnssReceive = pin('gnssReceive');
  if (gnssReceive !== undefined) {
    part('gnss', () => {
      const uart = openUart({ port: configNumber(settings.gnssPort, 2), receive: gnssReceive, transmit: pin('gnssTransmit'), baud: configNumber(settings.gnssBaud, 9600) });
      world.gnss = nmeaGnss(uart);
    });
  }
  const attn = pin('attnPin');
  if (attn !== undefined) part('attn', () => (world.attn = attnPin(openPin, attn)));
  const aux = String(settings.auxPins ?? '').split(',').filter((s) => s.trim() !== '').map(Number);
  if (aux.length && aux.every((n) => Number.isInteger(n) && n >= 0)) part('aux', () => (world.aux = auxPins(openPin, aux)));
  return world;
}
