// Bytes on the wire for 1,000 notes through the sync codec (NOTES frames, sealed as on a real
// session), against the issue-6 budgets, and compressor / packer / AEAD throughput on Node.
// Run: npm run build && node dist/bench/sync-codec.js
import { fitNotes, type NotesMessage } from '../src/sync/messages';
import { FrameSealer } from '../src/sync/frame';
import { compress, decompress } from '../src/sync/compress';
import { packBlock, unpackBlock, NOTES_DICTIONARY, type WireNote } from '../src/sync/notes-block';
import { aeadSeal } from '../src/crypto/aead';
import { utf8Encode } from '../src/util/utf8';

import { XsEngine } from '../test/xs/xsnap';

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Wire bytes of the NOTES frames that carry `notes`, sealed (E=0 or E=1), as the engine would batch them. */
function wireBytes(name: string, notes: WireNote[], encrypt: boolean): { bytes: number; frames: number } {
  const sealer = new FrameSealer(new Uint8Array(32).fill(7));
  let since = 0;
  let rest = notes;
  let bytes = 0;
  let frames = 0;
  const until = notes[notes.length - 1].counter;
  while (rest.length) {
    const { message, content, count } = fitNotes(name, since, until, rest);
    bytes += sealer.seal(0x20, content, encrypt).length;
    frames++;
    since = (message as NotesMessage).until;
    rest = rest.slice(count);
  }
  return { bytes, frames };
}

function jsonNotes(n: number): { notes: WireNote[]; jsonBytes: number } {
  const rnd = prng(11);
  let temp = 21.5;
  let humidity = 40;
  let time = 1763683200;
  const notes: WireNote[] = [];
  let jsonBytes = 0;
  for (let i = 0; i < n; i++) {
    temp = Math.round((temp + (rnd() - 0.5)) * 10) / 10;
    humidity = Math.max(0, Math.min(100, humidity + Math.round((rnd() - 0.5) * 4)));
    time += 55 + Math.floor(rnd() * 10);
    const body = { temp, humidity, seq: i + 1 };
    jsonBytes += JSON.stringify(body).length;
    notes.push({ counter: i + 1, time, body });
  }
  return { notes, jsonBytes };
}

/** A 13-byte packed record, as the template module would make for
 *  {temp:14.1, humidity:12, seq:14, voltage:12.1, status:21}: float32, int16, int32, half, uint8. */
function templatedNotes(n: number): { notes: WireNote[]; recordBytes: number } {
  const rnd = prng(12);
  let temp = 21.5;
  let volts = 3.7;
  let time = 1763683200;
  const notes: WireNote[] = [];
  for (let i = 0; i < n; i++) {
    temp += (rnd() - 0.5) * 0.3;
    volts -= rnd() * 0.001;
    time += 60;
    const record = new Uint8Array(13);
    const view = new DataView(record.buffer);
    view.setFloat32(0, temp, true);
    view.setInt16(4, 30 + Math.floor(rnd() * 40), true);
    view.setInt32(6, i + 1, true);
    view.setUint16(10, halfOf(volts), true);
    record[12] = rnd() < 0.95 ? 0 : 1;
    notes.push({ counter: i + 1, time, record });
  }
  return { notes, recordBytes: 13 * n };
}

/** IEEE half-precision bits of v (no subnormals needed here). */
function halfOf(v: number): number {
  const f = new DataView(new ArrayBuffer(4));
  f.setFloat32(0, v);
  const x = f.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = (x >>> 13) & 0x3ff;
  return sign | (exp << 10) | mant;
}

function rate(bytes: number, run: () => void, repeat: number): number {
  run();
  const t0 = performance.now();
  for (let i = 0; i < repeat; i++) run();
  return (bytes * repeat) / ((performance.now() - t0) / 1000) / 1e6;
}

/** XS `compute` of one run of `body` (a statement list), measured as run(n+1) - run(1), per run. */
async function xsCompute(xs: XsEngine, setup: string, body: string, n: number): Promise<number> {
  const run = (count: number) => xs.evaluate(`{ ${setup}; for (let __i = 0; __i < ${count}; __i++) { ${body} } new ArrayBuffer(0); }`);
  const one = await run(1);
  const many = await run(n + 1);
  return (many.compute - one.compute) / n;
}

const XS_SETUP = `
  const S = load('src/sync/index'); const C = load('src/crypto/index');
  const notes = [];
  for (let i = 0; i < 100; i++) notes.push({ counter: i + 1, time: 1763683200 + i * 60, body: { temp: 20 + (i % 50) / 10, humidity: 30 + (i % 40), seq: i } });
  const key = new Uint8Array(32).fill(5);
  const frameOf = () => new S.FrameSealer(key).seal(0x20, S.fitNotes('sensors.qo', 0, 100, notes).content, false);
  const frame = frameOf();
  const block = S.packBlock(0, notes);
  const packed = S.compress(block, S.NOTES_DICTIONARY);
  const data = new Uint8Array(4000).fill(1);
  const rnd = { bytes: (n) => new Uint8Array(n).fill(7) };
  const secret = new Uint8Array(32).fill(1);
  const handshake = () => {
    const card = new S.CardSession({ uid: 'dev:1', sn: '', product: 'p', secret, cardEpoch: new Uint8Array(8), random: rnd, mayProvision: false });
    const hub = new S.HubSession({ hubEpoch: new Uint8Array(8), random: rnd, now: () => 5, lookup: () => ({ status: 'known', secret, project: 'a' }) });
    let toHub = [card.start()];
    while (toHub.length) { const toCard = []; for (const b of toHub) toCard.push(...hub.receive(b).send); toHub = []; for (const b of toCard) toHub.push(...card.receive(b).send); }
  };`;

async function xsFigures(): Promise<void> {
  const xs = new XsEngine();
  try {
    await xs.loadCore();
    const rows: [string, string][] = [
      ['NOTES frame of 100 JSON notes: pack + compress + seal (card side)', 'frameOf()'],
      ['same frame: open + decompress + unpack (hub side)', 'new S.FrameOpener(key).openMessage(new S.FrameReader().push(frame)[0])'],
      ['LZ-2K compress, 100-note packed block', 'S.compress(block, S.NOTES_DICTIONARY)'],
      ['LZ-2K decompress, same', 'S.decompress(packed, 8192, S.NOTES_DICTIONARY)'],
      ['ChaCha20-Poly1305 seal, 4,000 bytes', 'C.aeadSeal(key, new Uint8Array(12), data, new Uint8Array(0))'],
      ['handshake, card and hub sides together', 'handshake()'],
    ];
    console.log('');
    console.log('| operation (XS) | compute |');
    console.log('|---|---:|');
    for (const [name, body] of rows) {
      const c = await xsCompute(xs, XS_SETUP, body, 5);
      console.log(`| ${name} | ${Math.round(c).toLocaleString('en-US')} |`);
    }
  } finally {
    xs.close();
  }
}

function main(): void {
  const json = jsonNotes(1000);
  const jw = wireBytes('sensors.qo', json.notes, false);
  const jws = wireBytes('sensors.qos', json.notes, true);
  const tpl = templatedNotes(1000);
  const tw = wireBytes('sensors.qo', tpl.notes, false);
  // Worst case: records of random bytes (nothing to compress but the per-note headers).
  const rnd = prng(13);
  const noise = tpl.notes.map((n) => ({ ...n, record: Uint8Array.from({ length: 13 }, () => Math.floor(rnd() * 256)) }));
  const nw = wireBytes('sensors.qo', noise, false);
  const f = (x: number) => x.toLocaleString('en-US');
  console.log('| workload | payload bytes | wire bytes | frames | bytes/note | ratio | target |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  console.log(`| 1,000 small JSON notes (.qo) | ${f(json.jsonBytes)} JSON | ${f(jw.bytes)} | ${jw.frames} | ${(jw.bytes / 1000).toFixed(1)} | ${(jw.bytes / json.jsonBytes).toFixed(3)} | <= 0.6 |`);
  console.log(`| same, secure (.qos, encrypted) | ${f(json.jsonBytes)} JSON | ${f(jws.bytes)} | ${jws.frames} | ${(jws.bytes / 1000).toFixed(1)} | ${(jws.bytes / json.jsonBytes).toFixed(3)} | <= 0.6 |`);
  console.log(`| 1,000 templated notes (13-byte records) | ${f(tpl.recordBytes)} records | ${f(tw.bytes)} | ${tw.frames} | ${(tw.bytes / 1000).toFixed(1)} | ${(tw.bytes / tpl.recordBytes).toFixed(3)} | <= 1.2 |`);

  console.log(`| same, records of random bytes (worst case) | ${f(tpl.recordBytes)} records | ${f(nw.bytes)} | ${nw.frames} | ${(nw.bytes / 1000).toFixed(1)} | ${(nw.bytes / tpl.recordBytes).toFixed(3)} | <= 1.2 |`);

  // Throughput: a full notes block (packed JSON) and raw JSON text of the same notes.
  const batch = json.notes.slice(0, 300);
  const block = packBlock(0, batch);
  const text = utf8Encode(batch.map((n) => JSON.stringify(n.body)).join('\n'));
  const cBlock = compress(block, NOTES_DICTIONARY);
  const cText = compress(text);
  console.log('');
  console.log('| operation (Node) | input | MB/s |');
  console.log('|---|---:|---:|');
  console.log(`| LZ-2K compress, packed notes block | ${f(block.length)} B -> ${f(cBlock.length)} B | ${rate(block.length, () => compress(block, NOTES_DICTIONARY), 200).toFixed(1)} |`);
  console.log(`| LZ-2K decompress, same | ${f(cBlock.length)} B -> ${f(block.length)} B | ${rate(block.length, () => decompress(cBlock, 8192, NOTES_DICTIONARY), 2000).toFixed(1)} |`);
  console.log(`| LZ-2K compress, JSON text | ${f(text.length)} B -> ${f(cText.length)} B | ${rate(text.length, () => compress(text), 100).toFixed(1)} |`);
  console.log(`| LZ-2K decompress, JSON text | ${f(cText.length)} B -> ${f(text.length)} B | ${rate(text.length, () => decompress(cText, 65536), 1000).toFixed(1)} |`);
  console.log(`| pack notes block (300 JSON notes) | ${f(text.length)} B JSON | ${rate(text.length, () => packBlock(0, batch), 200).toFixed(1)} |`);
  console.log(`| unpack notes block | ${f(block.length)} B | ${rate(block.length, () => unpackBlock(block, 0, 300), 200).toFixed(1)} |`);
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const frame = new Uint8Array(4000);
  console.log(`| ChaCha20-Poly1305 seal, 4,000-byte frame | 4,000 B | ${rate(frame.length, () => aeadSeal(key, nonce, frame, nonce), 300).toFixed(1)} |`);
}

main();
void xsFigures();
