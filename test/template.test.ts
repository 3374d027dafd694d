import { CardError } from '../src/errors';
import type { Json, JsonObject } from '../src/json';
import {
  compileTemplate, fromHalfBits, halfToDecimal, packNote, parseTemplate, recordIsFull, sameTemplate,
  serializeTemplate, templateBytes, templateId, toHalfBits, unpackNote,
} from '../src/template';
import type { PackOptions, Template } from '../src/template';
import { crc32 } from '../src/util/crc32';
import { utf8Encode } from '../src/util/utf8';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The CardError thrown by fn (fails the test if nothing is thrown). */
function caught(fn: () => unknown): CardError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CardError) return e;
    throw e;
  }
  throw new Error('expected a CardError');
}

function roundTrip(t: Template, body: JsonObject, options: PackOptions = {}, payload?: Uint8Array) {
  return unpackNote(t, packNote(t, body, payload, options));
}

describe('half floats (hint 12.1)', () => {
  it.each([
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
    [65519.99, 0x7bff], [65520, 0x7c00], [-65520, 0xfc00], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
    [1023 * 2 ** -24, 0x03ff], [1 / 3, 0x3555], [0.1, 0x2e66], [Math.PI, 0x4248],
    // ties go to the even neighbour
    [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [1023.5 * 2 ** -24, 0x0400],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2049, 0x6800], [2051, 0x6802],
    // just off a tie goes to the nearer one
    [1 + 2 ** -11 + 2 ** -30, 0x3c01], [2049.0001, 0x6801],
  ])('%p encodes to the bits %p', (value, bits) => {
    expect(toHalfBits(value)).toBe(bits);
  });

  it('decodes every finite pattern exactly and re-encodes it to itself', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) !== 31 && toHalfBits(fromHalfBits(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds every midpoint between neighbours to the even one, and nearby values to the nearer', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const lo = fromHalfBits(h);
      const hi = fromHalfBits(h + 1);
      const mid = (lo + hi) / 2; // exact in a double
      const even = h % 2 === 0 ? h : h + 1;
      const nudge = (hi - lo) / 1024;
      if (toHalfBits(mid) !== even || toHalfBits(-mid) !== (even | 0x8000) ||
          toHalfBits(mid - nudge) !== h || toHalfBits(mid + nudge) !== h + 1) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('reads back the shortest decimal that encodes the same', () => {
    expect(halfToDecimal(toHalfBits(3.7))).toBe(3.7);
    expect(halfToDecimal(toHalfBits(0.1))).toBe(0.1);
    expect(halfToDecimal(toHalfBits(3.14159))).toBe(3.14);
    expect(halfToDecimal(0x0001)).toBe(6e-8);
    const wrong: number[] = [];
    for (let h = 0; h < 0x7c00; h++) if (toHalfBits(halfToDecimal(h)) !== h) wrong.push(h);
    expect(wrong).toEqual([]);
  });
});

describe('record format', () => {
  it('packs a pinned vector: flags, time, then fields in template order', () => {
    const t = compileTemplate({ a: 11, b: 22, c: true, d: '3', h: 12.1 });
    const r = packNote(t, { a: -1, b: 258, c: true, d: 'xyz', h: 1 }, undefined, { time: 0x01020304 });
    // flags=TIME | time LE | a=-1 | b=258 LE | c | d: len 3 + "xyz" | h: half 1.0
    expect(hex(r)).toBe('02' + '04030201' + 'ff' + '0201' + '01' + '03' + '78797a' + '003c');
    expect(unpackNote(t, r)).toEqual({ body: { a: -1, b: 258, c: true, d: 'xyz', h: 1 }, time: 0x01020304 });
  });

  it('stores location as degrees x 1e7 and reads it back to 7 decimals', () => {
    const t = compileTemplate({ v: 11 });
    const r = packNote(t, { v: 1 }, undefined, { time: 5, lat: 42.3601, lon: -71.0589123, ltime: 4 });
    expect(r.length).toBe(1 + 4 + 8 + 4 + 1);
    expect(unpackNote(t, r)).toEqual({ body: { v: 1 }, time: 5, lat: 42.3601, lon: -71.0589123, ltime: 4 });
  });

  it('refuses metadata that cannot be stored', () => {
    const t = compileTemplate({ v: 11 });
    expect(caught(() => packNote(t, {}, undefined, { time: -1 })).wireText).toMatch(/^time: .*\{bad-arg\}$/);
    expect(caught(() => packNote(t, {}, undefined, { lat: 91, lon: 0 })).message).toMatch(/^lat:/);
  });

  it('detects corrupt records', () => {
    const t = compileTemplate({ v: 14, s: 'x' });
    const r = packNote(t, { v: 7, s: 'abc' });
    for (const bad of [r.subarray(0, r.length - 1), Uint8Array.from([...r, 0]), Uint8Array.from([0x80, ...r.subarray(1)])]) {
      expect(caught(() => unpackNote(t, bad)).tags).toEqual(['io']);
    }
  });
});

describe('integer hints at their range edges', () => {
  const cases: [number, number, number, number][] = [
    // hint, bytes, min, max
    [11, 1, -128, 127], [12, 2, -32768, 32767], [13, 3, -8388608, 8388607], [14, 4, -2147483648, 2147483647],
    [18, 8, -(2 ** 63), 2 ** 63 - 1024],
    [21, 1, 0, 255], [22, 2, 0, 65535], [23, 3, 0, 16777215], [24, 4, 0, 4294967295],
  ];
  it.each(cases)('hint %p: %p bytes, %p..%p round-trip; one beyond either edge is refused', (hint, size, min, max) => {
    const t = compileTemplate({ n: hint });
    for (const v of [min, max, min + 1, max - 1, 1, 0]) {
      const r = packNote(t, { n: v }, undefined, { full: true });
      expect(r.length).toBe(1 + size);
      expect(unpackNote(t, r).body).toEqual({ n: v });
    }
    const below = hint === 18 ? -(2 ** 63) - 2048 : min - 1;
    const above = hint === 18 ? 2 ** 63 : max + 1;
    for (const v of [below, above]) {
      const e = caught(() => packNote(t, { n: v }));
      expect(e.tags).toEqual(['template-incompatible']);
      expect(e.message).toMatch(new RegExp(`^n: .* is outside .* \\(hint ${hint}\\)$`));
    }
    expect(caught(() => packNote(t, { n: 1.5 })).message).toBe(`n: 1.5 is not an integer (hint ${hint})`);
    expect(caught(() => packNote(t, { n: '1' })).message).toMatch(/^n: expected an integer/);
  });

  it('keeps large 8-byte integers exact', () => {
    const t = compileTemplate({ n: 18 });
    for (const v of [2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 62 + 2 ** 40, -(2 ** 62) - 2 ** 11, 1234567890123]) {
      expect(roundTrip(t, { n: v }).body).toEqual({ n: v });
    }
    expect(hex(packNote(t, { n: -2 }).subarray(1))).toBe('feffffffffffffff');
  });
});

describe('float and boolean hints', () => {
  it('12.1 holds up to 65504 in 2 bytes and refuses beyond', () => {
    const t = compileTemplate({ f: 12.1 });
    expect(roundTrip(t, { f: 65504 }).body).toEqual({ f: 65504 });
    expect(roundTrip(t, { f: -65504 }).body).toEqual({ f: -65504 });
    expect(roundTrip(t, { f: 65519 }).body).toEqual({ f: 65504 });
    expect(roundTrip(t, { f: 3.71 }).body).toEqual({ f: 3.71 });
    expect(roundTrip(t, { f: 6e-8 }).body).toEqual({ f: 6e-8 });
    expect(roundTrip(t, { f: 2e-8 }).body).toBeUndefined(); // rounds to 0: dropped
    expect(packNote(t, { f: 1 }).length).toBe(3);
    const e = caught(() => packNote(t, { f: 65520 }));
    expect(e.wireText).toBe('f: 65520 is too large for hint 12.1 (at most 65504) {template-incompatible}');
  });

  it('14.1 is a single, read back as its shortest decimal', () => {
    const t = compileTemplate({ f: 14.1 });
    for (const v of [23.45, -1013.25, 3.4028234663852886e38, 1e-45, 0.1, 16777217]) {
      expect(roundTrip(t, { f: v }).body).toEqual({ f: v === 16777217 ? 16777216 : v });
    }
    expect(packNote(t, { f: 1 }).length).toBe(5);
    expect(caught(() => packNote(t, { f: 3.5e38 })).message).toBe('f: 3.5e+38 is too large for hint 14.1');
  });

  it('18.1 is a double, exact', () => {
    const t = compileTemplate({ f: 18.1 });
    for (const v of [Math.PI, Number.MAX_VALUE, -5e-324, 0.1 + 0.2]) expect(roundTrip(t, { f: v }).body).toEqual({ f: v });
    expect(packNote(t, { f: 1 }).length).toBe(9);
  });

  it('floats accept integers; strings and booleans are the wrong type', () => {
    const t = compileTemplate({ f: 14.1, b: true });
    expect(roundTrip(t, { f: 7, b: true }).body).toEqual({ f: 7, b: true });
    expect(caught(() => packNote(t, { f: '7' })).message).toBe('f: expected a number (hint 14.1), got a string');
    expect(caught(() => packNote(t, { b: 1 })).message).toBe('b: expected true or false, got 1');
    expect(caught(() => packNote(t, { b: 'true' })).tags).toEqual(['template-incompatible']);
  });
});

describe('string hints', () => {
  it('a non-numeric hint is variable length, any UTF-8', () => {
    const t = compileTemplate({ s: 'text' });
    const long = 'é'.repeat(300);
    const r = packNote(t, { s: long });
    expect(r.length).toBe(1 + 2 + 600); // varint(600) is 2 bytes
    expect(unpackNote(t, r).body).toEqual({ s: long });
    expect(roundTrip(t, { s: '😀 ok' }).body).toEqual({ s: '😀 ok' });
    expect(caught(() => packNote(t, { s: 5 })).message).toBe('s: expected a string, got 5');
  });

  it('a numeric hint "N" keeps at most N bytes, cutting whole characters', () => {
    const t = compileTemplate({ s: '5', u: '2' });
    expect(roundTrip(t, { s: 'hello world', u: 'héllo' }).body).toEqual({ s: 'hello', u: 'h' });
    expect(roundTrip(t, { s: 'hi', u: 'ab' }).body).toEqual({ s: 'hi', u: 'ab' });
    expect(compileTemplate({ s: '0' }).root.fields[0]).toMatchObject({ kind: 'string', max: 0 });
  });

  it('compact strings are at most 255 bytes with a one-byte length', () => {
    const t = compileTemplate({ s: 'x', n: '200' }, { format: 'compact' });
    const r = packNote(t, { s: 'a'.repeat(300), n: 'b'.repeat(201) });
    expect(r.length).toBe(1 + 1 + 255 + 1 + 200);
    expect(unpackNote(t, r).body).toEqual({ s: 'a'.repeat(255), n: 'b'.repeat(200) });
    const e = caught(() => compileTemplate({ s: '256' }, { format: 'compact' }));
    expect(e.wireText).toBe('s: compact templates hold strings of at most 255 bytes {bad-arg}');
  });
});

describe('omitempty and full', () => {
  const t = compileTemplate({ i: 14, f: 14.1, b: true, s: 'x', o: { n: 11 }, a: [11, 11], l: [12] });

  it('drops null, 0, false, "" and empty containers when read, unless added with full', () => {
    const body = { i: 0, f: 0, b: false, s: '', o: { n: 0 }, a: [0, 0], l: [] };
    const plain = packNote(t, body);
    expect(recordIsFull(plain)).toBe(false);
    expect(unpackNote(t, plain)).toEqual({});
    expect(unpackNote(t, packNote(t, { i: null, s: null, o: null }))).toEqual({});
    const full = packNote(t, {}, undefined, { full: true });
    expect(recordIsFull(full)).toBe(true);
    expect(unpackNote(t, full)).toEqual({ body });
    expect(full.length).toBe(plain.length); // full costs no space, only the flag bit
  });

  it('keeps the values that are set', () => {
    expect(roundTrip(t, { i: -3, b: true, o: { n: 0 }, a: [0, 2] }).body).toEqual({ i: -3, b: true, a: [0, 2] });
  });
});

describe('nested objects and arrays', () => {
  const t = compileTemplate({
    gps: { lat: 18.1, lon: 18.1, fix: true, sats: { used: 21, seen: 21 } },
    xyz: [12, 12, 12],
    samples: [12.1],
    tags: ['x'],
    events: [{ code: 22, what: 'text' }],
    grid: [[11]],
  });

  it('round-trip', () => {
    const body: JsonObject = {
      gps: { lat: 42.123456789, lon: -71.5, fix: true, sats: { used: 7, seen: 12 } },
      xyz: [-1, 0, 32767],
      samples: [0.5, 1.5, 3.71, 0],
      tags: ['a', 'éé', ''],
      events: [{ code: 500, what: 'boot' }, { code: 0, what: 'idle' }],
      grid: [[1, 2], [], [-128]],
    };
    expect(roundTrip(t, body).body).toEqual({
      ...body,
      events: [{ code: 500, what: 'boot' }, { what: 'idle' }], // objects in arrays drop empty members
    });
    expect(roundTrip(t, body, { full: true }).body).toEqual(body);
  });

  it('pads a short tuple with zeros, refuses a long one', () => {
    expect(roundTrip(t, { xyz: [5] }).body).toEqual({ xyz: [5, 0, 0] });
    expect(caught(() => packNote(t, { xyz: [1, 2, 3, 4] })).message).toBe('xyz: 4 values, the template holds 3');
  });

  it('variable arrays hold any count, with a varint count', () => {
    const many = Array.from({ length: 200 }, (_, i) => i / 4);
    const r = packNote(t, { samples: many });
    expect(unpackNote(t, r).body).toEqual({ samples: many });
    const empty = packNote(t, {});
    expect(r.length - empty.length).toBe(1 + 200 * 2); // one more count byte, 2 bytes a sample
  });

  it('name the offending field by its path', () => {
    const wrong: [JsonObject, string][] = [
      [{ gps: { alt: 3 } }, 'gps.alt: not in the template'],
      [{ gps: { sats: { used: -1 } } }, 'gps.sats.used: -1 is outside 0..255 (hint 21)'],
      [{ gps: 5 }, 'gps: expected an object, got 5'],
      [{ xyz: { a: 1 } }, 'xyz: expected an array, got an object'],
      [{ samples: [1, 'x'] }, 'samples[1]: expected a number (hint 12.1), got a string'],
      [{ events: [{ code: 1 }, { code: 1.5 }] }, 'events[1].code: 1.5 is not an integer (hint 22)'],
      [{ grid: [[1], [200]] }, 'grid[1][0]: 200 is outside -128..127 (hint 11)'],
      [{ extra: true }, 'extra: not in the template'],
    ];
    for (const [body, message] of wrong) {
      const e = caught(() => packNote(t, body));
      expect(e.message).toBe(message);
      expect(e.tags).toEqual(['template-incompatible']);
    }
  });
});

describe('compact format', () => {
  const t = compileTemplate(
    { temperature: 14.1, _lat: 14.1, _lon: 14.1, _ltime: 14, _time: 14 },
    { format: 'compact' },
  );

  it('carries time and location in the special fields, with no header', () => {
    const r = packNote(t, { temperature: 21.5 }, undefined, { time: 1763700000, lat: 42.36, lon: -71.06, ltime: 1763699990 });
    expect(r.length).toBe(1 + 5 * 4);
    expect(r.length).toBe(templateBytes(t));
    expect(r[0]).toBe(0); // no header flags in compact records
    expect(unpackNote(t, r)).toEqual({
      body: { temperature: 21.5 }, time: 1763700000, lat: 42.36, lon: -71.06, ltime: 1763699990,
    });
  });

  it('drops time it has no field for, and leaves unknown metadata out', () => {
    const bare = compileTemplate({ v: 11 }, { format: 'compact' });
    const r = packNote(bare, { v: 3 }, undefined, { time: 1763700000, lat: 1, lon: 2 });
    expect(r.length).toBe(2);
    expect(unpackNote(bare, r)).toEqual({ body: { v: 3 } });
    expect(unpackNote(t, packNote(t, { temperature: 1 }, undefined, { full: true }))).toEqual({ body: { temperature: 1 } });
  });

  it('checks the special fields like any other', () => {
    expect(caught(() => packNote(t, {}, undefined, { time: 2 ** 31 })).message).toMatch(/^_time: 2147483648 is outside/);
    expect(caught(() => compileTemplate({ _time: 24 }, { format: 'compact' })).wireText)
      .toBe('_time: a compact template\'s _time takes hint 14 {bad-arg}');
    expect(caught(() => compileTemplate({ _lat: 14 }, { format: 'compact' })).message)
      .toBe('_lat: a compact template\'s _lat takes hint 12.1 or 14.1 or 18.1');
    // outside compact templates they are ordinary fields
    const plain = compileTemplate({ _time: 24 });
    expect(roundTrip(plain, { _time: 7 }, { time: 9 })).toEqual({ body: { _time: 7 }, time: 9 });
  });
});

describe('payload', () => {
  const t = compileTemplate({ v: 12 }, { length: 10 });

  it('is stored after the body, up to length bytes', () => {
    const payload = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const r = packNote(t, { v: 1 }, payload, { time: 1 });
    // The card stores and sends the payload beside the record: that is what templateBytes counts.
    expect(packNote(t, { v: 1 }).length + payload.length).toBe(templateBytes(t));
    expect(unpackNote(t, r)).toEqual({ body: { v: 1 }, payload: Buffer.from(payload).toString('base64'), time: 1 });
    expect(unpackNote(t, packNote(t, undefined, payload.subarray(0, 3)))).toEqual({ payload: 'AAEC' });
    const e = caught(() => packNote(t, {}, new Uint8Array(11)));
    expect(e.wireText).toBe('payload: 11 bytes, the template allows 10 {template-incompatible}');
  });

  it('any size without a declared length; a payload-only template', () => {
    const only = compileTemplate({});
    const payload = new Uint8Array(300).fill(7);
    const r = packNote(only, undefined, payload);
    expect(r.length).toBe(1 + 2 + 300);
    expect(unpackNote(only, r)).toEqual({ payload: Buffer.from(payload).toString('base64') });
    expect(unpackNote(only, packNote(only, {}, undefined, { full: true }))).toEqual({});
  });
});

describe('templateBytes', () => {
  it.each<[JsonObject, number]>([
    [{ a: true }, 1 + 1],
    [{ a: 11, b: 12, c: 13, d: 14, e: 18 }, 1 + 18],
    [{ a: 21, b: 22, c: 23, d: 24 }, 1 + 10],
    [{ a: 12.1, b: 14.1, c: 18.1 }, 1 + 14],
    [{ o: { x: 14, y: [11, 11] }, t: [12.1, 12.1, true] }, 1 + 6 + 5],
  ])('equals the packed size of a fixed template %j (%p)', (body, bytes) => {
    const t = compileTemplate(body);
    expect(t.fixed).toBe(true);
    expect(templateBytes(t)).toBe(bytes);
    expect(packNote(t, {}).length).toBe(bytes);
    expect(packNote(t, {}, undefined, { time: 1763700000 }).length).toBe(bytes + 4); // a time header, when asked for
  });

  it('counts strings at their maximum or the sample length, variable arrays as one value', () => {
    const t = compileTemplate({ s: 'ok', n: '42', l: [14] });
    expect(t.fixed).toBe(false);
    expect(templateBytes(t)).toBe(1 + (1 + 2) + (1 + 42) + (1 + 4));
    expect(packNote(t, { s: 'hi', n: 'x'.repeat(42), l: [1] }).length).toBe(templateBytes(t));
  });

  it('is 17 for the 6-field sensor body', () => {
    const t = compileTemplate({ temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' });
    expect(templateBytes(t)).toBe(17);
    const body = { temp: 23.45, humidity: 52, pressure: 1013.25, battery: 3.71, motion: true, status: 'ok' };
    const r = packNote(t, body);
    expect(r.length).toBe(17);
    expect(unpackNote(t, r)).toEqual({ body });
  });
});

describe('template identity and versions', () => {
  const hints: JsonObject = { temp: 14.1, tags: ['x'], gps: { lat: 18.1 } };

  it('is immutable and independent of the body it was built from', () => {
    const body = JSON.parse(JSON.stringify(hints)) as JsonObject;
    const t = compileTemplate(body);
    (body.gps as JsonObject).lat = 11;
    expect(t.body).toEqual(hints);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen((t.body as { gps: Json }).gps)).toBe(true);
    expect(() => { (t.body as JsonObject).temp = 1; }).toThrow(TypeError);
  });

  it('serializes stably and rebuilds the same layout', () => {
    const t = compileTemplate(hints, { length: 8 });
    const text = serializeTemplate(t);
    expect(text).toBe('{"body":{"temp":14.1,"tags":["x"],"gps":{"lat":18.1}},"length":8}');
    const back = parseTemplate(text);
    expect(sameTemplate(t, back)).toBe(true);
    expect(templateId(back)).toBe(templateId(t));
    expect(templateId(t)).toBe(crc32(utf8Encode(text)));
    expect(serializeTemplate(compileTemplate({ v: 11 }, { format: 'compact' })))
      .toBe('{"body":{"v":11},"length":0,"format":"compact"}');
    expect(caught(() => parseTemplate('{"body":')).tags).toEqual(['io']);
  });

  it('compares hints, order, length and format', () => {
    const t = compileTemplate(hints);
    expect(sameTemplate(t, compileTemplate(JSON.parse(JSON.stringify(hints))))).toBe(true);
    expect(sameTemplate(t, compileTemplate({ tags: ['x'], temp: 14.1, gps: { lat: 18.1 } }))).toBe(false);
    expect(sameTemplate(t, compileTemplate(hints, { length: 1 }))).toBe(false);
    expect(sameTemplate(t, compileTemplate(hints, { format: 'compact' }))).toBe(false);
    expect(sameTemplate(t, undefined)).toBe(false);
    expect(templateId(t)).not.toBe(templateId(compileTemplate(hints, { length: 1 })));
  });

  it('keeps notes readable with the version they were packed with', () => {
    const v1 = compileTemplate({ a: 12, s: 'x' });
    const stored = { template: serializeTemplate(v1), record: packNote(v1, { a: 300, s: 'old' }, undefined, { time: 7 }) };
    const v2 = compileTemplate({ a: 14.1, b: true, s: 'x' });
    const fresh = packNote(v2, { a: 1.5, b: true, s: 'new' });
    expect(unpackNote(parseTemplate(stored.template), stored.record)).toEqual({ body: { a: 300, s: 'old' }, time: 7 });
    expect(unpackNote(v2, fresh)).toEqual({ body: { a: 1.5, b: true, s: 'new' } });
  });
});

describe('bad hints', () => {
  it.each<[Json, string]>([
    [{ x: 15 }, 'x: 15 is not a type hint'],
    [{ x: 12.5 }, 'x: 12.5 is not a type hint'],
    [{ x: 14.2 }, 'x: 14.2 is not a type hint'],
    [{ x: false }, 'x: false is not a type hint'],
    [{ x: null }, 'x: null is not a type hint'],
    [{ x: [] }, 'x: an array hint needs at least one element hint'],
    [{ x: [11, 'y', 9] }, 'x[2]: 9 is not a type hint'],
    [{ gps: { lat: 19 } }, 'gps.lat: 19 is not a type hint'],
    [{ l: [{ a: 0 }] }, 'l[0].a: 0 is not a type hint'],
    [JSON.parse('{"__proto__": 11}'), '__proto__: not allowed as a field name'],
    [{ a: { b: { c: { d: { e: { f: { g: { h: { i: 11 } } } } } } } } }, 'a.b.c.d.e.f.g.h.i: templates nest at most 8 levels'],
  ])('%j is refused: %s', (body, message) => {
    const e = caught(() => compileTemplate(body as JsonObject));
    expect(e.message.startsWith(message)).toBe(true);
    expect(e.tags).toEqual(['bad-arg']);
  });

  it('refuses bad options', () => {
    expect(caught(() => compileTemplate({}, { length: -1 })).message).toMatch(/^length:/);
    expect(caught(() => compileTemplate({}, { length: 1.5 })).message).toMatch(/^length:/);
    expect(caught(() => compileTemplate({}, { format: 'tiny' as 'compact' })).message).toMatch(/^format:/);
    expect(caught(() => compileTemplate([] as unknown as JsonObject)).message).toMatch(/^body:/);
  });
});

describe('record writer', () => {
  it('grows past its first estimate without losing a byte (long variable arrays)', () => {
    const t = compileTemplate({ l: [true], s: 'x' });
    const body = { l: Array.from({ length: 300 }, (_, i) => i % 3 === 0), s: 'y'.repeat(500) };
    expect(unpackNote(t, packNote(t, body)).body).toEqual(body);
  });
});
