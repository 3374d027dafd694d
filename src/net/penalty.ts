// The penalty box: after repeated registration failures the modem stops trying for a while, each
// time longer, so a card out of coverage does not spend its battery searching. The first failure
// costs nothing more than the sync engine's retry; from the second consecutive one the card waits
// min minutes, then min * rate^k + add * k minutes, at most max (card.wireless.penalty set/reset).
import type { PenaltyConfig } from '../host';

export const PENALTY_DEFAULTS: Readonly<Required<PenaltyConfig>> = Object.freeze({ min: 15, add: 15, max: 4320, rate: 1.25 });

export class PenaltyBox {
  #config: Required<PenaltyConfig> = { ...PENALTY_DEFAULTS };
  /** Consecutive registration failures. */
  count = 0;
  #first: number | undefined;
  #until = 0;

  configure(config: PenaltyConfig): void {
    const c = { ...PENALTY_DEFAULTS };
    if (config.min !== undefined && config.min >= 0) c.min = config.min;
    if (config.add !== undefined && config.add >= 0) c.add = config.add;
    if (config.max !== undefined && config.max >= 0) c.max = config.max;
    if (config.rate !== undefined && config.rate >= 1) c.rate = config.rate;
    this.#config = c;
  }

  failure(now: number): void {
    this.count++;
    this.#first ??= now;
    if (this.count < 2) return;
    const k = this.count - 2;
    const { min, add, max, rate } = this.#config;
    this.#until = now + Math.min(max, min * rate ** k + add * k) * 60_000;
  }

  success(): void {
    this.reset();
  }

  reset(): void {
    this.count = 0;
    this.#first = undefined;
    this.#until = 0;
  }

  /** Milliseconds left in the box (0: free to try). */
  remaining(now: number): number {
    return Math.max(0, this.#until - now);
  }

  /** The status text while in the box. */
  status(now: number): string {
    const left = this.remaining(now);
    return `network: can't connect (${Math.round(left / 6_000) / 10} min remaining) {registration-failure} {network}`;
  }

  report(now: number): { [key: string]: unknown } {
    const out: { [key: string]: unknown } = { minutes: this.#first === undefined ? 0 : Math.floor((now - this.#first) / 60_000), count: this.count };
    const left = this.remaining(now);
    if (left > 0) {
      out.seconds = Math.ceil(left / 1000);
      out.status = this.status(now);
    }
    return out;
  }
}
