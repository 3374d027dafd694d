// Voltage modes and voltage-variable values (card.voltage, hub.set voutbound/vinbound,
// card.location.mode vseconds, card.temp status): pure functions, plus a bounded history.

/** This card's named threshold tables (card.voltage mode), checked in order: the first entry
 * the voltage reaches names the mode. */
export const VOLTAGE_TABLES: Readonly<Record<string, string>> = Object.freeze({
  default: 'usb:4.6;high:4.0;normal:3.5;low:3.2;dead:0',
  lipo: 'usb:4.6;high:4.0;normal:3.5;low:3.2;dead:0',
  alkaline: 'usb:4.6;high:4.2;normal:3.6;low:3.3;dead:0',
  l91: 'usb:4.6;high:4.4;normal:3.9;low:3.5;dead:0',
  tad: 'usb:4.6;normal:3.2;low:3.0;dead:0',
  lic: 'usb:4.6;high:3.8;normal:3.1;low:2.9;dead:0',
});

export interface VariableEntry {
  /** usb, high, normal, low, dead; '' for a default value without a name. */
  name: string;
  value: number;
}

/** "usb:4.6;high:4.0;...;720" -> entries; undefined when a part is not name:number or number. */
export function parseVariable(spec: string): VariableEntry[] | undefined {
  const out: VariableEntry[] = [];
  for (const part of spec.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const colon = p.indexOf(':');
    const name = colon < 0 ? '' : p.slice(0, colon).trim();
    const text = colon < 0 ? p : p.slice(colon + 1).trim();
    const value = Number(text);
    if (text === '' || !Number.isFinite(value)) return undefined;
    out.push({ name, value });
  }
  return out.length > 0 ? out : undefined;
}

/** The mode a voltage falls in under `thresholds` ("usb" needs USB power when the host knows it). */
export function voltageMode(thresholds: VariableEntry[], volts: number, usb: boolean | undefined): string {
  for (const t of thresholds) {
    if (t.name === '') continue;
    if (t.name === 'usb') {
      if (usb === true || (usb === undefined && volts >= t.value)) return 'usb';
      continue;
    }
    if (volts >= t.value) return t.name;
  }
  return 'dead';
}

/** The value a voltage-variable spec gives in `mode`: its named entry, else its unnamed default. */
export function variableValue(spec: string, mode: string): number | undefined {
  const entries = parseVariable(spec);
  if (!entries) return undefined;
  let fallback: number | undefined;
  for (const e of entries) {
    if (e.name === mode) return e.value;
    if (e.name === '') fallback = e.value;
  }
  return fallback;
}

/** Hourly voltage averages, newest last, at most `capacity` of them (720 = 30 days). */
export class VoltageHistory {
  readonly #hours: number[] = [];
  readonly #capacity: number;
  #sum = 0;
  #count = 0;

  constructor(capacity = 720) {
    this.#capacity = capacity;
  }

  /** One reading within the current hour. */
  add(volts: number): void {
    this.#sum += volts;
    this.#count++;
  }

  /** The hour ended: keep its average. */
  closeHour(): void {
    if (this.#count === 0) return;
    this.#hours.push(this.#sum / this.#count);
    if (this.#hours.length > this.#capacity) this.#hours.shift();
    this.#sum = 0;
    this.#count = 0;
  }

  /** Analysis of up to `hours` hours, `offset` hours back, ignoring readings outside [vmin, vmax]. */
  analyse(hours: number, offset: number, vmin: number, vmax: number): { hours: number; vmin?: number; vmax?: number; vavg?: number; daily?: number; weekly?: number; monthly?: number } {
    const end = Math.max(0, this.#hours.length - offset);
    const window: number[] = [];
    for (const v of this.#hours.slice(Math.max(0, end - hours), end)) if (v >= vmin && v <= vmax) window.push(v);
    if (window.length === 0) return { hours: 0 };
    let lo = Infinity;
    let hi = -Infinity;
    let sum = 0;
    for (const v of window) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      sum += v;
    }
    const out: { hours: number; vmin?: number; vmax?: number; vavg?: number; daily?: number; weekly?: number; monthly?: number } = {
      hours: window.length,
      vmin: round3(lo),
      vmax: round3(hi),
      vavg: round3(sum / window.length),
    };
    // change of the n-hour moving average from the window's start to its end
    const trend = (n: number) => (window.length >= n ? round3(mean(window, window.length - n) - mean(window, 0, n)) : undefined);
    const d = trend(24);
    const w = trend(168);
    const m = trend(720);
    if (d !== undefined) out.daily = d;
    if (w !== undefined) out.weekly = w;
    if (m !== undefined) out.monthly = m;
    return out;
  }
}

function mean(xs: number[], from: number, to = xs.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  return s / (to - from);
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
