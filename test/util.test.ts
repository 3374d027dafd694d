import { crc32 } from '../src/util/crc32';
import { utf8Decode, utf8Encode } from '../src/util/utf8';
import { base64Decode, base64Encode } from '../src/util/base64';
import { md5Hex } from '../src/util/md5';

const ascii = (s: string) => utf8Encode(s);

describe('crc32', () => {
  it('matches the REFERENCE vector', () => {
    expect(crc32(ascii('{"req":"hub.sync"}')).toString(16).toUpperCase()).toBe('10BAC79A');
  });
  it('matches zlib for the check string and continues across chunks', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(ascii('6789'), crc32(ascii('12345')))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('utf8', () => {
  it.each(['', 'abc', 'é', '€uro', '😀 smile', '中文'])('round-trips %p like Buffer', (s) => {
    const bytes = utf8Encode(s);
    expect(Array.from(bytes)).toEqual(Array.from(Buffer.from(s, 'utf8')));
    expect(utf8Decode(bytes)).toBe(s);
  });
  it('replaces malformed sequences with U+FFFD and keeps the valid text around them', () => {
    const cases: [number[], RegExp][] = [
      [[0xff], /^\ufffd$/], [[0xc3], /^\ufffd$/], [[0xe2, 0x82], /^\ufffd+$/], [[0xed, 0xa0, 0x80], /^\ufffd+$/],
      [[0xc0, 0x80], /^\ufffd+$/], [[0x61, 0x80, 0x62], /^a\ufffdb$/], [[0x61, 0xe2, 0x82, 0xac, 0x62], /^a€b$/],
    ];
    for (const [bytes, want] of cases) expect(utf8Decode(Uint8Array.from(bytes))).toMatch(want);
  });
});

describe('base64', () => {
  it('matches RFC 4648 vectors', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, enc] of vectors) {
      expect(base64Encode(ascii(plain))).toBe(enc);
      expect(utf8Decode(base64Decode(enc)!)).toBe(plain);
    }
  });
  it('round-trips all byte values and rejects junk', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(base64Encode(all)).toBe(Buffer.from(all).toString('base64'));
    expect(Array.from(base64Decode(base64Encode(all))!)).toEqual(Array.from(all));
    expect(base64Decode('ab$d')).toBeUndefined();
    expect(base64Decode('abcde')).toBeUndefined();
  });
});

describe('md5', () => {
  it('matches RFC 1321 vectors', () => {
    expect(md5Hex(ascii(''))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex(ascii('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex(ascii('12345678901234567890123456789012345678901234567890123456789012345678901234567890'))).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });
  it('matches node crypto on sizes around the block boundary', () => {
    const { createHash } = require('crypto');
    for (const n of [55, 56, 63, 64, 65, 1000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
      expect(md5Hex(data)).toBe(createHash('md5').update(data).digest('hex'));
    }
  });
});
