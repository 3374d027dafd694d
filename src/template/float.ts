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

const SCRATCH = new DataView(new ArrayBuffer(8));
/** 2^n for the bit counts a conversion drops (42..53). */
const POW2: readonly number[] = Object.freeze(Array.from({ length: 54 }, (_, n) => 2 ** n));

/** The binary16 bits of `v`, rounded to nearest even; 0x7c00 (|sign) when it overflows. */
export function toHalfBits(v: number): number {
  SCRATCH.setFloat64(0, v);
  const hi = SCRATCH.getUint32(0);
  const lo = SCRATCH.getUint32(4);
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff) return sign | (lo !== 0 || (hi & 0xfffff) !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 1023;
  if (e > 15) return sign | 0x7c00;
  if (e < -25) return sign; // below half the smallest subnormal (doubles' subnormals included)
  // The 53-bit significand is an exact integer in a double; keep its top bits: 11 for a normal
  // half, fewer for a subnormal one (counted in units of 2^-24).
  const sig = ((hi & 0xfffff) + 0x100000) * 4294967296 + lo;
  const unit = POW2[e >= -14 ? 42 : 28 - e];
  let m = Math.floor(sig / unit);
  const rest = sig - m * unit;
  if (rest > unit / 2 || (rest === unit / 2 && (m & 1) === 1)) m++;
  // A carry (m = 2048, or 1024 from a subnormal) lands in the exponent field: the right encoding,
  // up to infinity for 65520 and above.
  return sign | (e >= -14 ? ((e + 15) << 10) + m - 1024 : m);
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
  return fewestPlaces(exact, (d) => toHalfBits(d) === h, 13);
}

/** The shortest decimal whose binary32 encoding is `f` (a value from Math.fround / getFloat32). */
export function singleToDecimal(f: number): number {
  if (Number.isInteger(f) || !Number.isFinite(f)) return f;
  return fewestPlaces(f, (d) => Math.fround(d) === f, 22);
}
