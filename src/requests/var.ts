// var.set / var.get / var.delete: one named value per note in a database notefile.
import { fail } from '../errors';
import { JsonObject, isObject } from '../json';
import type { Args } from './args';
import type { RequestContext } from './context';
import type { HandlerTable } from './handler';

const DEFAULT_FILE = 'vars.db';

function target(card: RequestContext, args: Args): { file: string; name: string } {
  const file = args.string('file', DEFAULT_FILE);
  if (card.notefiles.kind(file).queue) fail(`var requests need a database notefile; ${file} is a queue`, 'notefile-queue-disallowed');
  const name = args.string('name');
  if (name === undefined || name === '') fail('name: the variable name is required', 'bad-arg');
  return { file, name };
}

export const varRequests: HandlerTable = Object.freeze({
  'var.set': (card, args) => {
    const { file, name } = target(card, args);
    const body: JsonObject = {};
    if (args.has('text')) body.text = args.string('text')!;
    else if (args.has('value')) body.value = args.number('value')!;
    else if (args.has('flag')) body.flag = args.bool('flag');
    else fail('var.set needs text, value or flag', 'bad-arg');
    if (card.notefiles.has(file, name)) card.notefiles.update(file, name, { body });
    else card.notefiles.add(file, { id: name, body });
    if (args.bool('sync')) card.sync.request();
    return {};
  },

  'var.get': (card, args) => {
    const { file, name } = target(card, args);
    if (!card.notefiles.has(file, name)) return {};
    const body = card.notefiles.get(file, name).body;
    const reply: JsonObject = {};
    if (isObject(body)) for (const k of ['text', 'value', 'flag']) if (body[k] !== undefined) reply[k] = body[k];
    return reply;
  },

  'var.delete': (card, args) => {
    const { file, name } = target(card, args);
    card.notefiles.delete(file, name);
    if (args.bool('sync')) card.sync.request();
    return {};
  },
});
