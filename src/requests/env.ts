// env.get / env.set / env.default / env.modified: the card's environment variables.
import { fail } from '../errors';
import type { Json, JsonObject } from '../json';
import { utf8Encode } from '../util/utf8';
import type { Args } from './args';
import type { HandlerTable } from './handler';
import { setConfig } from './card-config';

/** The largest env.template body kept (JSON bytes). */
const MAX_ENV_TEMPLATE = 1024;

/** Bytes one env.template hint takes as a fixed-length field. Type hints as in note.template;
 * a plain sample value stands for its type (an integer 4 bytes, any other number 8, a string its length). */
function envHintBytes(name: string, v: Json): number {
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') {
    const sizes: Record<string, number> = { '11': 1, '12': 2, '13': 3, '14': 4, '18': 8, '21': 1, '22': 2, '23': 3, '24': 4, '12.1': 2, '14.1': 4, '18.1': 8 };
    return sizes[String(v)] ?? (Number.isInteger(v) ? 4 : 8);
  }
  if (typeof v === 'string') {
    const n = Number(v);
    return v !== '' && Number.isInteger(n) && n > 0 ? n : utf8Encode(v).length;
  }
  fail(`body: ${name}: an environment variable template value must be a boolean, a number or a string`, 'bad-arg');
}

function nameArg(args: Args): string {
  const name = args.string('name');
  if (name === undefined || name === '') fail('name: the variable name is required', 'bad-arg');
  if (utf8Encode(name).length > 100) fail('name: at most 100 bytes', 'bad-arg');
  return name;
}

/** A `time` argument: "only if modified after". */
function unchangedSince(args: Args, modified: number): boolean {
  const since = args.number('time');
  return since !== undefined && modified <= since;
}

export const envRequests: HandlerTable = Object.freeze({
  'env.get': (card, args) => {
    const env = card.env;
    const modified = env.modified();
    if (unchangedSince(args, modified)) fail('environment variables have not been modified since then', 'env-noop');
    const reply: JsonObject = {};
    const name = args.string('name');
    const names = args.strings('names');
    if (name !== undefined) {
      const v = env.get(name);
      if (v !== undefined) reply.text = v;
    } else {
      const all = env.all();
      const body: JsonObject = {};
      if (names) {
        for (const n of names) {
          const v = env.get(n);
          if (v !== undefined) body[n] = v;
        }
      } else Object.assign(body, all);
      reply.body = body;
    }
    if (modified) reply.time = modified;
    return reply;
  },

  'env.set': (card, args) => {
    card.env.set('local', nameArg(args), args.string('text'));
    return { time: card.env.modified() };
  },

  'env.default': (card, args) => {
    card.env.set('default', nameArg(args), args.string('text'));
    if (args.bool('sync')) card.sync.request();
    return {};
  },

  // The variables' types: kept with the card's configuration; no body removes it.
  'env.template': (card, args) => {
    const body = args.object('body');
    if (body === undefined) {
      setConfig(card, 'env.template', {});
      return { bytes: 0 };
    }
    if (utf8Encode(JSON.stringify(body)).length > MAX_ENV_TEMPLATE) fail(`body: at most ${MAX_ENV_TEMPLATE} bytes`, 'too-big');
    let bytes = 0;
    for (const name of Object.keys(body)) bytes += envHintBytes(name, body[name]);
    setConfig(card, 'env.template', body);
    return { bytes };
  },

  // The host compares the time itself: `time` is accepted, and the reply is always the last change.
  'env.modified': (card, args): JsonObject => {
    args.number('time');
    return { time: card.env.modified() };
  },
});
