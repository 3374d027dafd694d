// The AUX pins' runtime state in card.aux gpio mode: usages applied to the pins and edge counters.
import type { JsonObject } from '../json';
import type { AuxPinMode, AuxPins } from '../world';

/** Most count buckets kept per pin (RAM). */
export const MAX_BUCKETS = 100;

function pinMode(usage: string): AuxPinMode {
  if (usage === 'high' || usage === 'low') return 'output';
  if (usage.endsWith('-pullup')) return 'input-pullup';
  if (usage.endsWith('-pulldown')) return 'input-pulldown';
  if (usage === 'input' || usage === 'count') return 'input';
  return 'off';
}

/** The pins' runtime state in gpio mode: usages and edge counters. */
export class AuxGpio {
  readonly pins: AuxPins;
  readonly #now: () => number;
  #usage: string[] = [];
  #counts: number[][] = [];
  #lastEdge: number[] = [];
  #startedAt = 0;
  seconds = 0;
  max = 0;
  debounceMs = 0;
  /** Epoch seconds counting started (when known). */
  startTime: number | undefined;
  /** Called after an input pin changed (sync:true reporting). */
  onInput: (() => void) | undefined;

  readonly #onAnyChange: (() => void) | undefined;

  /** `onAnyChange`: every input change (card.attn auxgpio); the pins have one listener, this. */
  constructor(pins: AuxPins, nowMs: () => number, onAnyChange?: () => void) {
    this.pins = pins;
    this.#now = nowMs;
    this.#onAnyChange = onAnyChange;
    pins.onChange((pin, level) => this.#changed(pin, level));
  }

  get usage(): readonly string[] {
    return this.#usage;
  }

  /** Apply usages to the pins (gpio mode); [] releases them. */
  configure(usage: readonly string[]): void {
    this.#usage = usage.slice(0, this.pins.count);
    for (let pin = 1; pin <= this.pins.count; pin++) {
      const u = this.#usage[pin - 1] ?? 'off';
      this.pins.configure(pin, pinMode(u));
      if (u === 'high' || u === 'low') this.pins.write(pin, u === 'high' ? 1 : 0);
    }
  }

  /** Reset every counter and start counting now. */
  startCounting(epochSeconds: number | undefined): void {
    this.#counts = this.#usage.map(() => [0]);
    this.#lastEdge = this.#usage.map(() => -Infinity);
    this.#startedAt = this.#now();
    this.startTime = epochSeconds;
  }

  counting(): boolean {
    return this.#usage.some((u) => u.startsWith('count'));
  }

  /** The documented per-pin state objects. */
  state(): JsonObject[] {
    return this.#usage.map((u, i): JsonObject => {
      const pin = i + 1;
      if (u === 'high') return { high: true };
      if (u === 'low') return { low: true };
      if (u.startsWith('input')) return this.pins.read(pin) ? { input: true, high: true } : { input: true, low: true };
      if (u.startsWith('count')) return { count: (this.#counts[i] ?? [0]).slice() };
      return {};
    });
  }

  #changed(pin: number, level: 0 | 1): void {
    this.#onAnyChange?.();
    const u = this.#usage[pin - 1] ?? '';
    if (u.startsWith('input')) return this.onInput?.();
    if (!u.startsWith('count') || level !== 1) return;
    const now = this.#now();
    const i = pin - 1;
    if (now - (this.#lastEdge[i] ?? -Infinity) < this.debounceMs) return;
    this.#lastEdge[i] = now;
    const counts = this.#counts[i] ?? (this.#counts[i] = [0]);
    // With buckets, the edge goes in the bucket of its time; past the last one it rolls into it.
    const limit = Math.min(this.max > 0 ? this.max : 1, MAX_BUCKETS);
    let b = this.seconds > 0 ? Math.floor((now - this.#startedAt) / (this.seconds * 1000)) : 0;
    if (b >= limit) b = limit - 1;
    while (counts.length <= b) counts.push(0);
    counts[b]++;
  }
}

