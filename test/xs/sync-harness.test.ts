// The loopback sync round that bench/xs-sync.ts meters in XS does a real, complete sync.
import { loopbackCard } from './sync-harness';

it('runs a complete sync round through the engine and the protocol', () => {
  const lb = loopbackCard();
  expect(lb.sync().status).toContain('{sync-end}'); // provisioning round
  lb.add(100);
  const round = lb.sync();
  expect(round.status).toContain('{sync-end}');
  expect(round.notes).toBe(100);
  expect(lb.card.notefiles.pendingCount(lb.card.store.file('sensors.qo')!)).toBe(0);
  // Nothing is sent twice.
  expect(lb.sync().notes).toBe(100);
});

it('a card that shut down (restart) no longer syncs', () => {
  const lb = loopbackCard();
  lb.sync();
  lb.add(5);
  lb.card.shutdown();
  expect(lb.sync().notes).toBe(0);
  expect(lb.card.engine!.running).toBe(false);
});
