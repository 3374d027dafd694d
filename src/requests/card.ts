// card.* requests about the card itself.
import { API_LEVEL, PRODUCT, VERSION } from '../card';
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { base64Encode } from '../util/base64';
import type { HandlerTable } from './handler';

export const cardRequests: HandlerTable = {
  'card.version': (card) => {
    const [major, minor, patch] = VERSION.split('.').map(Number);
    return {
      body: {
        org: 'opencard project',
        product: 'opencard',
        version: `${PRODUCT}-${VERSION}`,
        ver_major: major,
        ver_minor: minor,
        ver_patch: patch,
        platform: card.host.info.platform,
      },
      version: `${PRODUCT}-${VERSION}`,
      device: card.deviceUID,
      name: 'opencard open Notecard-compatible firmware',
      api: API_LEVEL,
    };
  },

  'card.status': (card) => {
    const reply: JsonObject = { status: '{normal}', connected: false };
    const now = card.epochMs();
    if (now !== undefined) reply.time = Math.floor(now / 1000);
    reply.uptime = Math.floor((card.host.clock.now() - card.bootedAt) / 1000);
    return reply;
  },

  'card.time': (card) => {
    const now = card.epochMs();
    if (now === undefined) fail('time is not yet known: set by the hub on the first sync');
    return { time: Math.floor(now / 1000), zone: 'UTC,Etc/UTC', minutes: 0 };
  },

  'card.random': (card, args): JsonObject => {
    const mode = args.string('mode');
    if (mode !== undefined && mode !== 'payload') fail('mode: must be "payload" when present', 'bad-arg');
    if (mode === 'payload') {
      const count = args.int('count', 1, 4096, 16);
      return { payload: base64Encode(card.host.random.bytes(count)) };
    }
    const count = args.int('count', 1, 0x7fffffff, 0x7fffffff);
    const r = card.host.random.bytes(4);
    const n = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    return { count: n % count };
  },

  'card.restart': (card, _args, exchange) => {
    exchange.after = () => card.options.onRestart?.();
    return {};
  },

  'card.restore': (card, args, exchange) => {
    const wipe = args.bool('delete');
    exchange.after = () => {
      if (wipe) card.factoryReset();
      else card.resetConfiguration();
      card.options.onRestart?.();
    };
    return {};
  },
};
