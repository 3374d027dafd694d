/** Secrets: password hashing (scrypt), opaque tokens (stored as SHA-256), the rate limiter and the login throttle. */
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';

const SCRYPT = Object.freeze({ N: 16384, r: 8, p: 1, keylen: 32 });

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url), so parameters can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p), want.length);
  return timingSafeEqual(want, got);
}

/** Tokens carry 256 random bits, so a fast hash is enough to keep them useless if the database leaks. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
export const newToken = (prefix: string): string => `${prefix}_${randomBytes(32).toString('base64url')}`;
export const newId = (prefix: string): string => `${prefix}${randomUUID()}`;

/**
 * A time-ordered UUID (version 7: 48-bit milliseconds, then random bits). Event UIDs use it so
 * the unique index grows at its end instead of dirtying random pages on every insert.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
export function uuid7(nowMs: number): string {
  // random bits come from a refilled pool: one randomBytes call per 400 UIDs, not per UID
  if (poolAt + 10 > pool.length) { pool = randomBytes(4000); poolAt = 0; }
  const b = Buffer.allocUnsafe(16);
  pool.copy(b, 6, poolAt, poolAt + 10);
  poolAt += 10;
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
export const shortId = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

export interface RateLimit { perMinute: number; perDay: number }
/** Documented Notehub free-tier figures. */
export const NOTEHUB_RATE_LIMIT: RateLimit = Object.freeze({ perMinute: 7, perDay: 10200 });

/**
 * Fixed-window counters per billing account: a minute window and a UTC-day window. Returns the
 * seconds to wait (for Retry-After) when a request is over either limit, or 0 when it may pass.
 */
export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #windows = new Map<string, { minute: number; minuteCount: number; day: number; dayCount: number }>();

  constructor(limit: RateLimit) { this.#limit = limit; }

  take(account: string, nowMs: number): number {
    const minute = Math.floor(nowMs / 60000);
    const day = Math.floor(nowMs / 86400000);
    let w = this.#windows.get(account);
    if (!w) { w = { minute, minuteCount: 0, day, dayCount: 0 }; this.#windows.set(account, w); }
    if (w.minute !== minute) { w.minute = minute; w.minuteCount = 0; }
    if (w.day !== day) { w.day = day; w.dayCount = 0; }
    if (w.dayCount >= this.#limit.perDay) return Math.ceil(((day + 1) * 86400000 - nowMs) / 1000);
    if (w.minuteCount >= this.#limit.perMinute) return Math.max(1, Math.ceil(((minute + 1) * 60000 - nowMs) / 1000));
    w.minuteCount++;
    w.dayCount++;
    return 0;
  }
}

/**
 * Failed attempts per key (a username, a client id, an address) in a fixed window that opens at
 * the first failure. At `perKey` failures `check` answers the seconds until the window closes.
 * Bounded: at most `maxKeys` keys are tracked (expired ones are dropped first, then the oldest).
 */
export class LoginThrottle {
  readonly #o: { perKey: number; windowMs: number; maxKeys: number };
  readonly #keys = new Map<string, { start: number; count: number }>();

  constructor(o: { perKey: number; windowMs: number; maxKeys?: number }) { this.#o = { maxKeys: 100_000, ...o }; }

  #live(key: string, now: number): { start: number; count: number } | undefined {
    const w = this.#keys.get(key);
    if (w && now - w.start >= this.#o.windowMs) { this.#keys.delete(key); return undefined; }
    return w;
  }

  /** 0 when the keys may try again, else seconds to wait. */
  check(keys: string[], nowMs: number): number {
    let wait = 0;
    for (const k of keys) {
      const w = this.#live(k, nowMs);
      if (w && w.count >= this.#o.perKey) wait = Math.max(wait, Math.max(1, Math.ceil((w.start + this.#o.windowMs - nowMs) / 1000)));
    }
    return wait;
  }

  fail(keys: string[], nowMs: number): void {
    for (const k of keys) {
      const w = this.#live(k, nowMs);
      if (w) { w.count++; continue; }
      if (this.#keys.size >= this.#o.maxKeys) this.#prune(nowMs);
      this.#keys.set(k, { start: nowMs, count: 1 });
    }
  }

  /** The right secret: the key starts afresh. */
  succeed(keys: string[]): void { for (const k of keys) this.#keys.delete(k); }

  /** Take back one counted failure (an attempt counted up front that succeeded). */
  forgive(keys: string[]): void {
    for (const k of keys) { const w = this.#keys.get(k); if (w && w.count > 0) w.count--; }
  }

  #prune(now: number): void {
    for (const [k, w] of this.#keys) if (now - w.start >= this.#o.windowMs) this.#keys.delete(k);
    // still full: forget the oldest windows (Map order is insertion order)
    for (const k of this.#keys.keys()) { if (this.#keys.size < this.#o.maxKeys) break; this.#keys.delete(k); }
  }
}

/** "30d", "12h", "45m", "3600s", "never", or an ISO date -> unix seconds (null = never). */
export function parseExpiry(text: string | undefined, now: number): number | null {
  if (text === undefined || text === 'never') return null;
  const m = /^(\d+)([smhd])$/.exec(text);
  if (m) return now + Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`cannot read expiry "${text}" (use 30d, 12h, 45m, 3600s, never or an ISO date)`);
  return t / 1000;
}
