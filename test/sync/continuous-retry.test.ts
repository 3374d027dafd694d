// A continuous-mode card whose sync cannot start (no hub host) must wait before trying again:
// it used to reschedule itself at once, forever, and the Moddable card stopped answering its host.
import { Card } from '../../src/card';
import { testHost } from '../support/host';

it('a continuous sync that cannot start waits before the next attempt', () => {
  const host = testHost();
  const timers: { ms: number; fire: () => void }[] = [];
  const logged: string[] = [];
  host.clock = { ...host.clock, schedule: (ms, fire) => timers.push({ ms, fire }), cancel: () => undefined };
  host.log = { log: (_level, message) => void logged.push(message) };
  host.net = { connect: () => ({ write: () => undefined, close: () => undefined }) };
  const card = new Card(host);
  card.request(JSON.stringify({ req: 'hub.set', mode: 'continuous' }));
  // fire whatever is due now (0 ms), as an event loop would; waits stay pending
  for (let i = 0; i < 50; i++) {
    const due = timers.findIndex((t) => t.ms === 0);
    if (due < 0) break;
    timers.splice(due, 1)[0].fire();
  }
  expect(logged.filter((m) => m.includes('no hub host')).length).toBeLessThanOrEqual(2);
  // hub.set with a host: no more "no hub host"
  card.request(JSON.stringify({ req: 'hub.set', host: '127.0.0.1:9' }));
  for (let i = 0; i < 5; i++) {
    const due = timers.findIndex((t) => t.ms === 0);
    if (due < 0) break;
    timers.splice(due, 1)[0].fire();
  }
  expect(logged.filter((m) => m.includes('no hub host')).length).toBeLessThanOrEqual(2);
});
