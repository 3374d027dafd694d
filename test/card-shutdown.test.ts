// card.shutdown (card.restart on the device): the old card leaves nothing scheduled. A pending
// timer holds its closure, and with it the whole old card, while the next card boots in place;
// the Moddable card has no room for two (issue 12: "XS abort: memory full" at card.restart).
import { RamFlash } from '../hosts/node/ram-flash';
import { Card } from '../src/card';
import type { Host } from '../src/host';

function rig() {
  let ms = 0;
  let next = 1;
  const pending = new Map<number, () => void>();
  const host: Host = {
    flash: new RamFlash({ size: 64 * 4096 }),
    clock: {
      now: () => ms,
      wall: () => 1_700_000_000_000 + ms,
      schedule: (_delay, fire) => {
        const id = next++;
        pending.set(id, fire);
        return id;
      },
      cancel: (id) => void pending.delete(id as number),
    },
    random: { bytes: (n) => new Uint8Array(n).fill(7) },
    log: { log: () => undefined },
    info: { platform: 'test', binaryMax: 4096 },
    // A network, so the card has a sync engine; with no hub host set it is never dialled.
    net: { connect: () => { throw new Error('no hub here'); } },
  };
  const card = new Card(host);
  const req = (r: object): Record<string, unknown> => JSON.parse(card.request(JSON.stringify(r)).text!);
  return { card, req, pending, tick: () => (ms += 1000) };
}

describe('card.shutdown', () => {
  it('leaves no timer behind, even after a request asked for a sync before the planned one', () => {
    const { card, req, pending } = rig();
    expect(pending.size).toBeGreaterThan(0); // the periodic sync is planned
    expect(req({ req: 'var.set', name: 'alarm', flag: true, sync: true }).err).toBeUndefined();
    expect(req({ req: 'hub.log', text: 'boot', sync: true }).err).toBeUndefined();
    card.shutdown();
    expect([...pending.keys()]).toEqual([]);
  });
});
