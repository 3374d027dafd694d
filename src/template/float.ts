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

/** 2^n for n = -30..30, at POW2[n + 30]: exact scaling without Math.pow on the hot path. */
const POW2: readonly number[] = Object.freeze(Array.from({ length: 61 }, (_, i) => 2 ** (i - 30)));

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// No scratch buffers here: objects made while XS preloads a module end up read-only.
/** The binary16 bits of `v`, rounded to nearest even; 0x7c00 (|sign) when it overflows. */
export function toHalfBits(v: number): number {
  if (v !== v) return 0x7e00; // NaN (never reached from JSON)
  const sign = v < 0 || (v === 0 && 1 / v < 0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // Halfway between 65504 and the next step (65536) rounds to even, i.e. to infinity.
  if (a >= 65520) return sign | 0x7c00;
  // Subnormal: a multiple of 2^-24. A result of 1024 is the smallest normal, encoded alike.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a)); // -14..15, but log2 may be off by one near powers of two
  if (POW2[e + 30] > a) e--;
  else if (POW2[e + 31] <= a) e++;
  const m = roundHalfEven(a * POW2[40 - e]); // 1024..2048: scaling by a power of two is exact
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

/** Whether the decimal `d` encodes to the same bits as the stored value. */
type Fits = (d: number) => boolean;

/**
 * The decimal with the fewest places that still encodes to the same stored value. Tries k
 * decimal places, k = 1, 2, ...: q / 10^k is the double nearest that decimal (an exact integer
 * over an exact power of ten), the same one a parser would give for its text. Both neighbours
 * of v * 10^k are tried, since that product is itself rounded.
 */
function fewestPlaces(v: number, fits: Fits, maxPlaces: number): number {
  if (Math.abs(v) >= 1e-5) {
    let scale = 1;
    for (let k = 1; k <= maxPlaces; k++) {
      scale *= 10; // exact up to 10^22
      const x = v * scale;
      const q = Math.round(x);
      if (fits(q / scale)) return q / scale;
      const other = x > q ? q + 1 : q - 1;
      if (fits(other / scale)) return other / scale;
    }
  }
  for (let p = 1; p < 17; p++) {
    const d = Number(v.toPrecision(p)); // tiny values: slower, by significant digits
    if (fits(d)) return d;
  }
  return v;
}

/** The shortest decimal whose binary16 encoding is `h`. */
export function halfToDecimal(h: number): number {
  const exact = fromHalfBits(h);
  if (Number.isInteger(exact) || !Number.isFinite(exact)) return exact;
  // A non-integer is below 1024, so both neighbours are finite. Every number strictly between
  // the midpoints to them encodes to h; the midpoints themselves too when h is even (ties to
  // even). Checking that interval is cheaper than encoding each candidate.
  const m = h & 0x7fff;
  const a = Math.abs(exact);
  const lo = (a + fromHalfBits(m - 1)) / 2;
  const hi = (a + fromHalfBits(m + 1)) / 2;
  const fits: Fits = (m & 1) === 0 ? (d) => d >= lo && d <= hi : (d) => d > lo && d < hi;
  const d = fewestPlaces(a, fits, 13);
  return h & 0x8000 ? -d : d;
}

/** The shortest decimal whose binary32 encoding is `f` (a value from Math.fround / getFloat32). */
export function singleToDecimal(f: number): number {
  if (Number.isInteger(f) || !Number.isFinite(f)) return f;
  return fewestPlaces(f, (d) => Math.fround(d) === f, 22);
}
