// Which blocks hold a queue's notes: per block, the lowest and highest change number written
// there. Lets a note be found by scanning one or two blocks instead of keeping its address in RAM.

const NEAR = 4;

export class SpanTable {
  #t = new Int32Array(12); // block, min, max triples
  #n = 0;

  get length(): number {
    return this.#n;
  }

  note(block: number, seq: number): void {
    const t = this.#t;
    // Widen a nearby range of the same block; a distant one (notes copied forward by compaction
    // next to new ones) gets its own entry, so lookups do not scan blocks that cannot hold a note.
    for (let i = this.#n * 3 - 3; i >= 0; i -= 3) {
      if (t[i] !== block || seq < t[i + 1] - NEAR || seq > t[i + 2] + NEAR) continue;
      if (seq < t[i + 1]) t[i + 1] = seq;
      if (seq > t[i + 2]) t[i + 2] = seq;
      return;
    }
    if ((this.#n + 1) * 3 > t.length) {
      const bigger = new Int32Array(t.length * 2);
      bigger.set(t);
      this.#t = bigger;
    }
    this.#t.set([block, seq, seq], this.#n * 3);
    this.#n++;
  }

  forget(block: number): void {
    const t = this.#t;
    let o = 0;
    for (let i = 0; i < this.#n * 3; i += 3) {
      if (t[i] === block) continue;
      if (o !== i) t.copyWithin(o, i, i + 3);
      o += 3;
    }
    this.#n = o / 3;
  }

  /** Blocks whose range covers seq, oldest entry first (a block may be offered twice). */
  blocksFor(seq: number, visit: (block: number) => boolean): boolean {
    const t = this.#t;
    for (let i = 0; i < this.#n * 3; i += 3) if (t[i + 1] <= seq && seq <= t[i + 2] && visit(t[i])) return true;
    return false;
  }

  bytes(): number {
    return this.#t.byteLength;
  }
}
