import { compress, decompress, CompressError, WINDOW } from '../src/sync/compress';
import { toHex } from '../src/crypto';

const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
/** Byte equality without jest's slow element-by-element diff. */
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** A deterministic pseudo-random generator, so fuzz failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('LZ-2K compressor', () => {
  it('produces the documented bytes (test vectors)', () => {
    expect(toHex(compress(new Uint8Array(0)))).toBe('00');
    // 10 x 'a': length 10, control 0b10, literal 'a', match len 9 dist 1 -> (6<<3)|0, 0
    expect(toHex(compress(ascii('aaaaaaaaaa')))).toBe('0a0261' + '3000');
    // 'abcabcabc': three literals then match len 6 dist 3 -> (3<<3), 2
    expect(toHex(compress(ascii('abcabcabc')))).toBe('0908616263' + '1802');
    // a 100-byte run uses the length extension: len 99 -> code 96 = 31 + 65
    expect(toHex(compress(new Uint8Array(100).fill(7)))).toBe('64020' + '7f80041');
    // with a dictionary the first bytes can already be a match
    expect(toHex(compress(ascii('"temperature":'), ascii('{"temperature":')))).toBe('0e01' + '580d');
    expect(toHex(compress(ascii('{"temp":21.5,"humidity":40,"seq":1}{"temp":21.7,"humidity":41,"seq":2}')))).toBe(
      // hand-checked: 4 groups of 8 literals, then control a8: ':' '1' '}' match(11,35) '7' match(13,35) '1' match(7,35)
      '4600' + '7b2274656d70223a' + '00' + '32312e352c226875' + '00' + '6d6964697479223a' + '00' + '34302c2273657122' +
      'a8' + '3a317d' + '4022' + '37' + '5022' + '31' + '2022' + '00' + '327d');
  });

  it('round-trips text, binary, runs and random data of many sizes', () => {
    const rnd = prng(1);
    const samples: Uint8Array[] = [ascii('x'), ascii('xy'), ascii('hello hello hello'), new Uint8Array(5000)];
    for (let n = 0; n < 60; n++) {
      const size = Math.floor(rnd() * 9000);
      const alphabet = 1 + Math.floor(rnd() * 255);
      samples.push(Uint8Array.from({ length: size }, () => Math.floor(rnd() * alphabet)));
    }
    const json = Array.from({ length: 200 }, (_, i) => JSON.stringify({ temp: 20 + (i % 7) / 2, humidity: 40 + (i % 13), seq: i })).join('');
    samples.push(ascii(json));
    for (const s of samples) {
      const c = compress(s);
      expect(same(decompress(c, s.length), s)).toBe(true);
      const dict = ascii('"humidity":"temp":"seq":');
      expect(same(decompress(compress(s, dict), s.length, dict), s)).toBe(true);
    }
    expect(compress(ascii(json)).length).toBeLessThan(json.length * 0.45);
  });

  it('never reaches further back than the 2 KB window', () => {
    const rnd = prng(7);
    const block = Uint8Array.from({ length: 3000 }, () => Math.floor(rnd() * 256));
    const twice = new Uint8Array(6000);
    twice.set(block);
    twice.set(block, 3000);
    const c = compress(twice);
    expect(same(decompress(c, twice.length), twice)).toBe(true);
    expect(c.length).toBeGreaterThan(5900); // the repeat is 3000 back: out of reach
    const near = new Uint8Array(2 * (WINDOW - 100));
    near.set(block.subarray(0, WINDOW - 100));
    near.set(block.subarray(0, WINDOW - 100), WINDOW - 100);
    expect(compress(near).length).toBeLessThan(near.length * 0.6); // within reach: the copy is matched
  });

  it('rejects malformed input with CompressError and never over-allocates', () => {
    const good = compress(ascii('the quick brown fox jumps over the quick brown dog'));
    expect(() => decompress(good, 10)).toThrow(CompressError); // declared length above the limit
    for (let cut = 0; cut < good.length; cut++) expect(() => decompress(good.subarray(0, cut), 1000)).toThrow(CompressError);
    expect(() => decompress(Uint8Array.of(...good, 0), 1000)).toThrow(CompressError);
    expect(() => decompress(Uint8Array.of(5, 0x01, 0x00, 0x00), 100)).toThrow(/before start/);
    expect(() => decompress(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x7f), 1 << 30)).toThrow(CompressError);
    expect(() => decompress(Uint8Array.of(0x02, 0x02, 0x61, 0x30, 0x00), 100)).toThrow(/past declared/);
  });

  it('survives fuzzing: random and mutated streams either decode within the limit or throw CompressError', () => {
    const rnd = prng(42);
    const base = compress(ascii(JSON.stringify({ a: 'some text', b: [1, 2, 3], c: 'some text again and again' })));
    for (let n = 0; n < 5000; n++) {
      let input: Uint8Array;
      if (n % 2) {
        input = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
      } else {
        input = base.slice();
        for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) input[Math.floor(rnd() * input.length)] = Math.floor(rnd() * 256);
      }
      try {
        const out = decompress(input, 4096);
        expect(out.length).toBeLessThanOrEqual(4096);
      } catch (e) {
        expect(e).toBeInstanceOf(CompressError);
      }
    }
  });
});
