// hub.set / hub.get: where and how the card syncs. The configuration is declared in src/settings.ts;
// the sync itself lives in src/sync.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { HEALTH_LOG_FILE, textError } from '../rules/names';
import { HUB_BOOL_FIELDS, HUB_MINUTE_FIELDS, HUB_MODES, HUB_STRING_FIELDS, type HubConfig } from '../settings';
import type { Args } from './args';
import type { HandlerTable } from './handler';


const STRING_FIELDS = HUB_STRING_FIELDS;
const MINUTE_FIELDS = HUB_MINUTE_FIELDS;
const BOOL_FIELDS = HUB_BOOL_FIELDS;

function applyHubSet(config: HubConfig, args: Args): void {
  for (const f of STRING_FIELDS) {
    const v = args.string(f);
    if (v === undefined) continue;
    // the sync's handshake carries these: longer ones could never be sent
    const tooLong = (f === 'product' || f === 'sn') ? textError(f, v) : undefined;
    if (tooLong !== undefined) fail(tooLong, 'bad-arg');
    // "-" resets a field to its default, as on the Notecard.
    if (v === '' || v === '-') delete config[f];
    else config[f] = v;
  }
  for (const f of MINUTE_FIELDS) {
    const v = args.int(f, -1, 525600);
    if (v === undefined) continue;
    if (v <= 0) delete config[f];
    else config[f] = v;
  }
  for (const f of BOOL_FIELDS) if (args.has(f)) config[f] = args.bool(f);
  const mode = args.string('mode');
  if (mode !== undefined) {
    if (mode === '-') delete config.mode;
    else if (!(HUB_MODES as readonly string[]).includes(mode)) fail(`mode: must be one of ${HUB_MODES.join(', ')}`, 'bad-arg');
    else config.mode = mode;
  }
}

export const hubRequests: HandlerTable = Object.freeze({
  'hub.set': (card, args) => {
    // Host libraries add a user-agent "body": remember it for the hub, it configures nothing.
    const ua = args.object('body');
    const before = card.settings.hub();
    const config = { ...before };
    applyHubSet(config, args);
    if (ua) config.agent = ua;
    card.settings.set('hub', config);
    // Another hub (or product): the card may introduce itself (provision) afresh.
    if (config.host !== before.host || config.product !== before.product) card.settings.set('sync', undefined);
    card.engine?.reconfigure();
    if (args.bool('sync')) card.sync.request();
    return {};
  },

  'hub.sync': (card, args) => {
    if (!card.engine) fail('this card has no network to sync over', 'not-supported');
    if (card.settings.hubMode() === 'off') fail('hub.set mode is off', 'hub-mode');
    card.engine.request();
    return {};
  },

  'hub.sync.status': (card) => {
    if (!card.engine) fail('this card has no network to sync over', 'not-supported');
    return card.engine.status();
  },

  'hub.status': (card) => {
    if (!card.engine) fail('this card has no network to sync over', 'not-supported');
    return card.engine.connection();
  },

  // A device health message for the hub, in the system notefile the Notecard uses for it.
  'hub.log': (card, args) => {
    const text = args.string('text');
    if (text === undefined || text === '') fail('text: the message to log is required', 'bad-arg');
    const body: JsonObject = { text };
    if (args.bool('alert')) body.alert = true;
    card.notefiles.add(HEALTH_LOG_FILE, { body }, true);
    if (args.bool('sync')) card.sync.request();
    return {};
  },

  'hub.get': (card) => {
    const config = card.settings.hub();
    const reply: JsonObject = { device: card.deviceUID(), mode: card.settings.hubMode() };
    for (const f of [...STRING_FIELDS, ...MINUTE_FIELDS, ...BOOL_FIELDS]) if (config[f] !== undefined) reply[f] = config[f];
    return reply;
  },
});
