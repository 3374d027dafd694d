// card.wireless, card.wireless.penalty, card.transport: the cellular modem and the choice of link.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { TRANSPORT_METHODS, WIRELESS_MODES, type WirelessConfig } from '../settings';
import type { HandlerTable } from './handler';

function clean(o: { [key: string]: unknown }): JsonObject {
  return JSON.parse(JSON.stringify(o)) as JsonObject;
}

export const wirelessRequests: HandlerTable = Object.freeze({
  'card.wireless': (card, args): JsonObject => {
    const cell = card.cellular;
    if (!cell) fail('card.wireless: this card has no cellular modem', 'not-supported');
    if (args.has('method') || args.has('hours')) fail('card.wireless method: a second SIM is not supported', 'not-supported');
    const mode = args.string('mode');
    if (mode !== undefined && !(WIRELESS_MODES as readonly string[]).includes(mode)) fail(`mode: must be one of ${WIRELESS_MODES.join(', ')}`, 'bad-arg');
    const apn = args.string('apn');
    if (apn !== undefined || mode !== undefined) {
      const w: WirelessConfig = { ...card.settings.get('wireless') };
      if (apn === '-') delete w.apn;
      else if (apn !== undefined) w.apn = apn;
      if (mode === '-') delete w.mode;
      else if (mode !== undefined) w.mode = mode;
      card.settings.set('wireless', w);
      cell.configure(w.apn ?? '', w.mode ?? '');
    }
    return clean(cell.wireless());
  },

  'card.wireless.penalty': (card, args): JsonObject => {
    const cell = card.cellular;
    if (!cell) fail('card.wireless.penalty: this card has no cellular modem', 'not-supported');
    if (args.bool('reset')) cell.resetPenalty();
    if (args.bool('set')) {
      const penalty = { min: args.int('min', 0, 100_000), add: args.int('add', 0, 100_000), max: args.int('max', 0, 100_000), rate: args.number('rate') };
      if (penalty.rate !== undefined && penalty.rate < 1) fail('rate: must be at least 1', 'bad-arg');
      const kept = clean(penalty) as WirelessConfig['penalty'] & JsonObject;
      card.settings.set('wireless', { ...card.settings.get('wireless'), penalty: kept });
      cell.setPenalty(kept);
    }
    return clean(cell.penalty());
  },

  'card.transport': (card, args): JsonObject => {
    const links = card.links;
    const method = args.string('method');
    if (method !== undefined && !(TRANSPORT_METHODS as readonly string[]).includes(method)) fail(`method: must be one of ${TRANSPORT_METHODS.join(', ')}`, 'bad-arg');
    const seconds = args.int('seconds', 0, 7 * 86_400);
    const allow = args.has('allow') ? args.bool('allow') : undefined;
    if (method !== undefined && method !== '-' && links) {
      const wanted = method.split('-').filter((n) => n === 'wifi' || n === 'cell');
      // no host has a Starnote: an NTN fallback adds no link
      const missing = [...wanted.map((n) => `${n} link`), ...(method.endsWith('ntn') ? ['satellite (NTN) module'] : [])];
      if (!wanted.some((n) => links.names.includes(n as 'wifi' | 'cell'))) fail(`method: this card has no ${missing.join(' or ')}`, 'bad-arg');
    }
    if (method !== undefined || seconds !== undefined || allow !== undefined) {
      const t = { ...card.settings.get('transport') };
      if (method === '-') delete t.method;
      else if (method !== undefined && !args.bool('set')) t.method = method;
      if (seconds !== undefined) t.seconds = seconds;
      if (allow !== undefined) t.allow = allow;
      card.settings.set('transport', t);
      if (method !== undefined) card.engine?.reconfigure();
    }
    const t = card.settings.get('transport') ?? {};
    const out: JsonObject = { method: typeof t.method === 'string' ? t.method : '-' };
    if (typeof t.seconds === 'number') out.seconds = t.seconds;
    if (t.allow === true) out.allow = true;
    return out;
  },
});
