// The card's side of the conflict rule (docs/SYNC.md section 5): a hub change to a database note
// the card changed and has not sent yet.
import { Card } from '../src/card';
import { mergeFromHub } from '../src/sync/merge';
import { testHost } from './support/host';

function setup() {
  const host = testHost();
  const card = new Card(host);
  const req = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!);
  req({ req: 'note.add', file: 'cfg.db', note: 'x', body: { v: 'card' } });
  return { card, req, host };
}

const ids = (card: Card) => Object.keys(JSON.parse(card.request('{"req":"note.changes","file":"cfg.db"}').text!).notes).sort();

it('a later hub edit wins; the card\'s unsent edit is kept as x!c<n> and goes up', () => {
  const { card, req } = setup();
  const mine = card.notefiles.dirty('cfg.db', 'x')!;
  const writes = mergeFromHub(card.notefiles, 'cfg.db', [{ counter: 9, id: 'x', time: (mine.time ?? 0) + 10, body: { v: 'hub' } }]);
  card.notefiles.applyFromHub('cfg.db', writes, 9);
  expect(req({ req: 'note.get', file: 'cfg.db', note: 'x' }).body).toEqual({ v: 'hub' });
  expect(req({ req: 'note.get', file: 'cfg.db', note: `x!c${mine.seq}` }).body).toEqual({ v: 'card' });
  // The kept version is a local change: pending for the hub; the hub's version is not.
  const pending = card.notefiles.pending(card.store.file('cfg.db')!, 10).map((n) => n.id);
  expect(pending).toEqual([`x!c${mine.seq}`]);
});

it('an older hub edit loses; it is kept as x!h<counter> and the card\'s edit still goes up', () => {
  const { card, req } = setup();
  const mine = card.notefiles.dirty('cfg.db', 'x')!;
  card.notefiles.applyFromHub('cfg.db', mergeFromHub(card.notefiles, 'cfg.db', [{ counter: 4, id: 'x', time: (mine.time ?? 0) - 10, body: { v: 'hub' } }]), 4);
  expect(req({ req: 'note.get', file: 'cfg.db', note: 'x' }).body).toEqual({ v: 'card' });
  expect(req({ req: 'note.get', file: 'cfg.db', note: 'x!h4' }).body).toEqual({ v: 'hub' });
  expect(card.notefiles.pending(card.store.file('cfg.db')!, 10).map((n) => n.id)).toEqual(['x']);
});

it('equal times: the hub wins; a hub change to a note the card already sent simply applies', () => {
  const { card, req } = setup();
  const mine = card.notefiles.dirty('cfg.db', 'x')!;
  card.notefiles.applyFromHub('cfg.db', mergeFromHub(card.notefiles, 'cfg.db', [{ counter: 2, id: 'x', time: mine.time ?? 0, body: { v: 'hub' } }]), 2);
  expect(req({ req: 'note.get', file: 'cfg.db', note: 'x' }).body).toEqual({ v: 'hub' });
  expect(ids(card)).toEqual(['x', `x!c${mine.seq}`]);
  // Nothing dirty now (the hub's version came from the hub): the next change just applies.
  const writes = mergeFromHub(card.notefiles, 'cfg.db', [{ counter: 3, id: 'x', time: 1, body: { v: 'hub2' } }]);
  expect(writes).toEqual([{ id: 'x', body: { v: 'hub2' }, payload: undefined, deleted: undefined, time: 1 }]);
});

it('an identical hub change to a note the card changed too is no conflict: no copy is made', () => {
  const { card, req } = setup();
  const mine = card.notefiles.dirty('cfg.db', 'x')!;
  // the same content, member order aside, at another time
  req({ req: 'note.update', file: 'cfg.db', note: 'x', body: { v: 'card', w: [1, { a: 2, b: 3 }] } });
  const writes = mergeFromHub(card.notefiles, 'cfg.db', [{ counter: 5, id: 'x', time: (mine.time ?? 0) - 100, body: { w: [1, { b: 3, a: 2 }], v: 'card' } }]);
  card.notefiles.applyFromHub('cfg.db', writes, 5);
  expect(ids(card)).toEqual(['x']);
  expect(req({ req: 'note.get', file: 'cfg.db', note: 'x' }).body).toEqual({ v: 'card', w: [1, { a: 2, b: 3 }] });
  // both sides hold the same version: nothing is left to send
  expect(card.notefiles.pending(card.store.file('cfg.db')!, 10)).toEqual([]);
});
