// card.* requests about the card itself.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { WifiConfig } from '../settings';
import { base64Encode } from '../util/base64';
import type { HandlerTable } from './handler';
import { PRODUCT, VERSION } from '../version';

export const cardRequests: HandlerTable = Object.freeze({
  'card.version': (card) => {
    // a card image installed through DFU names the version the card now runs
    const version = card.dfu.runningVersion() ?? VERSION;
    const [major, minor, patch] = version.split('.').map((x) => Number(x) || 0);
    return {
      body: {
        org: 'opencard project',
        product: 'opencard',
        version: `${PRODUCT}-${version}`,
        ver_major: major,
        ver_minor: minor,
        ver_patch: patch,
        // the documented "target" names the hardware the firmware runs on
        target: card.platform,
      },
      version: `${PRODUCT}-${version}`,
      device: card.deviceUID(),
      name: 'opencard open Notecard-compatible firmware',
    };
  },

  'card.status': (card) => {
    const connected = card.engine?.connection().connected === true;
    const reply: JsonObject = { status: '{normal}', usb: card.world.power?.usb?.() === true, connected };
    // "time" is when the card started
    const now = card.epochMs();
    if (now !== undefined) reply.time = Math.floor(now / 1000) - card.uptimeSeconds();
    // Percent of the flash the store holds (the Notecard's "storage").
    reply.storage = card.storagePercent();
    if (card.engine?.running) reply.sync = true;
    return reply;
  },

  'card.time': (card) => {
    const now = card.epochMs();
    if (now === undefined) fail('time is not yet set: the hub sets it on the first sync', 'no-time');
    return { time: Math.floor(now / 1000), zone: 'UTC,Etc/UTC', minutes: 0 };
  },

  'card.random': (card, args): JsonObject => {
    const mode = args.string('mode');
    if (mode !== undefined && mode !== 'payload') fail('mode: must be "payload" when present', 'bad-arg');
    if (mode === 'payload') {
      const count = args.int('count', 1, 4096, 16);
      return { payload: base64Encode(card.random.bytes(count)) };
    }
    const count = args.int('count', 1, 0x7fffffff, 0x7fffffff);
    const r = card.random.bytes(4);
    const n = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
    return { count: n % count };
  },

  // Wi-Fi credentials for hosts that reach the hub over Wi-Fi (the Moddable host reads them).
  // The password is stored, never echoed.
  'card.wifi': (card, args): JsonObject => {
    if (args.bool('start')) fail('card.wifi start: the configuration access point is not supported', 'not-supported');
    let wifi: WifiConfig = { ...card.settings.get('wifi') };
    const text = args.string('text');
    if (text !== undefined) {
      // "text" lists networks as ["ssid","password"] pairs; the first one is used.
      let first: unknown;
      try {
        first = JSON.parse(`[${text}]`)[0];
      } catch {
        fail('text: must be ["ssid","password"] pairs', 'bad-arg');
      }
      if (!Array.isArray(first) || typeof first[0] !== 'string') fail('text: must be ["ssid","password"] pairs', 'bad-arg');
      wifi = { ssid: first[0], password: typeof first[1] === 'string' ? first[1] : '' };
    }
    const ssid = args.string('ssid');
    if (ssid === '-') wifi = {};
    else if (ssid !== undefined) wifi = { ssid, password: args.string('password', '') };
    if (args.has('ssid') || args.has('text')) card.settings.set('wifi', Object.keys(wifi).length ? wifi : undefined);
    return typeof wifi.ssid === 'string' ? { ssid: wifi.ssid, secure: wifi.password !== '' } : {};
  },

  'card.restart': (card, _args, exchange) => {
    exchange.after = () => card.restart();
    return {};
  },

  'card.restore': (card, args, exchange) => {
    // Done before the reply, so that {} means it is on flash and a failure is an error reply,
    // never an exception after the reply; only the restart waits until the reply is out.
    if (args.bool('delete')) card.factoryReset();
    else card.resetConfiguration();
    exchange.after = () => card.restart();
    return {};
  },
});
