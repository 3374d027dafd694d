// The store on the XS engine: compute per note.add over a 10,000-note queue. (The card's RAM is
// measured on the real Moddable runtime: bench/moddable.ts.)
// Run: npm run build && node dist/bench/xs-store.js

import { XsEngine } from '../test/xs/xsnap';

async function main(): Promise<void> {
  const xs = new XsEngine();
  try {
    await xs.loadCore();
    await xs.evaluate('globalThis.W = load("bench/store-workload"); new ArrayBuffer(0)');
    const fill = await xs.evaluate('W.tenThousandNotes(); new ArrayBuffer(0)');
    console.log('| XS measure | value |');
    console.log('|---|---:|');
    console.log(`| compute per note.add (10,000 adds) | ${Math.round(fill.compute / 10_000).toLocaleString('en-US')} |`);
  } finally {
    xs.close();
  }
}

void main();
