import { SAMPLE_MESSAGES } from './sync-fixtures';
import { encodeMessage, decodeMessage, messageTypeOf, fitNotes, MESSAGE_TYPES, type NotesMessage } from '../src/sync/messages';
import { FrameReader, FrameSealer, FrameOpener, encodeFrame, encodePlain, TYPE_ENCRYPTED, type Frame } from '../src/sync/frame';
import { ByteReader, ByteWriter, FrameError } from '../src/sync/varint-io';
import { packJson, unpackJson } from '../src/sync/pjson';
import { packBlock, MAX_BLOCK, type WireNote } from '../src/sync/notes-block';
import type { Json } from '../src/json';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

// Fixed bytes of every sample message: the protocol's test vectors (docs/SYNC.md section 2).
const VECTORS: Record<string, string> = {
  hello: '4f435301136465763a383634343735303434323135323538056c61622d3713636f6d2e6578616d706c653a776561746865720102030405060708101112131415161718191a1b1c1d1e1f018020',
  challenge: '01a0a1a2a3a4a5a6a7202122232425262728292a2b2c2d2e2f018020',
  provision: '404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f',
  auth: '606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f',
  welcome: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9ffbd8d79daa33086170703a313233340001',
  refuse: '020f6465766963652064697361626c6564',
  resume: '4f435301136465763a383634343735303434323135323538056c61622d3713636f6d2e6578616d706c653a776561746865720102030405060708101112131415161718191a1b1c1d1e1f308020c0c1c2c3c4c5c6c7c8c9cacbcccdcecf',
  resumed: '202122232425262728292a2b2c2d2e2f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9ffbd8d79daa33086170703a3132333430',
  challenge2: '01a0a1a2a3a4a5a6a7202122232425262728292a2b2c2d2e2f028020',
  catalog: '00b8d5fec806020a73656e736f72732e716fcdab3412000307646174612e7169000000001100',
  catalogReply: '00020a73656e736f72732e716f29010007646174612e7169000002',
  template: '0a73656e736f72732e716fcdab34127b22626f6479223a7b2274223a31342e317d7d',
  notes: '0a73656e736f72732e716f292c013600024182aefd910d17806502020f03630808851010d7011028a0a8046f006b02640121c5020310a90501060102417801000203',
  notes2: '09636f6e6669672e64620003000252c8010161043802016209080706',
  ack: '0a73656e736f72732e716f2c',
  done: '',
  env: '9cd6fec806006210696e74657276616c423630086d6f64654365636f',
  skip: '056d792e716f0c6261642074656d706c617465',
  ping: 'ac02',
  pong: 'ac02',
  close: '',
  web: '01034745540777656174686572092f6e6f773f69643d31106170706c69636174696f6e2f6a736f6e5a0000802000'
    + '00',
  webReply: '01c801106170706c69636174696f6e2f6a736f6e01',
  signal: Buffer.from('{"body":{"led":"on"}}').toString('hex'),
  fwQuery: '01166170702432303230303930333230303335312e62696e',
  fwInfo: '01076170702e62696e00620c6c656e677468038ccf02066d643506203561336637336137663162346263383931376231326233366332353332393639',
  fwGet: '0205632e62696e80208010',
  fwData: '0101618010c241243500616263',
  fwStatus: '010161057265616479026f6b03312e32',
};

describe('sync messages', () => {
  it('encode to the documented bytes and decode back, for every message type', () => {
    const seen = new Set<string>();
    for (const m of SAMPLE_MESSAGES) {
      const key = seen.has(m.type) ? `${m.type}2` : m.type;
      seen.add(m.type);
      const content = encodeMessage(m);
      expect([key, hex(content)]).toEqual([key, VECTORS[key]]);
      expect(decodeMessage(messageTypeOf(m), content)).toEqual(m);
    }
    expect([...seen].sort()).toEqual(Object.keys(MESSAGE_TYPES).sort());
  });

  it('decode the hand-written notes block vector: flags, counter step, time delta, id, record, tombstone', () => {
    // 02 notes | 52 = record+id+time, zigzag(100)=c8 01, id "a", len 4 | 38 = deleted+id+step, step 2, id "b" | 09 08 07 06
    const m = decodeMessage(0x20, unhex('09636f6e6669672e64620003000252c8010161043802016209080706')) as NotesMessage;
    expect(m.notes).toEqual([
      { counter: 1, time: 100, id: 'a', record: Uint8Array.of(9, 8, 7, 6) },
      { counter: 3, time: 100, id: 'b', deleted: true },
    ]);
  });

  it('reject every truncation and trailing garbage with FrameError', () => {
    for (const m of SAMPLE_MESSAGES) {
      const content = encodeMessage(m);
      // A template definition, a web body, a signal or a FW_DATA's bytes is the rest of the frame: only cuts before it are detectable.
      const rest = m.type === 'template' ? m.definition.length : m.type === 'web' || m.type === 'webReply' || m.type === 'signal' ? m.body.length : m.type === 'fwData' ? m.data.length : -1;
      const end = rest < 0 ? content.length : content.length - rest;
      for (let cut = 0; cut < end; cut++) {
        expect(() => decodeMessage(messageTypeOf(m), content.subarray(0, cut))).toThrow(FrameError);
      }
      if (rest < 0) expect(() => decodeMessage(messageTypeOf(m), Uint8Array.of(...content, 0))).toThrow(FrameError);
    }
    expect(() => decodeMessage(0x7e, new Uint8Array(0))).toThrow(/unknown message type/);
  });

  it('survive fuzzing: mutated or random content decodes or throws FrameError, nothing else', () => {
    const rnd = prng(3);
    for (let n = 0; n < 20000; n++) {
      const m = SAMPLE_MESSAGES[n % SAMPLE_MESSAGES.length];
      let content = encodeMessage(m);
      if (n % 3 === 0) content = Uint8Array.from({ length: Math.floor(rnd() * 60) }, () => Math.floor(rnd() * 256));
      else {
        content = content.slice();
        if (content.length) for (let k = 0; k < 2; k++) content[Math.floor(rnd() * content.length)] = Math.floor(rnd() * 256);
      }
      try {
        decodeMessage(messageTypeOf(m), content);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
      }
    }
  });

  it('carry a note location in the extension, and refuse an impossible one', () => {
    const m: NotesMessage = { type: 'notes', name: 'a.qo', since: 0, until: 1, notes: [
      { counter: 1, time: 50, body: { x: 1 }, where: { lat: 48.8584, lon: 2.2945, time: 40 } }] };
    const content = encodeMessage(m);
    expect(decodeMessage(0x20, content)).toEqual(m);
    const far = { ...m, notes: [{ ...m.notes[0], where: { lat: 91, lon: 0, time: 0 } }] };
    expect(() => decodeMessage(0x20, encodeMessage(far))).toThrow(/location/);
  });

  it('refuse bad notes: counters not rising, beyond until, tombstone with body, reserved flags', () => {
    const base = { type: 'notes' as const, name: 'a.qo', since: 5, until: 9 };
    expect(() => encodeMessage({ ...base, notes: [{ counter: 5, time: 0 }] })).toThrow(/rise/);
    expect(() => encodeMessage({ ...base, notes: [{ counter: 10, time: 0 }] })).toThrow(/beyond until/);
    expect(() => encodeMessage({ ...base, notes: [{ counter: 6, time: 0, deleted: true, body: {} }] })).toThrow(/tombstone/);
    // hand-made blocks: count 1, flags 0x80 (reserved) / counter beyond until
    const block = (b: string) => unhex('04612e716f0509' + '00' + b);
    expect(() => decodeMessage(0x20, block('0180' + '02'))).toThrow(/extension/);
    expect(() => decodeMessage(0x20, block('012005'))).toThrow(/beyond until/);
    expect(() => decodeMessage(0x20, block('0109'))).toThrow(FrameError); // body flag without its length
  });
});

describe('packed JSON', () => {
  const samples: Json[] = [
    null, true, false, 0, 127, 128, -1, -129, 21.5, -3.25, 0.1, 1e21, 1.5e-7, 0.30000000000000004, Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER, 2 ** 60, '', 'é€😀', 'x'.repeat(31), 'y'.repeat(32), [], [1, [2, [3]]], Array.from({ length: 20 }, (_, i) => i),
    { a: 1, b: { a: 2, c: [{ a: 3 }] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1.25])),
  ];
  it('round-trips to identical JSON text', () => {
    for (const v of samples) expect(JSON.stringify(unpackJson(packJson(v)))).toBe(JSON.stringify(v));
  });
  it('keeps a __proto__ key as data, as JSON.parse does', () => {
    const v = JSON.parse('{"__proto__":{"x":1},"y":2}');
    const back = unpackJson(packJson(v));
    expect(JSON.stringify(back)).toBe('{"__proto__":{"x":1},"y":2}');
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
  it('uses the short forms and decimals of the spec', () => {
    expect(hex(packJson({ temp: 21.5, n: 40 }))).toBe('62' + '0874656d70' + '10d701' + '026e' + 'a8');
    expect(hex(packJson(-3.25))).toBe('21c502');
    expect(hex(packJson([300, -2]))).toBe('72' + '03ac02' + '0401');
  });
  it('refuses nesting deeper than 16 and unknown tags', () => {
    let deep: Json = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(() => packJson(deep)).toThrow(/deep/);
    expect(() => unpackJson(Uint8Array.of(0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x80)))
      .toThrow(/deep/);
    expect(() => unpackJson(Uint8Array.of(0x30))).toThrow(/tag/);
    expect(() => unpackJson(Uint8Array.of(0x61, 0x03, 0x80))).toThrow(/key index/);
  });
});

describe('varints', () => {
  it('encode canonically and refuse overlong or oversize forms', () => {
    expect(hex(new ByteWriter().varint(0).varint(127).varint(128).varint(2 ** 53 - 1).finish())).toBe('007f8001ffffffffffffff0f');
    expect(new ByteReader(unhex('ffffffffffffff0f')).varint()).toBe(2 ** 53 - 1);
    expect(() => new ByteReader(unhex('8000')).varint()).toThrow(/canonical/);
    expect(() => new ByteReader(unhex('ffffffffffffffff01')).varint()).toThrow(/too long/);
    expect(() => new ByteReader(unhex('8080808080808010')).varint()).toThrow(/too large/);
    const w = new ByteWriter();
    for (const v of [0, -1, 1, -64, 64, -(2 ** 40)]) w.zigzag(v);
    const r = new ByteReader(w.finish());
    expect([0, -1, 1, -64, 64, -(2 ** 40)].map(() => r.zigzag())).toEqual([0, -1, 1, -64, 64, -(2 ** 40)]);
  });
});

describe('FrameReader', () => {
  const frames = SAMPLE_MESSAGES.map((m) => encodePlain(m));
  const stream = Uint8Array.from(frames.flatMap((f) => Array.from(f)));

  it('reassembles the same frames whatever the chunking (every split point, then random chunks)', () => {
    const want = SAMPLE_MESSAGES.map((m) => hex(Uint8Array.of(messageTypeOf(m), ...encodeMessage(m))));
    const collect = (chunks: Uint8Array[]) => {
      const reader = new FrameReader();
      const got: Frame[] = [];
      for (const c of chunks) got.push(...reader.push(c));
      expect(reader.buffered).toBe(0);
      return got.map((f) => hex(Uint8Array.of(f.type, ...f.body)));
    };
    for (let split = 0; split <= stream.length; split++) {
      expect(collect([stream.subarray(0, split), stream.subarray(split)])).toEqual(want);
    }
    const rnd = prng(9);
    for (let n = 0; n < 50; n++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = Math.floor(rnd() * 12);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(collect(chunks)).toEqual(want);
    }
    expect(collect(Array.from(stream, (b) => Uint8Array.of(b)))).toEqual(want);
  });

  it('refuses an oversize or zero length before buffering it, and stays failed', () => {
    const reader = new FrameReader(4096);
    expect(() => reader.push(unhex('812001'))).toThrow(/out of range/); // n = 4097
    expect(() => reader.push(encodeFrame(1, new Uint8Array(3)))).toThrow(FrameError);
    expect(() => new FrameReader().push(unhex('00'))).toThrow(/out of range/);
    expect(() => new FrameReader().push(unhex('8000'))).toThrow(/canonical/);
    expect(() => new FrameReader().push(unhex('808080'))).toThrow(/too long/);
    expect(() => new FrameReader(100).push(encodeFrame(1, new Uint8Array(100)))).toThrow(/out of range/);
    expect(new FrameReader(100).push(encodeFrame(1, new Uint8Array(99))).length).toBe(1);
  });
});

describe('sealed frames', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const notes = SAMPLE_MESSAGES.filter((m) => m.type === 'notes');

  it('open in order, in clear (E=0) or encrypted (E=1)', () => {
    const sealer = new FrameSealer(key);
    const opener = new FrameOpener(key);
    const reader = new FrameReader();
    const plain = sealer.sealMessage(notes[0], false);
    const secret = sealer.sealMessage(notes[0], true);
    // E=0 leaves the content readable on the wire; E=1 hides it.
    const content = encodeMessage(notes[0]);
    expect(hex(plain)).toContain(hex(content));
    expect(hex(secret)).not.toContain(hex(content.subarray(0, 12)));
    expect(secret[1]).toBe(0x20 | TYPE_ENCRYPTED); // one length byte, then the type
    const [f1, f2] = reader.push(Uint8Array.of(...plain, ...secret));
    expect(opener.openMessage(f1)).toEqual({ message: notes[0], encrypted: false });
    expect(opener.openMessage(f2)).toEqual({ message: notes[0], encrypted: true });
  });

  it('refuse a flipped bit, a flipped E bit, a replayed or reordered frame, and a wrong key', () => {
    const make = () => {
      const s = new FrameSealer(key);
      return [s.sealMessage(notes[0], true), s.sealMessage(notes[1], false)];
    };
    const read = (b: Uint8Array) => new FrameReader().push(b)[0];
    const [a, b] = make();
    for (let i = 0; i < a.length; i++) {
      const bad = a.slice();
      bad[i] ^= i === 0 || i === 1 ? 0 : 1; // keep the length intact; flip everything else
      if (i < 2) continue;
      expect(() => new FrameOpener(key).open(read(bad))).toThrow(/authentication failed/);
    }
    const flippedE = a.slice();
    flippedE[2] ^= TYPE_ENCRYPTED;
    expect(() => new FrameOpener(key).open(read(flippedE))).toThrow(/authentication failed/);
    const bad = b.slice();
    bad[10] ^= 1;
    const o = new FrameOpener(key);
    o.open(read(a));
    expect(() => o.open(read(bad))).toThrow(/authentication failed/);
    expect(() => new FrameOpener(key).open(read(b))).toThrow(/authentication failed/); // reordered: b first
    const o2 = new FrameOpener(key);
    o2.open(read(a));
    expect(() => o2.open(read(a))).toThrow(/authentication failed/); // replayed
    expect(() => new FrameOpener(Uint8Array.from(key, (x) => x ^ 1)).open(read(a))).toThrow(/authentication failed/);
  });
});

describe('fitNotes', () => {
  const many: WireNote[] = Array.from({ length: 2000 }, (_, i) => ({
    counter: i + 1, time: 1763683200 + i, body: { temp: 20 + (i % 50) / 10, humidity: 30 + (i % 40), seq: i, label: `node-${i % 17}` },
  }));
  it('fills a frame, ends until at the last included note, and the next batch resumes there', () => {
    let since = 0;
    const seen: number[] = [];
    let frames = 0;
    while (since < 2000) {
      const rest = many.filter((n) => n.counter > since);
      const { message, content, count } = fitNotes('s.qo', since, 2000, rest);
      expect(content.length).toBeLessThanOrEqual(4096 - 17);
      if (count < rest.length) {
        // Filled: either the frame or the uncompressed block limit is nearly reached.
        const raw = packBlock(since, rest.slice(0, count)).length;
        expect(Math.max(content.length / (4096 - 17), raw / MAX_BLOCK)).toBeGreaterThan(0.9);
      }
      expect(message.until).toBe(count === rest.length ? 2000 : rest[count - 1].counter);
      const back = decodeMessage(0x20, content) as NotesMessage;
      seen.push(...back.notes.map((n) => n.counter));
      since = message.until;
      frames++;
    }
    expect(seen).toEqual(many.map((n) => n.counter));
    expect(frames).toBeGreaterThan(2);
  });
  it('fills frames to the frame limit when notes do not compress (random records)', () => {
    const rnd = prng(21);
    const noisy: WireNote[] = Array.from({ length: 1000 }, (_, i) => ({
      counter: i + 1, time: 1000 + i, record: Uint8Array.from({ length: 13 }, () => Math.floor(rnd() * 256)),
    }));
    const { content, count } = fitNotes('s.qo', 0, 1000, noisy);
    expect(count).toBeLessThan(1000);
    expect(content.length).toBeLessThanOrEqual(4096 - 17);
    expect(content.length).toBeGreaterThan(0.97 * (4096 - 17));
  });
  it('ends a frame before a note whose keys would pass the 256 distinct keys of a block', () => {
    const wide = (prefix: string): { [k: string]: Json } => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`${prefix}${i}`, i]));
    const notes: WireNote[] = [1, 2, 3].map((counter) => ({ counter, time: 0, body: wide(`n${counter}_`) }));
    let since = 0;
    for (let rest = notes; rest.length;) {
      const { message, content, count } = fitNotes('w.qo', since, 3, rest);
      expect(count).toBe(1);
      expect(decodeMessage(MESSAGE_TYPES.notes, content)).toEqual(message);
      since = message.until;
      rest = rest.slice(count);
    }
    expect(since).toBe(3);
  });
  it('throws when one note cannot fit a frame', () => {
    expect(() => fitNotes('s.qo', 0, 1, [{ counter: 1, time: 0, payload: Uint8Array.from(Array.from({ length: 5000 }, prng(5)), (x) => x * 256) }]))
      .toThrow(/too large/);
  });
});
