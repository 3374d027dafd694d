// Runs the card core on a deterministic in-memory host. Compiled with the core and bundled
// for the XS engine, so it too uses no Node API or host global: the same code runs on both
// engines and their output bytes must be identical.
import { Card } from '../../src/card';
import type { Flash, Host } from '../../src/host';
import { SerialSession } from '../../src/wire/session';

/** A plain RAM NOR flash: erase to 0xFF, writes only clear bits. */
export class PlainFlash implements Flash {
  readonly size: number;
  readonly blockSize = 4096;
  readonly writeAlign = 4;
  #bytes: Uint8Array;
  constructor(size = 256 * 1024) {
    this.size = size;
    this.#bytes = new Uint8Array(size).fill(0xff);
  }
  read(offset: number, length: number): Uint8Array {
    return this.#bytes.slice(offset, offset + length);
  }
  write(offset: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      if (data[i] & ~this.#bytes[offset + i] & 0xff) throw new Error('flash: write would set a bit');
      this.#bytes[offset + i] = data[i];
    }
  }
  erase(block: number): void {
    this.#bytes.fill(0xff, block * this.blockSize, (block + 1) * this.blockSize);
  }
}

/** A host whose clock and random source are pure functions of their history. */
export function deterministicHost(seed = 1): Host {
  let t = 1000;
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    flash: new PlainFlash(),
    clock: { now: () => (t += 7), wall: () => 1_700_000_000_000 + t, schedule: () => 0, cancel: () => {} },
    random: { bytes: (n) => Uint8Array.from({ length: n }, () => next() & 0xff) },
    log: { log: () => {} },
    info: { platform: 'deterministic', binaryMax: 64 * 1024 },
    // a still world: fixed readings, no events (timers never fire here)
    world: {
      power: { voltage: () => 3.7 },
      climate: { read: () => ({ temperature: 21.5 }) },
      gnss: { fix: () => ({ lat: 42.36, lon: -71.0589, time: 1_700_000_000, dop: 1.5 }) },
      accelerometer: { orientation: () => 'face-up', onMotion: () => {} },
      attn: { set: () => {} },
    },
  };
}

/** Feed a byte stream in chunks of the given sizes (cycled); return every byte the card wrote. */
export function runStream(input: Uint8Array, chunkSizes: number[] = [1, 7, 250, 4096, 3]): Uint8Array {
  const out: number[] = [];
  const card = new Card(deterministicHost());
  const session = new SerialSession(card, (bytes) => {
    for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
  });
  for (let i = 0, k = 0; i < input.length; k++) {
    const n = chunkSizes[k % chunkSizes.length];
    session.receive(input.subarray(i, i + n));
    i += n;
  }
  return Uint8Array.from(out);
}

/** A ready session for benchmarks: returns a function that answers one request line. */
export function benchSession(): (line: Uint8Array) => void {
  const card = new Card(deterministicHost());
  const session = new SerialSession(card, () => {});
  return (line) => session.receive(line);
}
