import { NF } from '../../src/store/format';
import type { BodyCodec } from '../../src/notefile/notefiles';
import { kindOf } from '../../src/notefile/kinds';
import { testCard, testHost } from '../support/host';

describe('notefile kinds', () => {
  it.each([
    ['a.qo', { queue: true, outbound: true, inbound: false, synced: true, secure: false }],
    ['a.qos', { queue: true, outbound: true, secure: true }],
    ['a.qi', { queue: true, inbound: true, secure: false }],
    ['a.qis', { queue: true, inbound: true, secure: true }],
    ['a.db', { queue: false, synced: true, secure: false }],
    ['a.dbs', { queue: false, synced: true, secure: true }],
    ['a.dbx', { queue: false, synced: false }],
  ])('%s', (name, expected) => expect(kindOf(name)).toMatchObject(expected));

  it('rejects other names, reserves _ for the system', () => {
    for (const bad of ['', 'a', 'a.q', 'a.qox', '.qo', 'a,b.db', 'x'.repeat(101) + '.qo']) expect(() => kindOf(bad)).toThrow(/notefile/);
    expect(() => kindOf('_env.dbs')).toThrow(/reserved/);
    expect(kindOf('_env.dbs', true).kind).toBe('dbs');
  });
});

describe('what the sync engine builds on', () => {
  it('pending lists unsynced changes oldest first; acknowledging marks database notes synced', () => {
    const { card, req } = testCard();
    req({ req: 'note.add', file: 's.db', note: 'a', body: { v: 1 } });
    req({ req: 'note.add', file: 's.db', note: 'b', body: { v: 2 } });
    const f = card.store.file('s.db')!;
    let pending = card.notefiles.pending(f, 10);
    expect(pending.map((n) => [n.id, n.synced])).toEqual([['a', false], ['b', false]]);
    card.notefiles.acknowledge('s.db', pending[1].seq + 1);
    expect(card.notefiles.pendingCount(f)).toBe(0);
    expect(card.notefiles.get('s.db', 'a').synced).toBe(true);
    req({ req: 'note.delete', file: 's.db', note: 'a' });
    pending = card.notefiles.pending(f, 10);
    expect(pending.map((n) => [n.id, n.deleted])).toEqual([['a', true]]);
  });

  it('inbound notes and edits from the hub are synced already and never pending', () => {
    const { card, req } = testCard();
    card.notefiles.applyFromHub('cfg.db', [{ id: 'x', body: { from: 'hub' }, time: 1_600_000_000 }]);
    card.notefiles.applyFromHub('cmd.qi', [{ body: { go: 1 } }]);
    expect(req({ req: 'file.changes.pending' })).toEqual({ changes: 0, total: 0 });
    const x = card.notefiles.get('cfg.db', 'x');
    expect(x).toMatchObject({ synced: true, time: 1_600_000_000, body: { from: 'hub' } });
    card.notefiles.applyFromHub('cfg.db', [{ id: 'x', deleted: true }]);
    expect(req({ req: 'note.get', file: 'cfg.db', note: 'x' }).err).toMatch(/\{note-noexist\}/);
    // A hub deletion is not a local change waiting to be sent.
    expect(card.notefiles.pendingCount(card.store.file('cfg.db')!)).toBe(0);
    expect(req({ req: 'note.get', file: 'cmd.qi', delete: true }).body).toEqual({ go: 1 });
  });

  it('a template codec plugs in through the format byte and file info, and survives restarts', () => {
    // A toy codec: stores the body's single number as one byte, format 7.
    const codec: BodyCodec = {
      encode: (file, body) => (file?.info && body ? { format: 7, bytes: Uint8Array.of(body.n as number) } : undefined),
      decode: (_file, format, bytes) => ({ n: bytes[0], format }),
    };
    const host = testHost();
    const { card, req } = testCard(host);
    card.notefiles.codec = codec;
    req({ req: 'note.add', file: 't.qo', body: { n: 1 } }); // no template yet: JSON
    card.notefiles.setInfo('t.qo', '{"template":{"n":11}}');
    expect(req({ req: 'note.add', file: 't.qo', body: { n: 5 } })).toEqual({ total: 2, template: true });
    const again = testCard(testHost(host.flash));
    expect(again.card.store.file('t.qo')!.info).toBe('{"template":{"n":11}}');
    again.card.notefiles.codec = undefined; // a build without the codec
    expect(again.req({ req: 'note.changes', file: 't.qo' }).err).toMatch(/template format 7.*\{template-incompatible\}/);
    again.card.notefiles.codec = codec;
    const notes = again.req({ req: 'note.changes', file: 't.qo' }).notes;
    expect(Object.values(notes).map((n: any) => n.body)).toEqual([{ n: 1 }, { n: 5, format: 7 }]);
    expect(again.card.store.readQueued(again.card.store.file('t.qo')!, 2)!.body).toEqual(Uint8Array.of(5));
    expect(again.card.store.readQueued(again.card.store.file('t.qo')!, 2)!.flags & NF.BODY).toBeTruthy();
  });
});
