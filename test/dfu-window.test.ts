// The card's side of a firmware download (src/dfu/dfu.ts) against a scripted hub: a window of
// FW_GET requests in flight (so a link with a long round trip stays busy), chunks still written
// and verified strictly in order, a bad chunk asked for again, and a new session resuming from
// the last verified chunk.
import { createHash } from 'node:crypto';
import { CardDfu } from '../src/dfu/dfu';
import type { Json } from '../src/json';
import { CardSettings } from '../src/settings';
import { DFU_CHUNK, DFU_IN_FLIGHT, fwData, type DfuMessage, type FwGetMessage } from '../src/sync/dfu';
import { RamFlash } from '../hosts/node/ram-flash';

const SIZE = 10 * DFU_CHUNK + 100;
const data = new Uint8Array(SIZE).map((_, i) => (i * 7919) >>> 3);
const md5 = createHash('md5').update(data).digest('hex');

function setup() {
  const raw = new Map<string, Json>();
  const settings = new CardSettings({ get: (k) => raw.get(k), set: (k, v) => (v === undefined ? raw.delete(k) : raw.set(k, v)) });
  const dfu = new CardDfu({
    flash: new RamFlash({ size: 256 * 1024 }), settings, log: { log: () => {} } as never,
    env: (name) => (name === '_fw' ? 'app.bin' : undefined), voltageMode: () => 'usb',
  });
  const sent: DfuMessage[] = [];
  const start = () => {
    dfu.begin((m) => sent.push(m), () => {});
    dfu.hubDone();
  };
  /** The FW_GETs sent since the last call. */
  const gets = () => sent.splice(0).filter((m): m is FwGetMessage => m.type === 'fwGet');
  /** The hub's FW_DATA for a request; `corrupt`: one bit flipped on the way (its CRC no longer matches). */
  const answer = (g: FwGetMessage, corrupt = false) => {
    const m = fwData('user', 'app.bin', g.offset, data.slice(g.offset, g.offset + g.length));
    if (corrupt) m.data[5] ^= 1;
    dfu.message(m);
  };
  return { dfu, sent, start, gets, answer };
}

it(`keeps ${DFU_IN_FLIGHT} chunk requests in flight, writes them in order, and resumes from the last verified chunk`, () => {
  expect(DFU_IN_FLIGHT).toBeGreaterThanOrEqual(4);
  const t = setup();
  t.start();
  expect(t.sent.shift()).toMatchObject({ type: 'fwQuery', name: 'app.bin' });
  t.dfu.message({ type: 'fwInfo', kind: 'user', name: 'app.bin', error: '', body: { length: SIZE, md5 } });
  let window = t.gets();
  expect(window.map((g) => g.offset)).toEqual(Array.from({ length: DFU_IN_FLIGHT }, (_, i) => i * DFU_CHUNK));
  // each verified chunk frees one place in the window
  t.answer(window[0]);
  expect(t.dfu.slot('user').got).toBe(DFU_CHUNK);
  expect(t.gets().map((g) => g.offset)).toEqual([DFU_IN_FLIGHT * DFU_CHUNK]);
  // a corrupt chunk: it and everything after it is asked for again once the window has drained
  t.answer(window[1], true);
  expect(t.dfu.slot('user').got).toBe(DFU_CHUNK);
  for (const g of [...window.slice(2), { offset: DFU_IN_FLIGHT * DFU_CHUNK, length: DFU_CHUNK } as FwGetMessage]) t.answer(g);
  expect(t.dfu.slot('user').got).toBe(DFU_CHUNK); // nothing after the bad chunk was written
  window = t.gets();
  expect(window[0].offset).toBe(DFU_CHUNK);
  t.answer(window[0]);
  t.answer(window[1]);
  expect(t.dfu.slot('user').got).toBe(3 * DFU_CHUNK);
  // the link goes: the next session asks again from the last verified chunk
  t.dfu.end();
  t.sent.length = 0;
  t.start();
  window = t.gets();
  expect(window[0].offset).toBe(3 * DFU_CHUNK);
  while (window.length) {
    for (const g of window) t.answer(g);
    window = t.gets();
  }
  expect(t.dfu.report('user')).toMatchObject({ mode: 'ready', status: 'successfully downloaded' });
});
