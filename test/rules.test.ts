// One set of rules for names, IDs and limits: the card, the sync protocol and the hub must agree.
import { kindOf } from '../src/notefile/kinds';
import { encodeMessage } from '../src/sync/messages';
import { packBlock } from '../src/sync/notes-block';
import { conflictId } from '../src/rules/conflict';
import { notefileKind } from '../hub/hub';
import { testCard } from './support/host';

const accepts = (fn: () => unknown): boolean => {
  try { fn(); return true; } catch { return false; }
};

it('a notefile name is accepted by the card exactly when the hub accepts it, and the sync can carry it', () => {
  const names = [
    'data.qo', 'a.db', 'A-b_c.1.dbs', 'x'.repeat(61) + '.qo', 'x'.repeat(62) + '.qo', 'x'.repeat(67) + '.qo', 'x'.repeat(97) + '.qo',
    'my data.qo', 'é.qo', 'a/b.qi', 'a:b.db', '-a.qo', 'a,b.qo', 'a!b.db', '_sys.qo', '.qo', 'a.txt', 'dbx.dbx',
  ];
  const disagree: string[] = [];
  for (const name of names) {
    const card = accepts(() => kindOf(name, true)); // the hub holds the system's own _ names too
    const sync = accepts(() => encodeMessage({ type: 'catalog', more: false, envModified: 0, files: [{ name, template: 0, downUntil: 0, pending: 0 }] }));
    const hub = accepts(() => notefileKind(name));
    if (card !== hub || (card && !sync)) disagree.push(`${name}: card ${card} sync ${sync} hub ${hub}`);
  }
  expect(disagree).toEqual([]);
});

it('a note ID the card accepts can cross the sync, and so can its conflict copy', () => {
  const { req } = testCard();
  const ids = ['k', 'é'.repeat(55), 'i'.repeat(110), 'i'.repeat(111), 'i'.repeat(128), 'i'.repeat(200), 'a b/c?d#e', '😀'.repeat(27)];
  const broken: string[] = [];
  for (const id of ids) {
    if (req({ req: 'note.add', file: 'ids.db', note: id, body: { a: 1 } }).err) continue;
    for (const copy of [id, conflictId(id, 'card', Number.MAX_SAFE_INTEGER), conflictId(id, 'hub', Number.MAX_SAFE_INTEGER)]) {
      if (!accepts(() => packBlock(0, [{ counter: 1, time: 0, id: copy, body: { a: 1 } }]))) broken.push(copy);
    }
  }
  expect(broken).toEqual([]);
});
