// env.get / env.set / env.default / env.modified: the card's environment variables.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { utf8Encode } from '../util/utf8';
import type { Args } from './args';
import type { HandlerTable } from './handler';

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

  'env.modified': (card, args): JsonObject => {
    const modified = card.env.modified();
    if (unchangedSince(args, modified)) fail('environment variables have not been modified since then', 'env-noop');
    return { time: modified };
  },
});
