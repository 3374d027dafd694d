// dfu.status, dfu.get and card.dfu: host firmware updates (the download itself is src/dfu/dfu.ts).
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { DfuOutboard } from '../settings';
import type { DfuKind } from '../sync/dfu';
import { base64Encode } from '../util/base64';
import { md5Hex } from '../util/md5';
import type { Args } from './args';
import type { HandlerTable } from './handler';

/** The most dfu.get returns at once. */
export const DFU_GET_MAX = 8192;
const OUTBOARD_NAMES = Object.freeze(['esp32', 'stm32', 'stm32-bi', 'mcuboot', '-']);

function kindArg(args: Args): DfuKind {
  const name = args.string('name', 'user');
  if (name !== 'user' && name !== 'card') fail('name: must be user or card', 'bad-arg');
  return name;
}

export const dfuRequests: HandlerTable = Object.freeze({
  'dfu.status': (card, args) => {
    const kind = kindArg(args);
    if (args.bool('on') && args.bool('off')) fail('on and off: choose one', 'bad-arg');
    const v = args.value('version');
    if (v !== undefined && typeof v !== 'string' && (typeof v !== 'object' || Array.isArray(v))) fail('version: must be a string or an object', 'bad-arg');
    const vvalue = args.string('vvalue');
    card.dfu.setOptions(kind, {
      on: args.bool('on') ? true : args.bool('off') ? false : undefined,
      vvalue,
      version: v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v),
    });
    if (args.bool('stop')) card.dfu.stop(kind, args.string('status'), args.string('err'));
    return card.dfu.report(kind);
  },

  'dfu.get': (card, args) => {
    const length = args.int('length', 0, DFU_GET_MAX);
    if (length === undefined) fail('length: required (0 checks that the card is in DFU mode)', 'bad-arg');
    const offset = args.int('offset', 0, 0x7fffffff, 0);
    const slot = card.dfu.slot('user');
    if (card.settings.hubMode() !== 'dfu') fail('the card is not in DFU mode: hub.set mode dfu', 'dfu-not-ready');
    if (slot.mode !== 'ready') fail(`no firmware is ready (${slot.mode})`, 'dfu-not-ready');
    if (length === 0) return {};
    const { data, body } = card.dfu.read(offset, length);
    const reply: JsonObject = {};
    // the first request also describes the image, as dfu.status does
    if (offset === 0) reply.body = body;
    if (args.bool('binary')) {
      card.binary.fill(data);
      reply.length = data.length;
      reply.status = md5Hex(data);
      return reply;
    }
    reply.payload = base64Encode(data);
    return reply;
  },

  'card.dfu': (card, args) => {
    const state = card.settings.get('dfu') ?? {};
    const o: DfuOutboard = { ...(state.outboard ?? {}) };
    const name = args.string('name');
    if (name !== undefined) {
      if (!OUTBOARD_NAMES.includes(name)) fail(`name: must be one of ${OUTBOARD_NAMES.join(', ')}`, 'bad-arg');
      if (name === '-') delete o.name;
      else o.name = name;
    }
    if (args.bool('on') && args.bool('off')) fail('on and off: choose one', 'bad-arg');
    if (args.bool('on')) o.on = true;
    if (args.bool('off')) o.on = false;
    const seconds = args.int('seconds', 0, 0x7fffffff);
    if (seconds !== undefined) o.seconds = seconds;
    const mode = args.string('mode');
    if (mode !== undefined) o.mode = mode;
    const now = card.epochMs();
    const t = now === undefined ? 0 : Math.floor(now / 1000);
    if (args.bool('start')) o.started = t;
    if (args.bool('stop')) o.stopped = t;
    card.settings.set('dfu', { ...(card.settings.get('dfu') ?? {}), outboard: o });
    const reply: JsonObject = {};
    if (o.name) reply.name = o.name;
    reply.on = o.on === true;
    if (o.seconds !== undefined) reply.seconds = o.seconds;
    if (o.mode !== undefined) reply.mode = o.mode;
    return reply;
  },
});
