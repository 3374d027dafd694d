// A hostile-but-ordinary workload that fills a card: notes of every kind on several notefiles
// while their templates keep changing (each change grows the notefile's FILE record), database
// updates and deletions, trackers and settings. Deterministic for a given seed and step.
import type { Card } from '../../src/card';

export const FILL_TEMPLATES = [
  { t: 12.1, s: 'x' },
  { s: 'x', t: 24 },
  { t: 14.1, s: '20', n: [11] },
  { a: 11, b: '30', c: true, t: 12.1, s: '8' },
  { t: 18.1, s: '12', a: 22, c: true, n: [14] },
];

export type Reply = Record<string, any>;

export function fillRandom(seed: number, step: number): (n: number) => number {
  let x = (seed * 2654435761 + step * 40503) >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** One request of the fill workload: mostly additions, with template changes now and then. */
export function fillStep(card: Card, seed: number, i: number): Reply {
  const rnd = fillRandom(seed, i);
  const send = (r: object): Reply => {
    const reply = card.request(JSON.stringify(r));
    return reply.text === undefined ? {} : JSON.parse(reply.text);
  };
  const files = ['t.qo', 'u.qo', 'd.db', 'in.qi'];
  const file = files[rnd(files.length)];
  const op = rnd(100);
  // Every template has t and s; a few bodies carry fields only some templates have.
  const body: Record<string, number | string | boolean> = rnd(4) ? { t: rnd(100), s: 'n' + i } : { t: rnd(100), s: 'n' + i, a: rnd(200), c: true };
  if (op < 12) return send({ req: 'note.template', file, body: FILL_TEMPLATES[rnd(FILL_TEMPLATES.length)], port: 1 + files.indexOf(file) * 10 + rnd(10) });
  if (op < 14) return send({ req: 'note.template', file });
  if (op < 20) return send({ req: 'note.changes', file, tracker: 'r' + rnd(2), max: 3 });
  if (op < 23) return send({ req: 'env.set', name: 'e' + rnd(3), text: 'v'.repeat(rnd(40)) });
  if (file === 'd.db') {
    if (op < 35) return send({ req: 'note.update', file, note: 'k' + rnd(30), body });
    if (op < 40) return send({ req: 'note.delete', file, note: 'k' + rnd(30) });
    return send({ req: 'note.add', file, note: 'k' + rnd(30), body });
  }
  if (file === 'in.qi') {
    try {
      card.notefiles.applyFromHub('in.qi', [{ body }]);
    } catch (e) {
      return { err: String((e as Error).message) };
    }
    return {};
  }
  if (op < 30) return send({ req: 'note.add', file: 'j.qo', body: { pad: 'p'.repeat(rnd(150)) } });
  return send({ req: 'note.add', file, body, full: rnd(5) === 0 });
}

export function isFull(r: Reply): boolean {
  return typeof r.err === 'string' && r.err.includes('{storage-full}');
}
