// note.template, written against the TemplateRegistry interface
// (src/template/registry.ts).
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { kindOf } from '../notefile/kinds';
import { MAX_NOTE_ID } from '../rules/names';
import { noteFrameError } from '../sync/messages';
import { Template, compileTemplate, sameTemplate } from '../template/index';
import type { TemplateRegistry, TemplateSetting } from '../template/registry';
import type { Args } from './args';

export type { TemplateRegistry, TemplateSetting } from '../template/registry';

/** Largest declared payload per templated note: the whole note must fit in device RAM. */
export const MAX_TEMPLATE_PAYLOAD = 8192;


function describeSetting(s: TemplateSetting): JsonObject {
  const t = s.template;
  const reply: JsonObject = { template: true, body: t.body };
  if (t.length > 0) reply.length = t.length;
  if (s.port !== undefined) reply.port = s.port;
  if (t.format === 'compact') reply.format = 'compact';
  reply.bytes = t.bytes;
  return reply;
}

/**
 * body: set (re-setting an identical template changes nothing), answering {bytes}; no body:
 * remove; verify:true: answer the active template instead. `delete` asks to drop pending notes
 * when syncing over NTN (satellite) against a non-NTN notefile or the reverse; this card has no
 * NTN link, so that never applies: it is checked and has no effect.
 */
export function noteTemplate(registry: TemplateRegistry, args: Args): JsonObject {
  const file = args.string('file', 'data.qo');
  const kind = kindOf(file);
  const body = args.object('body');
  const verify = args.bool('verify');
  args.bool('delete');
  const length = args.int('length', 0, MAX_TEMPLATE_PAYLOAD, 0);
  const port = args.int('port', 1, 100);
  const format = args.string('format', '');
  if (format !== '' && format !== 'compact') fail('format: must be "compact" or absent', 'bad-arg');

  if (body !== undefined) {
    const template = compileTemplate(body, { length, format: format === 'compact' ? 'compact' : 'default' });
    // a note of a synced file crosses in one frame: so must a full payload
    const frame = length > 0 && kind.synced ? noteFrameError(file, { id: kind.queue ? undefined : MAX_NOTE_ID, payload: new Uint8Array(length) }) : undefined;
    if (frame !== undefined) fail(`length: a note with a ${length}-byte payload could not be synced: ${frame}`, 'too-big');
    if (port !== undefined && registry.portInUse(port, file)) {
      fail(`port: ${port} is already used by another notefile`, 'bad-arg');
    }
    const current = registry.get(file);
    if (!current || !sameTemplate(current.template, template) || current.port !== port) {
      registry.set(file, template, port);
    }
    return verify ? describeSetting({ template, port }) : { bytes: template.bytes };
  }
  if (verify) {
    const current = registry.get(file);
    return current ? describeSetting(current) : {};
  }
  registry.delete(file);
  return {};
}
