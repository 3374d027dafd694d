// The store on the XS engine: compute per note.add and the heap a 10,000-note queue costs (the
// RAM target: within 32 KB of an empty store). XS counts heap in 16-byte slots.
// Run: npm run build && node dist/bench/xs-store.js
import { bundle } from '../test/xs/bundle';
import { XsEngine } from '../test/xs/xsnap';

async function main(): Promise<void> {
  const xs = new XsEngine();
  try {
    await xs.evaluate(`${bundle(['bench/store-workload.js', 'hosts/node/ram-flash.js'])}
      globalThis.W = load('bench/store-workload.js');
      globalThis.makeCard = () => new (load('src/card.js').Card)(W.benchHost(new (load('hosts/node/ram-flash.js').RamFlash)({ size: 256 * 4096 })));
      new ArrayBuffer(0)`);
    await xs.evaluate('globalThis.WARM = W.tenThousandNotes(); globalThis.WARM = undefined; gc(); new ArrayBuffer(0)');
    const base = await xs.evaluate('gc(); new ArrayBuffer(0)');
    await xs.evaluate('globalThis.EMPTY = makeCard(); gc(); new ArrayBuffer(0)');
    const empty = await xs.evaluate('gc(); new ArrayBuffer(0)');
    const fill = await xs.evaluate('globalThis.FULL = W.tenThousandNotes(); gc(); new ArrayBuffer(0)');
    const full = await xs.evaluate('gc(); new ArrayBuffer(0)');
    const emptyCard = empty.currentHeapCount - base.currentHeapCount;
    const fullCard = full.currentHeapCount - empty.currentHeapCount;
    console.log('| XS measure | value |');
    console.log('|---|---:|');
    console.log(`| compute per note.add (10,000 adds) | ${Math.round(fill.compute / 10_000).toLocaleString('en-US')} |`);
    console.log(`| heap of an empty card | ${emptyCard} slots (${(emptyCard * 16).toLocaleString('en-US')} B) |`);
    console.log(`| heap of a card holding 10,000 queued notes | ${fullCard} slots (${(fullCard * 16).toLocaleString('en-US')} B) |`);
    console.log(`| difference (target within 32 KB) | ${((fullCard - emptyCard) * 16).toLocaleString('en-US')} B |`);
  } finally {
    xs.close();
  }
}

void main();
