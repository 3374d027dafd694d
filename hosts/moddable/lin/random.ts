// Random bytes for the card under mcsim. XS's Math.random on Linux is the C library's rand(),
// never seeded: every simulated card would get the same device UID and sync secret. The runner
// (hosts/node/moddable-lin.ts) writes fresh entropy into the data directory before each start;
// SHA-256 over that seed and a counter stretches it (on ESP32, Math.random is the hardware RNG).
import type { Random } from '../../../src/host';
import { sha256 } from '../../../src/crypto/sha256';

export function seededRandom(seed: Uint8Array): Random {
  let counter = 0;
  return {
    bytes(count) {
      const out = new Uint8Array(count);
      for (let at = 0; at < count; at += 32) {
        const block = sha256(seed, Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter));
        counter++;
        out.set(block.subarray(0, Math.min(32, count - at)), at);
      }
      return out;
    },
  };
}
