import * as nodeCrypto from 'node:crypto';
import {
  sha256, Sha256, hmacSha256, hkdfExtract, hkdfSha256, chacha20, chacha20Block, poly1305, Poly1305,
  aeadSeal, aeadOpen, constantTimeEqual, toHex, fromHex,
} from '../src/crypto';

const hex = (s: string) => fromHex(s.replace(/\s+/g, ''))!;
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const range = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
const rand = (n: number) => Uint8Array.from(nodeCrypto.randomBytes(n));
const SUNSCREEN = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

describe('SHA-256 (FIPS 180-4 examples)', () => {
  it('hashes the standard messages', () => {
    expect(toHex(sha256(ascii('')))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))))
      .toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    const million = new Sha256();
    const chunk = new Uint8Array(1000).fill(0x61);
    for (let i = 0; i < 1000; i++) million.update(chunk);
    expect(toHex(million.digest())).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });
  it('agrees with node:crypto for every length around the block edges, fed in odd chunks', () => {
    for (let n = 0; n < 200; n++) {
      const data = rand(n);
      const want = nodeCrypto.createHash('sha256').update(data).digest('hex');
      const h = new Sha256();
      for (let at = 0; at < n; at += 7) h.update(data.subarray(at, at + 7));
      expect(toHex(h.digest())).toBe(want);
      expect(toHex(sha256(data))).toBe(want);
    }
  });
});

describe('HMAC-SHA256 (RFC 4231)', () => {
  it('passes test cases 1, 2, 4, 6 and 7', () => {
    expect(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), ascii('Hi There'))))
      .toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(toHex(hmacSha256(ascii('Jefe'), ascii('what do ya want for nothing?'))))
      .toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(toHex(hmacSha256(range(1, 25), new Uint8Array(50).fill(0xcd))))
      .toBe('82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b');
    expect(toHex(hmacSha256(new Uint8Array(131).fill(0xaa), ascii('Test Using Larger Than Block-Size Key - Hash Key First'))))
      .toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
    expect(toHex(hmacSha256(new Uint8Array(131).fill(0xaa), ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'))))
      .toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  });
  it('agrees with node:crypto for random keys and messages', () => {
    for (let i = 0; i < 100; i++) {
      const key = rand(i % 3 === 0 ? 100 : i % 64);
      const data = rand(i * 3);
      expect(toHex(hmacSha256(key, data.subarray(0, i), data.subarray(i))))
        .toBe(nodeCrypto.createHmac('sha256', key).update(data).digest('hex'));
    }
  });
});

describe('HKDF-SHA256 (RFC 5869)', () => {
  it('passes test cases 1 and 3', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    expect(toHex(hkdfExtract(range(0, 13), ikm))).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    expect(toHex(hkdfSha256(ikm, range(0, 13), range(0xf0, 10), 42)))
      .toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    expect(toHex(hkdfSha256(ikm, new Uint8Array(0), new Uint8Array(0), 42)))
      .toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });
  it('agrees with node:crypto.hkdfSync', () => {
    for (const length of [1, 32, 33, 64, 100]) {
      const ikm = rand(32), salt = rand(length % 40), info = rand(length % 17);
      const want = Buffer.from(nodeCrypto.hkdfSync('sha256', ikm, salt, info, length)).toString('hex');
      expect(toHex(hkdfSha256(ikm, salt, info, length))).toBe(want);
    }
  });
});

describe('ChaCha20 (RFC 8439)', () => {
  const key = range(0, 32);
  it('produces the 2.3.2 keystream block', () => {
    expect(toHex(chacha20Block(key, hex('000000090000004a00000000'), 1))).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
      'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e');
  });
  it('encrypts the 2.4.2 sunscreen text', () => {
    expect(toHex(chacha20(key, hex('000000000000004a00000000'), 1, SUNSCREEN))).toBe(
      '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
      'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
      '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
      '5af90bbf74a35be6b40b8eedf2785e42874d');
  });
  it('agrees with node:crypto chacha20 at every length up to 300 bytes', () => {
    for (let n = 0; n <= 300; n += 13) {
      const k = rand(32), nonce = rand(12), data = rand(n);
      const iv = Buffer.concat([Buffer.from([5, 0, 0, 0]), nonce]); // counter 5, little-endian
      const want = nodeCrypto.createCipheriv('chacha20', k, iv).update(data);
      expect(toHex(chacha20(k, nonce, 5, data))).toBe(want.toString('hex'));
    }
  });
});

describe('Poly1305 (RFC 8439)', () => {
  it('computes the 2.5.2 tag', () => {
    const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    expect(toHex(poly1305(key, ascii('Cryptographic Forum Research Group')))).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  });
  it('handles the edge cases of appendix A.3 (wrap-around and values near 2^130-5)', () => {
    // Test vector #1: all-zero key and message -> zero tag.
    expect(toHex(poly1305(new Uint8Array(32), new Uint8Array(64)))).toBe('00000000000000000000000000000000');
    // A.3 #5: r=2, s=0, message all 0xff -> tag 03000000000000000000000000000000.
    const k5 = new Uint8Array(32); k5[0] = 2;
    expect(toHex(poly1305(k5, new Uint8Array(16).fill(0xff)))).toBe('03000000000000000000000000000000');
    // A.3 #6: r=2, s=ff..ff, message 02 00.. -> tag 03 00..
    const k6 = new Uint8Array(32); k6[0] = 2; k6.fill(0xff, 16);
    const m6 = new Uint8Array(16); m6[0] = 2;
    expect(toHex(poly1305(k6, m6))).toBe('03000000000000000000000000000000');
    // A.3 #7: r=1, message ff..ff f0..ff 11 00.. -> tag 05 00..
    const k7 = new Uint8Array(32); k7[0] = 1;
    const m7 = hex('ffffffffffffffffffffffffffffffff' + 'f0ffffffffffffffffffffffffffffff' + '11000000000000000000000000000000');
    expect(toHex(poly1305(k7, m7))).toBe('05000000000000000000000000000000');
    // A.3 #9: r=2, message fd ff.. -> tag fa ff..
    const m9 = hex('fdffffffffffffffffffffffffffffff');
    expect(toHex(poly1305(k5, m9))).toBe('faffffffffffffffffffffffffffffff');
    // A.3 #10: r = 1 + 4*2^64, s=0 -> tag 14 00.. 55 00..
    const m11 = hex('e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000');
    const k11 = new Uint8Array(32); k11[0] = 1; k11[8] = 4;
    expect(toHex(poly1305(k11, m11))).toBe('14000000000000005500000000000000');
  });
  it('agrees with a BigInt reference on random and all-ones inputs', () => {
    const le = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
    const p = (1n << 130n) - 5n;
    const reference = (key: Uint8Array, msg: Uint8Array) => {
      const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
      let h = 0n;
      for (let at = 0; at < msg.length; at += 16) {
        const block = msg.subarray(at, at + 16);
        h = ((h + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
      }
      const tag = (h + le(key.subarray(16))) & ((1n << 128n) - 1n);
      return Uint8Array.from({ length: 16 }, (_, i) => Number((tag >> BigInt(8 * i)) & 0xffn));
    };
    for (let i = 0; i < 60; i++) {
      const key = i % 4 === 0 ? new Uint8Array(32).fill(0xff) : rand(32);
      const msg = i % 3 === 0 ? new Uint8Array(i * 5).fill(0xff) : rand(i * 5);
      expect(toHex(poly1305(key, msg))).toBe(toHex(reference(key, msg)));
    }
  });
  it('gives the same tag however the message is chunked', () => {
    const key = rand(32), msg = rand(257);
    const want = toHex(poly1305(key, msg));
    const p = new Poly1305(key);
    for (let at = 0; at < msg.length; at += 5) p.update(msg.subarray(at, at + 5));
    expect(toHex(p.digest())).toBe(want);
  });
});

describe('ChaCha20-Poly1305 AEAD (RFC 8439 2.8.2)', () => {
  const key = range(0x80, 32);
  const nonce = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  it('seals the sunscreen text to the published ciphertext and tag', () => {
    const sealed = aeadSeal(key, nonce, SUNSCREEN, aad);
    expect(toHex(sealed.subarray(0, SUNSCREEN.length))).toBe(
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6' +
      '3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
      '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc' +
      '3ff4def08e4b7a9de576d26586cec64b6116');
    expect(toHex(sealed.subarray(SUNSCREEN.length))).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(aeadOpen(key, nonce, sealed, aad)).toEqual(SUNSCREEN);
  });
  it('refuses a flipped bit anywhere, a wrong aad, nonce or key', () => {
    const sealed = aeadSeal(key, nonce, SUNSCREEN, aad);
    for (let i = 0; i < sealed.length; i += 9) {
      const bad = sealed.slice();
      bad[i] ^= 0x04;
      expect(aeadOpen(key, nonce, bad, aad)).toBeUndefined();
    }
    expect(aeadOpen(key, nonce, sealed, aad.subarray(1))).toBeUndefined();
    expect(aeadOpen(key, hex('070000004041424344454648'), sealed, aad)).toBeUndefined();
    expect(aeadOpen(range(0x81, 32), nonce, sealed, aad)).toBeUndefined();
    expect(aeadOpen(key, nonce, sealed.subarray(0, 10), aad)).toBeUndefined();
  });
  it('agrees with node:crypto chacha20-poly1305', () => {
    for (let n = 0; n < 150; n += 11) {
      const k = rand(32), iv = rand(12), a = rand(n % 20), data = rand(n);
      const c = nodeCrypto.createCipheriv('chacha20-poly1305', k, iv, { authTagLength: 16 });
      c.setAAD(a, { plaintextLength: data.length });
      const want = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]).toString('hex');
      expect(toHex(aeadSeal(k, iv, data, a))).toBe(want);
    }
  });
});

it('constantTimeEqual compares contents and lengths', () => {
  expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
  expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
  expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
});
