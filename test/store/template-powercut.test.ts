// Power cut at every flash write/erase of a templated workload: template changes, templated
// adds and updates, consumption that drops versions. After each reboot the card reads back
// the state before or after the interrupted request, never a note without its template version.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card } from '../../src/card';
import { ENTRY, RT, SKIP } from '../../src/store/format';
import { scanBlock } from '../../src/store/scan';
import { cutEverywhere } from '../support/powercut';
import { TestHost, testHost } from '../support/host';

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

  // Runs: long stretches of consecutive templated adds to one queue (each an entry appended to
  // the head's run), broken by everything that must end or restart a run: another file's write,
  // a FULL note (other flags), a template change (other format), a string of another length,
  // the clock going backwards or leaping, a read with delete, a hub acknowledgement, a block
  // filling up, compaction copying live entries forward, and (every step) a reboot. On g.qo a
  // reader with a tracker skips one note and deletes the next: compaction merges what is left
  // into runs and bridges the gaps with skip slots.
  function runStep(card: Card, i: number): void {
    const host = card.host as TestHost;
    host.ms = i * 37_000 + (i % 23 === 0 ? -2_000_000 : 0) + (i % 29 === 0 ? 90_000_000 : 0);
    const v = (i * 13) % 1000;
    const add = (file: string, extra: object = {}) => send(card, { req: 'note.add', file, body: { t: v, s: i % 11 === 0 ? 'longer' : 'ab' }, ...extra });
    switch (i % 16) {
      case 0:
      case 1:
      case 2:
        return add(i % 32 >= 16 ? 'g.qo' : 't.qo'); // every other time, a run of three on g.qo
      case 3:
      case 9:
        if (i % 32 < 16) return add('t.qo');
        return send(card, { req: 'note.changes', file: 'g.qo', tracker: 'g', max: 1, delete: i % 16 === 9 });
      case 15:
        if (i % 64 === 15) return send(card, { req: 'note.changes', file: 'g.qo', max: 2, delete: true });
        return add('t.qo');
      case 5:
        return add('u.qo');
      case 8:
        return send(card, { req: 'note.changes', file: 't.qo', max: 4, delete: true });
      case 11:
        return add('t.qo', { full: true });
      case 13: {
        const f = card.store.file('t.qo');
        const pending = f ? card.notefiles.pending(f, 7) : [];
        if (pending.length) card.notefiles.acknowledge('t.qo', pending[pending.length - 1].seq + 1);
        return;
      }
      case 14:
        if (i % 48 === 14) return send(card, { req: 'note.template', file: 't.qo', body: TEMPLATES[Math.floor(i / 48) % 2], port: 2 });
        if (card.store.file('u.qo')) card.notefiles.acknowledge('u.qo', card.store.file('u.qo')!.counter);
        return;
      default:
        return add('t.qo');
    }
  }

  it.each([1, 4, 16])('runs of templated notes survive a cut anywhere (%i-byte alignment)', (writeAlign) => {
    const geometry = { size: 8 * 512, blockSize: 512, writeAlign };
    const { cuts } = cutEverywhere(geometry, 400, {
      mount: (flash: RamFlash) => {
        const card = new Card(testHost(flash));
        if (!card.store.file('t.qo')) {
          send(card, { req: 'note.template', file: 't.qo', body: TEMPLATES[0], port: 1 });
          send(card, { req: 'note.template', file: 'u.qo', body: TEMPLATES[1], port: 3 });
          send(card, { req: 'note.template', file: 'g.qo', body: TEMPLATES[1], port: 4 });
        }
        return card;
      },
      step: runStep,
      state: (card) => JSON.stringify([state(card), card.notefiles.changes('t.qo', { max: 1e6 }).notes.map((n) => n.time)]),
      check: (card) => card.store.check(),
    });
    expect(cuts).toBeGreaterThan(400);
  });

  it('the run workload really writes long runs and wraps the log', () => {
    const flash = new RamFlash({ size: 8 * 512, blockSize: 512, writeAlign: 4 });
    let card = new Card(testHost(flash));
    send(card, { req: 'note.template', file: 't.qo', body: TEMPLATES[0], port: 1 });
    send(card, { req: 'note.template', file: 'u.qo', body: TEMPLATES[1], port: 3 });
    send(card, { req: 'note.template', file: 'g.qo', body: TEMPLATES[1], port: 4 });
    let longest = 0;
    let runs = 0;
    let skips = 0;
    for (let i = 0; i < 400; i++) {
      card = new Card(testHost(flash));
      runStep(card, i);
      if (i % 20 === 19) {
        for (let b = 0; b < 8; b++) {
          let n = 0;
          scanBlock(flash.bytes.subarray(b * 512, b * 512 + 512), card.store.recordStart, 4, (r) => {
            if (r.type === RT.RUN) runs++;
            if (r.type === SKIP) skips++;
            n = r.type === ENTRY ? n + 1 : r.type === RT.RUN ? 0 : n;
            longest = Math.max(longest, n);
          });
        }
      }
    }
    expect(card.store.check()).toEqual([]);
    expect(runs).toBeGreaterThan(20);
    expect(skips).toBeGreaterThanOrEqual(3); // gaps bridged by compaction (counted per snapshot)
    expect(longest).toBeGreaterThanOrEqual(5);
    expect(Math.max(...flash.eraseCounts)).toBeGreaterThanOrEqual(3);
  });
});
