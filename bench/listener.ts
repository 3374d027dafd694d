// The hub's device listener end to end on loopback: a scripted card (test/hub/card.ts) syncs 1,000
// notes (small JSON, then templated) into an in-process hub; time per sync, wire bytes per note,
// and a down sync of 1,000 .qi notes added through the Hub service.
// Run: npm run build && node dist/bench/listener.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub } from '../hub/server';
import { CardState, syncOnce } from '../test/hub/card';

const N = 1000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'listener-bench-'));
  const h = await startHub({ dataDir: dir, port: 0, devicePort: 0, log: () => undefined });
  const product = h.bootstrap!.productUID;
  const port = h.devicePort!;
  try {
    let k = 0;
    const fresh = async (): Promise<CardState> => {
      const card = new CardState(`dev:bench${++k}`, product);
      await syncOnce(card, { port }); // provisioning, outside the measurement
      return card;
    };
    const run = async (label: string, fill: (card: CardState) => number): Promise<void> => {
      const times: number[] = [];
      let perNote = 0;
      let ratio = 0;
      for (let rep = 0; rep < 5; rep++) {
        const card = await fresh();
        const size = fill(card);
        const t0 = process.hrtime.bigint();
        const r = await syncOnce(card, { port, perFrame: 'fit' });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (!r.completed) throw new Error('sync did not complete');
        perNote = r.bytesUp / N;
        ratio = r.bytesUp / size;
      }
      times.sort((a, b) => a - b);
      console.log(`${label}: median ${times[2].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}); card->hub ${perNote.toFixed(1)} B/note, ${ratio.toFixed(2)}x the source size`);
    };

    await run(`${N} small JSON notes up`, (card) => {
      let json = 0;
      for (let i = 0; i < N; i++) {
        const body = { temp: 21.5 + (i % 7) / 10, humidity: 40 + (i % 5), count: i };
        json += JSON.stringify(body).length;
        card.add('sensors.qo', body, 1_763_683_200 + i * 60);
      }
      return json;
    });
    await run(`${N} templated notes up`, (card) => {
      card.setTemplate('temps.qo', { temp: 14.1, humidity: 12, count: 24 });
      for (let i = 0; i < N; i++) card.add('temps.qo', { temp: 21.5 + (i % 7) / 10, humidity: 40 + (i % 5), count: i }, 1_763_683_200 + i * 60);
      return [...card.file('temps.qo').outbox.values()].reduce((s, n) => s + n.record!.length, 0);
    });

    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const card = await fresh();
      for (let i = 0; i < N; i++) await h.hub.notes.addInbound(card.uid, 'data.qi', { cmd: 'set', value: i }, undefined);
      const t0 = process.hrtime.bigint();
      await syncOnce(card, { port });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (card.file('data.qi').inbox.size !== N) throw new Error('not every .qi note arrived');
    }
    times.sort((a, b) => a - b);
    console.log(`${N} .qi notes down: median ${times[1].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[2].toFixed(0)})`);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
