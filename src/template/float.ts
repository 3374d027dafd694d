// Reduced-precision floats for template hints 12.1 (IEEE 754 binary16) and 14.1 (binary32).
//
// Encoding rounds to nearest, ties to even, straight from the double (no detour through
// binary32, which could round twice). Values beyond the largest finite number of the format
// are refused by the caller: JSON has no Infinity to give back.
//
// Decoding answers the shortest decimal that encodes to the same stored bits, so 23.45 added
// as a 14.1 reads back as 23.45 rather than 23.450000762939453.

/** The largest finite binary16 value. */
export const HALF_MAX = 65504;

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The binary16 bits of `v`, rounded to nearest even; 0x7c00 (|sign) when it overflows. */
export function toHalfBits(v: number): number {
  if (v !== v) return 0x7e00; // NaN (never reached from JSON)
  const sign = v < 0 || (v === 0 && 1 / v < 0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // Halfway between 65504 and the next step (65536) rounds to even, i.e. to infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal: a multiple of 2^-24. A result of 1024 is the smallest normal, encoded alike.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 may be off by one near powers of two
  else if (2 ** (e + 1) <= a) e++;
  const m = roundHalfEven(a * 2 ** (10 - e)); // 1024..2048, exact scaling
  // m === 2048 carries into the exponent field, which is the correct encoding.
  return sign | (((e + 15) << 10) + (m - 1024));
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

/** The shortest decimal whose binary16 encoding is `h`. */
export function halfToDecimal(h: number): number {
  const exact = fromHalfBits(h);
  if (Number.isInteger(exact)) return exact;
  for (let p = 1; p < 5; p++) {
    const d = Number(exact.toPrecision(p));
    if (toHalfBits(d) === h) return d;
  }
  return exact;
}

/** The shortest decimal whose binary32 encoding is `f` (a value from Math.fround / getFloat32). */
export function singleToDecimal(f: number): number {
  if (Number.isInteger(f) || !Number.isFinite(f)) return f;
  for (let p = 1; p < 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}
