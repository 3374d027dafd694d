// A Host for tests: RAM flash, a clock the test moves, deterministic randomness.
import { RamFlash } from '../../hosts/node/ram-flash';
import { Card, CardOptions } from '../../src/card';
import type { Host } from '../../src/host';

export interface TestHost extends Host {
  flash: RamFlash;
  /** Monotonic ms, moved by the test. */
  ms: number;
  /** Unix ms the host reports, or undefined for "unknown". */
  wallMs: number | undefined;
}

export function testHost(flash = new RamFlash({ size: 64 * 4096 }), wallMs: number | undefined = 1_700_000_000_000): TestHost {
  let seed = 12345;
  const host: TestHost = {
    flash,
    ms: 0,
    wallMs,
    clock: {
      now: () => host.ms,
      wall: () => (host.wallMs === undefined ? undefined : host.wallMs + host.ms),
      schedule: () => 0,
      cancel: () => undefined,
    },
    random: {
      bytes: (n) => {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          out[i] = seed >>> 24;
        }
        return out;
      },
    },
    log: { log: () => undefined },
    info: { platform: 'test', binaryMax: 4096 },
  };
  return host;
}

/** A card and a helper that sends one request object and parses the reply. */
export function testCard(host = testHost(), options: CardOptions = {}): { card: Card; req: (r: object) => Record<string, any> } {
  const card = new Card(host, options);
  return {
    card,
    req: (r) => {
      const reply = card.request(JSON.stringify(r));
      return reply.text === undefined ? {} : JSON.parse(reply.text);
    },
  };
}
