/**
 * Route delivery: POSTs each queued event (JSON) to its route's URL. The queue lives in the
 * store, so nothing is lost across restarts; failures retry with exponential backoff.
 */
import type { Hub } from './hub';

export interface DeliveryOptions {
  /** poll interval when idle, ms (new events also wake the worker at once) */
  pollMs?: number;
  /** first retry delay, ms; doubles each attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** after this many failed attempts the delivery is kept but marked dead */
  maxAttempts?: number;
  timeoutMs?: number;
  batch?: number;
}

export class RouteDelivery {
  readonly #hub: Hub;
  readonly #o: Required<DeliveryOptions>;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #again = false;
  #stopped = false;
  #soon: NodeJS.Timeout | null = null;
  /** new events wake the worker, coalesced so a burst of ingests costs one pass */
  readonly #wake = (): void => {
    if (this.#soon || this.#stopped) return;
    this.#soon = setTimeout(() => { this.#soon = null; this.kick(); }, 25);
  };

  constructor(hub: Hub, opts: DeliveryOptions = {}) {
    this.#hub = hub;
    this.#o = { pollMs: 1000, baseDelayMs: 1000, maxDelayMs: 3600_000, maxAttempts: 20, timeoutMs: 10_000, batch: 16, ...opts };
  }

  start(): void {
    this.#hub.on('events', this.#wake);
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#hub.off('events', this.#wake);
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    while (this.#running) await new Promise((r) => setTimeout(r, 10));
  }

  /** Run a pass now (or right after the one in progress). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) { this.#again = true; return; }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#pass();
  }

  /** The backoff before attempt n+1 (n failed so far): base * 2^(n-1), capped, with 10% jitter. */
  delayAfter(failures: number): number {
    const d = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.max(0, failures - 1));
    return d * (0.9 + Math.random() * 0.2);
  }

  async #pass(): Promise<void> {
    this.#running = true;
    try {
      for (;;) {
        this.#again = false;
        const due = await this.#hub.store.dueDeliveries(Date.now() / 1000, this.#o.batch);
        await Promise.all(due.map(async (d) => {
          const error = await this.#post(d.url, d.headers, d.eventJSON);
          if (error === null) return this.#hub.store.deliveryDone(d.id);
          const failures = d.attempts + 1;
          const dead = failures >= this.#o.maxAttempts;
          return this.#hub.store.deliveryRetry(d.id, (Date.now() + this.delayAfter(failures)) / 1000, error, dead);
        }));
        if (this.#stopped || (due.length < this.#o.batch && !this.#again)) break;
      }
    } catch (e) {
      if (!this.#stopped) console.error('hub: route delivery pass failed:', e);
    } finally {
      this.#running = false;
      if (!this.#stopped) this.#timer = setTimeout(() => this.kick(), this.#o.pollMs).unref();
    }
  }

  /** null on a 2xx answer, else what went wrong. */
  async #post(url: string, headers: { [k: string]: string }, body: string): Promise<string | null> {
    try {
      const res = await fetch(url, {
        method: 'POST', body, headers: { ...headers, 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
}
