// Power cut at every flash write/erase of a templated workload: template changes, templated
// adds and updates, consumption that drops versions. After each reboot the card reads back
// the state before or after the interrupted request, never a note without its template version.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card } from '../../src/card';
import { cutEverywhere } from '../support/powercut';
import { testHost } from '../support/host';

const TEMPLATES = [{ t: 12.1, s: 'x' }, { s: 'x', t: 24 }, { t: 14.1, s: '8', n: [11] }];

function send(card: Card, r: object): void {
  card.request(JSON.stringify(r));
}

function step(card: Card, i: number): void {
  const v = (i * 7) % 100;
  switch (i % 8) {
    case 0:
      return send(card, { req: 'note.template', file: 't.qo', body: TEMPLATES[(i / 8) % 3], port: 1 + (i % 3) });
    case 1:
    case 2:
      return send(card, { req: 'note.add', file: 't.qo', body: { t: v, s: `n${i}` }, full: i % 3 === 0 });
    case 3:
      return send(card, i % 16 === 3
        ? { req: 'note.template', file: 'd.db', body: TEMPLATES[(i / 16) % 3] }
        : { req: 'note.add', file: 'd.db', note: `k${i % 5}`, body: { t: v } });
    case 4:
      return send(card, { req: 'note.update', file: 'd.db', note: `k${(i + 1) % 5}`, payload: 'AQI=' });
    case 5:
      return send(card, { req: 'note.changes', file: 't.qo', max: 2, delete: true });
    case 6:
      return send(card, { req: 'note.delete', file: 'd.db', note: `k${(i + 3) % 5}` });
    default:
      if (i % 32 === 7) return send(card, { req: 'note.template', file: 't.qo' });
      return send(card, { req: 'note.add', file: 't.qo', body: { t: v } });
  }
}

function state(card: Card): string {
  const files = card.notefiles.names().map((name) => {
    const notes = card.notefiles.changes(name, { deleted: true, max: 1e6 }).notes;
    return [name, card.store.file(name)!.info, notes.map((n) => [n.id, n.seq, n.body, n.format, n.deleted])];
  });
  return JSON.stringify(files);
}

describe('templated notefiles under power cuts', () => {
  it('apply each request fully or not at all, versions included', () => {
    const geometry = { size: 10 * 1024, blockSize: 1024, writeAlign: 4 };
    const { cuts } = cutEverywhere(geometry, 120, {
      mount: (flash: RamFlash) => new Card(testHost(flash)),
      step,
      state,
      check: (card) => card.store.check(),
    });
    expect(cuts).toBeGreaterThan(120);
  });
});
