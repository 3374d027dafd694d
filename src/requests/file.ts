// file.changes, file.changes.pending, file.delete, file.stats, file.clear.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { HandlerTable } from './handler';

export const fileRequests: HandlerTable = Object.freeze({
  'file.changes': (card, args) => {
    const tracker = args.string('tracker');
    const names = args.strings('files') ?? card.notefiles.names();
    let changes = 0;
    let total = 0;
    const info: JsonObject = {};
    for (const name of names) {
      card.notefiles.kind(name, true);
      const c = card.notefiles.countsOf(name, tracker);
      if (!c) continue;
      changes += c.changes;
      total += c.total;
      const entry: JsonObject = { total: c.total };
      if (c.changes) entry.changes = c.changes;
      info[name] = entry;
    }
    return { changes, total, info };
  },

  'file.changes.pending': (card): JsonObject => {
    let changes = 0;
    let total = 0;
    const info: JsonObject = {};
    for (const name of card.notefiles.names(true)) {
      const { changes: pending, total: all } = card.notefiles.pendingOf(name);
      if (!pending) continue;
      changes += pending;
      total += all;
      const entry: JsonObject = { changes: pending, total: all };
      // left out of the last sync (a name or note the sync cannot carry, or the hub refused it)
      const skipped = card.engine?.skippedReason(name);
      if (skipped !== undefined) entry.skipped = skipped;
      info[name] = entry;
    }
    return changes ? { pending: true, changes, total, info } : { changes: 0, total: 0 };
  },

  'file.delete': (card, args) => {
    const names = args.strings('files');
    if (!names || names.length === 0) fail('files: name the notefiles to delete', 'bad-arg');
    for (const name of names) card.notefiles.kind(name);
    card.notefiles.deleteFiles(names);
    return {};
  },

  'file.stats': (card, args) => {
    const file = args.string('file');
    const names = file === undefined ? card.notefiles.names(true) : [file];
    let total = 0;
    let changes = 0;
    for (const name of names) {
      card.notefiles.kind(name, true);
      const c = card.notefiles.pendingOf(name);
      total += c.total;
      changes += c.changes;
    }
    return { total, changes, sync: changes > 0 };
  },

  'file.clear': (card, args) => {
    const file = args.string('file');
    if (file === undefined) fail('file: name the notefile to clear', 'bad-arg');
    card.notefiles.kind(file);
    card.notefiles.clear(file);
    return {};
  },
});
