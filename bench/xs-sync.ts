// XS compute of a sync round: the card's engine sends 100 notes through the real protocol to a
// minimal in-engine hub (test/xs/sync-harness.ts). Run: npm run build && node dist/bench/xs-sync.js

import { XsEngine, returnJson } from '../test/xs/xsnap';

async function main(): Promise<void> {
  const xs = new XsEngine();
  try {
    await xs.loadCore();
    await xs.evaluate(`globalThis.LB = load('test/xs/sync-harness').loopbackCard(); LB.sync(); new ArrayBuffer(0)`);
    console.log('| XS, one sync round (card side and in-engine hub) | compute | hub holds | bytes up |');
    console.log('|---|---:|---:|---:|');
    for (const n of [0, 100]) {
      await xs.evaluate(`LB.add(${n}); new ArrayBuffer(0)`);
      const r = await xs.evaluate(returnJson('LB.sync()'));
      const out = JSON.parse(r.text) as { status: string; notes: number; bytesUp: number };
      if (!out.status.includes('{sync-end}')) throw new Error(out.status);
      console.log(`| ${n} new notes | ${r.compute.toLocaleString('en-US')} | ${out.notes} | ${out.bytesUp.toLocaleString('en-US')} |`);
    }
  } finally {
    xs.close();
  }
}

void main();
