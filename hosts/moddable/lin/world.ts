// The lin board is a simulator, so its world is the simulated one the Node simulator has
// (src/sensing/sim-world.ts): a supply (battery or USB), a temperature/humidity/pressure sensor,
// an accelerometer, a GNSS receiver, light, ATTN and four AUX pins. Start values come from the
// build config, like the Node simulator's flags (`mcconfig ... voltage=3.7 usb=1 temperature=30
// lat=42.36 lon=-71.06 orientation=face-down signal=0`); a value that does not parse is logged
// and left at its default.
import config from 'mc/config';
import Time from 'time';
import { ORIENTATIONS, SCALARS, SimWorld, type WorldValues } from '../../../src/sensing/sim-world';
import type { Orientation } from '../../../src/world';
import { configNumber } from '../main';

const flag = (v: unknown): boolean | undefined => (v === undefined || v === '' ? undefined : v === true || v === 1 || v === '1' || v === 'true');

export function startValues(settings: Record<string, unknown>, log: (message: string) => void): WorldValues {
  const start: WorldValues = {};
  for (const k of [...SCALARS, 'lat', 'lon'] as const) {
    const n = configNumber(settings[k], NaN);
    if (Number.isFinite(n)) start[k] = n;
    else if (settings[k] !== undefined) log(`world: ${k} ${String(settings[k])} is not a number`);
  }
  if ((start.lat === undefined) !== (start.lon === undefined)) {
    log('world: lat and lon go together');
    delete start.lat;
    delete start.lon;
  }
  const usb = flag(settings.usb);
  if (usb !== undefined) start.usb = usb;
  const signal = flag(settings.signal);
  if (signal !== undefined) start.signal = signal;
  const o = settings.orientation;
  if (typeof o === 'string' && o !== '') {
    if (ORIENTATIONS.includes(o as Orientation)) start.orientation = o as Orientation;
    else log(`world: orientation ${o} is not one of ${ORIENTATIONS.join(', ')}`);
  }
  return start;
}

export function openWorld(_schedule: unknown, log: (message: string) => void): SimWorld {
  const start = startValues(config as Record<string, unknown>, log);
  try {
    return new SimWorld(start, () => Time.ticks, () => Date.now());
  } catch (e) {
    log(`world: ${(e as Error).message}; default values`);
    return new SimWorld({}, () => Time.ticks, () => Date.now());
  }
}
