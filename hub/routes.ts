/**
 * Route delivery: POSTs each queued event (JSON) to its route's URL. The queue lives in the
 * store, so nothing is lost across restarts; failures retry with exponential backoff.
 *
 * Routes are delivered independently: each route sends its own due deliveries (a few at a
 * time) and takes the next batch when they are answered, so a slow or hung URL holds up only
 * its own route. Requests in flight are bounded per route, per project and in all, so one
 * tenant's routes cannot take every slot, and each request has a time limit.
 */
import type { Hub } from './hub';
import { describe } from './http';
import { createHash } from 'node:crypto';
import type { DeliveryRecord, EventRecord, PublisherSettings, RouteRecord } from './store/types';

export interface DeliveryOptions {
  /** poll interval when idle, ms (new events also wake the worker at once) */
  pollMs?: number;
  /** first retry delay, ms; doubles each attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** after this many failed attempts the delivery is kept but marked dead */
  maxAttempts?: number;
  /** one request's time limit, ms */
  timeoutMs?: number;
  /** requests in flight for one route */
  perRoute?: number;
  /** requests in flight for all the routes of one project */
  perProject?: number;
  /** requests in flight in all */
  concurrency?: number;
}

export class RouteDelivery {
  readonly #hub: Hub;
  readonly #o: Required<DeliveryOptions>;
  #timer: NodeJS.Timeout | null = null;
  #scanning = false;
  #again = false;
  #stopped = false;
  #soon: NodeJS.Timeout | null = null;
  /** routes with requests in flight */
  readonly #busy = new Set<string>();
  readonly #perProject = new Map<string, number>();
  #inFlight = 0;
  readonly #batches = new Set<Promise<void>>();
  /** stop() cuts requests in flight short */
  readonly #abort = new AbortController();
  /** new events wake the worker, coalesced so a burst of ingests costs one pass */
  readonly #wake = (): void => {
    if (this.#soon || this.#stopped) return;
    this.#soon = setTimeout(() => { this.#soon = null; this.kick(); }, 25);
  };

  readonly #log: (line: string) => void;

  /** `log` is startHub's log option. */
  constructor(hub: Hub, opts: DeliveryOptions, log: (line: string) => void) {
    this.#hub = hub;
    this.#log = log;
    this.#o = { pollMs: 1000, baseDelayMs: 1000, maxDelayMs: 3600_000, maxAttempts: 20, timeoutMs: 10_000, perRoute: 4, perProject: 8, concurrency: 32, ...opts };
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
    this.#abort.abort();
    while (this.#scanning) await new Promise((r) => setTimeout(r, 10));
    await Promise.all([...this.#batches]);
  }

  /** Look for due deliveries now (or right after the look in progress). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#scanning) { this.#again = true; return; }
    void this.#scan();
  }

  /** The backoff before attempt n+1 (n failed so far): base * 2^(n-1), capped, with 10% jitter. */
  delayAfter(failures: number): number {
    const d = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.max(0, failures - 1));
    return d * (0.9 + Math.random() * 0.2);
  }

  /** Start a batch for every idle route with due deliveries, as far as the limits allow. */
  async #scan(): Promise<void> {
    this.#scanning = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      do {
        this.#again = false;
        const now = this.#hub.now() / 1000;
        for (const r of await this.#hub.routes.dueRoutes(now)) {
          if (this.#stopped || this.#inFlight >= this.#o.concurrency) break;
          if (this.#busy.has(r.routeUID)) continue;
          const room = Math.min(this.#o.perRoute, this.#o.perProject - (this.#perProject.get(r.projectUID) ?? 0), this.#o.concurrency - this.#inFlight);
          if (room <= 0) continue;
          const due = await this.#hub.routes.dueDeliveries(now, room, r.routeUID);
          if (due.length) this.#send(r.routeUID, r.projectUID, due);
        }
      } while (this.#again && !this.#stopped);
    } catch (e) {
      if (!this.#stopped) this.#log(`hub: route delivery pass failed: ${describe(e)}`);
    } finally {
      this.#scanning = false;
      if (!this.#stopped) this.#timer = setTimeout(() => this.kick(), this.#o.pollMs).unref();
    }
  }

  /** One route's batch; when it is answered, look again (this route may have more, others room). */
  #send(route: string, project: string, due: DeliveryRecord[]): void {
    const n = due.length;
    this.#busy.add(route);
    this.#perProject.set(project, (this.#perProject.get(project) ?? 0) + n);
    this.#inFlight += n;
    const batch: Promise<void> = this.#hub.routes.routeIn(project, route).then((rec) => Promise.all(due.map((d) => this.#deliver(d, rec))))
      .then(() => undefined, (e: unknown) => { if (!this.#stopped) this.#log(`hub: route delivery failed: ${describe(e)}`); })
      .finally(() => {
        this.#busy.delete(route);
        const left = (this.#perProject.get(project) ?? n) - n;
        if (left > 0) this.#perProject.set(project, left); else this.#perProject.delete(project);
        this.#inFlight -= n;
        this.#batches.delete(batch);
        this.kick();
      });
    this.#batches.add(batch);
  }

  async #deliver(d: DeliveryRecord, route: RouteRecord): Promise<void> {
    const e = JSON.parse(d.eventJSON) as EventRecord;
    const answer = route.type === 'notehub' && route.publisher ? await this.#publish(d.url, route.publisher, e) : await this.#post(d.url, d.headers, d.eventJSON);
    const log = {
      projectUID: route.projectUID, routeUID: route.uid, eventUID: d.eventUID, deviceUID: e.device, file: e.file, captured: e.when,
      attempt: d.attempts + 1, url: d.url, ...answer, dead: false,
    };
    if (answer.error === null) {
      await this.#hub.routes.deliveryDone(d.id);
      return this.#hub.routes.delivered(log);
    }
    // cut short by stop(): due again after a restart, not a failed attempt
    if (this.#stopped) return;
    const failures = d.attempts + 1;
    const dead = failures >= this.#o.maxAttempts;
    await this.#hub.routes.deliveryRetry(d.id, this.delayAfter(failures), answer.error, dead);
    await this.#hub.routes.delivered({ ...log, dead });
  }

  /**
   * A notehub route: the event as a Markdown note, POSTed to a NoteHub API server (version 1.3)
   * signed as the route's publisher. Delivered when the server says status.success.
   */
  async #publish(url: string, pub: PublisherSettings, e: EventRecord): Promise<Answer> {
    const note = eventNote(e);
    const form = new URLSearchParams({ note, pid: pub.pid, signature: createHash('md5').update(pub.pid + pub.psk + note, 'utf8').digest('hex'), version: '1.3' });
    try {
      const res = await fetch(url, {
        method: 'POST', body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
      });
      // the answer is small JSON; a larger one is not a NoteHub server's
      const body = await head(res, 64 * 1024);
      const text = body.slice(0, ANSWER_HEAD);
      let status: { success?: unknown; comment?: unknown } | undefined;
      try { status = (JSON.parse(body) as { status?: typeof status }).status; } catch { /* not JSON */ }
      if (status?.success === true) return { status: res.status, error: null, text };
      return { status: res.status, error: `HTTP ${res.status}${typeof status?.comment === 'string' ? `: ${status.comment.slice(0, 200)}` : ''}`, text };
    } catch (e) {
      return failed(e);
    }
  }

  /** Delivered on a 2xx answer. */
  async #post(url: string, headers: { [k: string]: string }, body: string): Promise<Answer> {
    try {
      const res = await fetch(url, {
        method: 'POST', body, headers: { ...headers, 'Content-Type': 'application/json' },
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]),
      });
      return { status: res.status, error: res.ok ? null : `HTTP ${res.status}`, text: await head(res, ANSWER_HEAD) };
    } catch (e) {
      return failed(e);
    }
  }
}

/** What a route's URL answered: its status (null: no answer), why it was not delivered (null: it was), the start of its body. */
interface Answer { status: number | null; error: string | null; text: string }

const failed = (e: unknown): Answer => ({ status: null, error: e instanceof Error ? e.message : String(e), text: '' });

/** The route log keeps this much of an answer's body. */
const ANSWER_HEAD = 1024;
/** How long an answer's body is read for the log once its status is in, ms: a slow body holds up no delivery. */
const ANSWER_WAIT_MS = 1000;

/** The first `max` bytes of the body as text, as far as they come in ANSWER_WAIT_MS; the rest is neither waited for nor held. */
async function head(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const stop = setTimeout(() => void reader.cancel().catch(() => undefined), ANSWER_WAIT_MS);
  const parts: Uint8Array[] = [];
  let got = 0;
  try {
    while (got < max) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
    }
  } catch { /* cut off: what came is kept */ }
  clearTimeout(stop);
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

/** An event as a note: a title naming the device and notefile, then its body as JSON. */
export function eventNote(e: EventRecord): string {
  const when = new Date(e.when * 1000).toISOString();
  const body = JSON.stringify(e.body ?? {}, null, 2);
  // a fence longer than any run of tildes in the body, so the body cannot close it
  let fence = '~~~';
  while (body.includes(fence)) fence += '~';
  return `# ${e.sn || e.device} ${e.file}\n\n${e.device}, ${when}\n\n${fence}json\n${body}\n${fence}\n`;
}
