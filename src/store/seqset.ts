// A set of change numbers kept as sorted half-open intervals [lo, hi).
// A queue holding 10,000 notes in order costs two numbers, not 10,000 entries.

export class SeqSet {
  #r: number[] = []; // lo0, hi0, lo1, hi1, ... sorted, disjoint, not touching
  #count = 0;

  get count(): number {
    return this.#count;
  }

  /** Number of intervals (a RAM figure). */
  get runs(): number {
    return this.#r.length / 2;
  }

  clear(): void {
    this.#r = [];
    this.#count = 0;
  }

  /** Index of the first run whose hi > seq. */
  #find(seq: number): number {
    const r = this.#r;
    let a = 0;
    let b = r.length / 2;
    while (a < b) {
      const m = (a + b) >> 1;
      if (r[2 * m + 1] > seq) b = m;
      else a = m + 1;
    }
    return a;
  }

  has(seq: number): boolean {
    const i = this.#find(seq);
    return i < this.#r.length / 2 && this.#r[2 * i] <= seq;
  }

  add(seq: number): void {
    const r = this.#r;
    const n = r.length;
    if (n && r[n - 1] === seq) {
      r[n - 1] = seq + 1; // the usual case: appending in order
      this.#count++;
      return;
    }
    const i = this.#find(seq);
    if (i < n / 2 && r[2 * i] <= seq) return;
    this.#count++;
    const joinsPrev = i > 0 && r[2 * i - 1] === seq;
    const joinsNext = i < n / 2 && r[2 * i] === seq + 1;
    if (joinsPrev && joinsNext) {
      r[2 * i - 1] = r[2 * i + 1];
      r.splice(2 * i, 2);
    } else if (joinsPrev) r[2 * i - 1] = seq + 1;
    else if (joinsNext) r[2 * i] = seq;
    else r.splice(2 * i, 0, seq, seq + 1);
  }

  /** Remove every member in [lo, hi). */
  remove(lo: number, hi: number): void {
    if (hi <= lo) return;
    const r = this.#r;
    const out: number[] = [];
    let count = 0;
    for (let i = 0; i < r.length; i += 2) {
      const a = r[i];
      const b = r[i + 1];
      if (b <= lo || a >= hi) out.push(a, b);
      else {
        if (a < lo) out.push(a, lo);
        if (b > hi) out.push(hi, b);
      }
    }
    for (let i = 0; i < out.length; i += 2) count += out[i + 1] - out[i];
    this.#r = out;
    this.#count = count;
  }

  /** The smallest member >= from, or -1. */
  next(from: number): number {
    const i = this.#find(from);
    if (i >= this.#r.length / 2) return -1;
    return Math.max(from, this.#r[2 * i]);
  }

  /** Members >= from. */
  countFrom(from: number): number {
    let n = 0;
    const r = this.#r;
    for (let i = r.length - 2; i >= 0 && r[i + 1] > from; i -= 2) n += r[i + 1] - Math.max(r[i], from);
    return n;
  }

  /** The intervals, for consistency checks. */
  toArray(): number[] {
    return this.#r.slice();
  }
}
