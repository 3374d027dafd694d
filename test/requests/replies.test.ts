// Reply shapes of the requests whose documented replies list exactly these members.
import { testCard, testHost } from '../support/host';

describe('documented reply members', () => {
  it('card.status has usb, no uptime, and time is when the card started', () => {
    const host = testHost();
    const { req } = testCard(host);
    host.ms += 90_000;
    const r = req({ req: 'card.status' });
    expect(r).toEqual({ status: '{normal}', usb: false, connected: false, storage: expect.any(Number), time: 1_700_000_000 });
  });

  it('card.version names the platform as body.target, with no api or platform member', () => {
    const { req } = testCard();
    const r = req({ req: 'card.version' });
    expect(Object.keys(r).sort()).toEqual(['body', 'device', 'name', 'version']);
    expect(Object.keys(r.body).sort()).toEqual(['org', 'product', 'target', 'ver_major', 'ver_minor', 'ver_patch', 'version']);
    expect(r.body.target).toBe('test');
  });

  it('env.set and env.modified always carry time', () => {
    const host = testHost();
    const { req } = testCard(host);
    expect(req({ req: 'env.modified' })).toEqual({ time: 0 });
    expect(req({ req: 'env.set', name: 'a', text: '1' })).toEqual({ time: 1_700_000_000 });
    host.ms += 7000;
    // the same value changes nothing: the time of the last change
    expect(req({ req: 'env.set', name: 'a', text: '1' })).toEqual({ time: 1_700_000_000 });
    expect(req({ req: 'env.set', name: 'a' })).toEqual({ time: 1_700_000_007 });
    expect(req({ req: 'env.modified' })).toEqual({ time: 1_700_000_007 });
  });

  it('env.modified with a time answers the last change (no error)', () => {
    const { req } = testCard();
    req({ req: 'env.set', name: 'a', text: '1' });
    expect(req({ req: 'env.modified', time: 1_700_000_000 })).toEqual({ time: 1_700_000_000 });
  });

  it('note.get from an inbound queue answers body and time, no note ID', () => {
    const { req, card } = testCard();
    card.notefiles.applyFromHub('cmd.qi', [{ body: { go: 1 }, time: 1_600_000_000 }]);
    expect(req({ req: 'note.get', file: 'cmd.qi', delete: true })).toEqual({ body: { go: 1 }, time: 1_600_000_000 });
  });

  it('note.get deleted:true answers a tombstone with its time only', () => {
    const { req } = testCard();
    req({ req: 'note.add', file: 'c.db', note: 'k', body: { v: 1 } });
    req({ req: 'note.delete', file: 'c.db', note: 'k' });
    expect(req({ req: 'note.get', file: 'c.db', note: 'k', deleted: true })).toEqual({ time: 1_700_000_000 });
  });
});
