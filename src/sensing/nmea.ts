// NMEA 0183 from a GNSS receiver's UART: bytes in, fixes out. Sentences are checked
// (`*hh`, the XOR of the characters between `$` and `*`), any talker is taken (GP, GN, GL,
// GA, BD...), and two kinds are read: RMC (date, time, validity, position, speed, course) and
// GGA (quality, satellites, HDOP, altitude). A fix is reported on each valid RMC, with the GGA
// of the same second when one came. The line buffer is bounded: the standard's sentences are at
// most 82 characters, longer lines are dropped whole. No RegExp (XS lane rule).
import type { GnssFix } from '../world';
import { isDigit, isHex } from '../util/chars';

/** Longest sentence kept (the standard says 82 with CR LF; some receivers run a little over). */
export const MAX_SENTENCE = 120;
const KNOTS_TO_MS = 1852 / 3600;

interface Gga {
  /** Seconds of the day (UTC) the GGA is for. */
  second: number;
  quality: number;
  satellites?: number;
  dop?: number;
  altitude?: number;
}

/** Fields of one checked sentence (after `$`, before `*`), or undefined when it does not check. */
export function sentenceFields(line: string): string[] | undefined {
  if (line.charCodeAt(0) !== 36) return undefined; // '$'
  const star = line.lastIndexOf('*');
  if (star < 0 || star + 3 > line.length || !isHex(line.charCodeAt(star + 1)) || !isHex(line.charCodeAt(star + 2))) return undefined;
  let sum = 0;
  for (let i = 1; i < star; i++) sum ^= line.charCodeAt(i);
  if (sum !== parseInt(line.slice(star + 1, star + 3), 16)) return undefined;
  return line.slice(1, star).split(',');
}

/** Reads a receiver's byte stream; `fix()` is the latest valid position. */
export class NmeaReader {
  readonly #line = new Uint8Array(MAX_SENTENCE);
  #fill = 0;
  #overlong = false;
  #gga: Gga | undefined;
  #fix: GnssFix | undefined;
  readonly #onFix: ((fix: GnssFix) => void) | undefined;
  /** Sentences that failed their checksum or did not parse (a noisy line shows here). */
  rejected = 0;

  constructor(onFix?: (fix: GnssFix) => void) {
    this.#onFix = onFix;
  }

  fix(): GnssFix | undefined {
    return this.#fix;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 10 || b === 13) {
        if (this.#fill > 0 && !this.#overlong) this.sentence(String.fromCharCode.apply(null, this.#line.subarray(0, this.#fill) as unknown as number[]));
        this.#fill = 0;
        this.#overlong = false;
      } else if (b === 36) {
        // '$' always starts a sentence: a receiver that lost bytes resynchronises here.
        this.#line[0] = b;
        this.#fill = 1;
        this.#overlong = false;
      } else if (this.#fill < MAX_SENTENCE) this.#line[this.#fill++] = b;
      else this.#overlong = true;
    }
  }

  /** One line without its line ending. */
  sentence(line: string): void {
    const f = sentenceFields(line);
    const kind = f && f[0].length === 5 ? f[0].slice(2) : undefined;
    if (!f || (kind === 'RMC' && !this.#rmc(f)) || (kind === 'GGA' && !this.#readGga(f))) this.rejected++;
  }

  #readGga(f: string[]): boolean {
    const second = timeOfDay(f[1]);
    const quality = f[6] === '' ? 0 : Number(f[6]);
    if (second === undefined || !(quality >= 0)) return false;
    this.#gga = { second, quality, satellites: num(f[7]), dop: num(f[8]), altitude: num(f[9]) };
    return true;
  }

  #rmc(f: string[]): boolean {
    if (f.length < 10) return false;
    const second = timeOfDay(f[1]);
    const date = f[9];
    if (second === undefined || date.length !== 6 || !digits(date)) return false;
    if (f[2] !== 'A') return true; // a well-formed "no fix yet": keep the last fix
    const lat = coordinate(f[3], f[4], 'N', 'S', 2);
    const lon = coordinate(f[5], f[6], 'E', 'W', 3);
    if (lat === undefined || lon === undefined) return false;
    const yy = Number(date.slice(4, 6));
    const day = Date.UTC(yy < 80 ? 2000 + yy : 1900 + yy, Number(date.slice(2, 4)) - 1, Number(date.slice(0, 2))) / 1000;
    const fix: GnssFix = { lat, lon, time: Math.floor(day + second) };
    const knots = num(f[7]);
    if (knots !== undefined) fix.speed = Math.round(knots * KNOTS_TO_MS * 100) / 100;
    const course = num(f[8]);
    if (course !== undefined) fix.heading = course;
    const gga = this.#gga;
    if (gga && gga.quality > 0 && gga.second === second) {
      if (gga.dop !== undefined) fix.dop = gga.dop;
      if (gga.altitude !== undefined) fix.altitude = gga.altitude;
      if (gga.satellites !== undefined) fix.satellites = gga.satellites;
    }
    this.#fix = fix;
    this.#onFix?.(fix);
    return true;
  }
}

function digits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** A decimal field: digits with at most one point and a leading minus; '' is undefined. */
function num(s: string | undefined): number | undefined {
  if (!s) return undefined;
  let point = false;
  for (let i = s.charCodeAt(0) === 45 ? 1 : 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && !point) point = true;
    else if (!isDigit(c)) return undefined;
  }
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** hhmmss[.sss] to whole seconds of the day. */
function timeOfDay(s: string): number | undefined {
  if (s.length < 6 || !digits(s.slice(0, 6)) || num(s) === undefined) return undefined;
  const h = Number(s.slice(0, 2));
  const m = Number(s.slice(2, 4));
  const sec = Number(s.slice(4, 6));
  return h < 24 && m < 60 && sec < 61 ? h * 3600 + m * 60 + sec : undefined;
}

/** (d)ddmm.mmmm and a hemisphere to signed degrees, rounded to 1e-7 (about a centimetre). */
function coordinate(value: string, hemisphere: string, plus: string, minus: string, degreeDigits: number): number | undefined {
  const n = num(value);
  if (n === undefined || value.length < degreeDigits + 2 || value.charCodeAt(0) === 45) return undefined;
  const degrees = Number(value.slice(0, degreeDigits));
  const minutes = Number(value.slice(degreeDigits));
  if (!(minutes < 60) || degrees > (degreeDigits === 2 ? 90 : 180)) return undefined;
  const v = Math.round((degrees + minutes / 60) * 1e7) / 1e7;
  if (hemisphere === plus) return v;
  if (hemisphere === minus) return -v;
  return undefined;
}
