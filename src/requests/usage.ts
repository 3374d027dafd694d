// card.usage.get / card.usage.test: the traffic the sync engine has counted (the `usage` setting).
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { countsOf, sumCounts, type UsageCounts, type UsageRecord } from '../settings';
import type { Args } from './args';
import type { RequestContext } from './context';
import type { HandlerTable } from './handler';

const NONE: UsageCounts = Object.freeze({ bytes_sent: 0, bytes_received: 0, notes_sent: 0, notes_received: 0, sessions: 0 });
const HOUR = 3600;
const DAY = 86400;

function record(card: RequestContext): UsageRecord {
  card.engine?.flushUsage();
  return card.settings.get('usage') ?? {};
}

/** The counts of periods [from, to] (indexes) of a history. */
function sumHistory(history: number[][] | undefined, from: number, to: number): UsageCounts {
  let c = NONE;
  for (const e of history ?? []) if (e[0] >= from && e[0] <= to) c = sumCounts(c, countsOf(e));
  return c;
}

function countMembers(c: UsageCounts): JsonObject {
  // Every session of the sync protocol is encrypted and authenticated (docs/SYNC.md): "secure".
  return {
    bytes_sent: c.bytes_sent,
    bytes_received: c.bytes_received,
    notes_sent: c.notes_sent,
    notes_received: c.notes_received,
    sessions_standard: 0,
    sessions_secure: c.sessions,
  };
}

function nowSeconds(card: RequestContext): number | undefined {
  const ms = card.epochMs();
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

export const usageRequests: HandlerTable = Object.freeze({
  'card.usage.get': (card, args: Args) => {
    const mode = args.string('mode', 'total');
    const offset = args.int('offset', 0, 100000, 0);
    const u = record(card);
    const now = nowSeconds(card);
    if (mode === 'total') {
      const reply: JsonObject = {};
      if (u.since !== undefined) {
        reply.time = u.since;
        if (now !== undefined) reply.seconds = Math.max(0, now - u.since);
      }
      return { ...reply, ...countMembers(u.total ?? NONE) };
    }
    // A period: the hour or day `offset` periods back; 30day = the 30 days before that.
    let unit: number;
    let span: number;
    let history: number[][] | undefined;
    if (mode === '1hour') [unit, span, history] = [HOUR, 1, u.hours];
    else if (mode === '1day') [unit, span, history] = [DAY, 1, u.days];
    else if (mode === '30day') [unit, span, history] = [DAY, 30, u.days];
    else fail('mode: must be total, 1hour, 1day or 30day', 'bad-arg');
    if (now === undefined) return { seconds: unit * span, ...countMembers(NONE) };
    const last = Math.floor(now / unit) - offset * span;
    const first = last - span + 1;
    return { seconds: unit * span, time: first * unit, ...countMembers(sumHistory(history, first, last)) };
  },

  /** How long a data quota of `megabytes` lasts at the rate of the last `days` (or `hours`), or of the whole life. */
  'card.usage.test': (card, args: Args) => {
    const days = args.int('days', 1, 365);
    const hours = args.int('hours', 1, 24 * 365);
    const megabytes = args.int('megabytes', 1, 1_000_000, 1024);
    const u = record(card);
    const now = nowSeconds(card);
    let seconds: number;
    let c: UsageCounts;
    if (hours !== undefined && days === undefined) {
      seconds = hours * HOUR;
      c = now === undefined ? NONE : sumHistory(u.hours, Math.floor(now / HOUR) - hours + 1, Math.floor(now / HOUR));
    } else if (days !== undefined) {
      seconds = days * DAY;
      c = now === undefined ? NONE : sumHistory(u.days, Math.floor(now / DAY) - days + 1, Math.floor(now / DAY));
    } else {
      seconds = u.since !== undefined && now !== undefined ? Math.max(HOUR, now - u.since) : DAY;
      c = u.total ?? NONE;
    }
    const perDay = Math.ceil(((c.bytes_sent + c.bytes_received) * DAY) / seconds);
    const quota = megabytes * 1024 * 1024;
    const reply: JsonObject = {
      max: Math.floor(quota / Math.max(1, perDay)),
      days: Math.floor(seconds / DAY),
      bytes_per_day: perDay,
      seconds,
    };
    if (u.since !== undefined) reply.time = u.since;
    return { ...reply, ...countMembers(c) };
  },
});
