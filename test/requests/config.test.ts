// The card.* configuration requests, env.template, echo, ntn.* and card.usage periods, on a card
// without network: what they answer, what survives a restart, what card.restore forgets.
import { RamFlash } from '../../hosts/node/ram-flash';
import { testCard, testHost } from '../support/host';

function fresh() {
  const flash = new RamFlash({ size: 64 * 4096 });
  const host = testHost(flash);
  const { card, req } = testCard(host);
  return { card, req, host, flash, restart: () => testCard(testHost(flash)).req };
}

describe('configuration requests', () => {
  it('echo answers what it was sent (note-c NotePing)', () => {
    const { req } = fresh();
    expect(req({ req: 'echo', text: 'n0nce', body: { a: [1] } })).toEqual({ text: 'n0nce', body: { a: [1] } });
  });

  it('card.contact sets, keeps and clears the maintainer; card.restore forgets it', () => {
    const { req, restart } = fresh();
    expect(req({ req: 'card.contact' })).toEqual({});
    expect(req({ req: 'card.contact', name: 'Ada', org: 'Blues', role: 'ops', email: 'ada@example.com' })).toEqual({ name: 'Ada', org: 'Blues', role: 'ops', email: 'ada@example.com' });
    const again = restart();
    expect(again({ req: 'card.contact', role: '-' })).toEqual({ name: 'Ada', org: 'Blues', email: 'ada@example.com' });
    expect(again({ req: 'card.contact', name: 5 }).err).toMatch(/name.*\{bad-arg\}/);
    again({ req: 'card.restore' });
    expect(restart()({ req: 'card.contact' })).toEqual({});
  });

  it('card.carrier, card.sleep, card.triangulate and card.aux.serial answer their current configuration', () => {
    const { req, restart, host } = fresh();
    expect(req({ req: 'card.carrier' })).toEqual({ mode: 'off' });
    expect(req({ req: 'card.carrier', mode: 'charging' })).toEqual({ mode: 'charging', charging: false });
    expect(req({ req: 'card.carrier', mode: 'fast' }).err).toMatch(/mode.*\{bad-arg\}/);
    expect(req({ req: 'card.sleep' })).toEqual({ off: true });
    expect(req({ req: 'card.sleep', on: true, mode: 'accel', seconds: 60 })).toEqual({ on: true, mode: 'accel', seconds: 60 });
    expect(req({ req: 'card.sleep', seconds: 10 }).err).toMatch(/at least 30/);
    expect(req({ req: 'card.triangulate' })).toEqual({ mode: '', on: false });
    expect(req({ req: 'card.triangulate', mode: 'wifi,cell', on: true, usb: true, set: true })).toEqual({ mode: 'wifi,cell', on: true, usb: true });
    host.ms += 4000;
    expect(req({ req: 'card.triangulate', text: '+CWLAP:(4,"x",-51,"74:ac:b9:12:12:f8",1)\n' })).toEqual({ mode: 'wifi,cell', on: true, usb: true, length: 41, time: 1_700_000_004 });
    expect(req({ req: 'card.triangulate', mode: 'gps' }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'card.aux.serial' })).toEqual({ mode: 'req', rate: 115200 });
    expect(req({ req: 'card.aux.serial', mode: 'gps' })).toEqual({ mode: 'gps', rate: 9600 });
    expect(req({ req: 'card.aux.serial', mode: 'notify,accel', rate: 57600, max: 63, ms: 20 })).toEqual({ mode: 'notify,accel', rate: 57600, max: 63, ms: 20 });
    expect(req({ req: 'card.aux.serial', mode: 'notify,bogus' }).err).toMatch(/\{bad-arg\}/);
    const after = restart();
    expect(after({ req: 'card.carrier' })).toEqual({ mode: 'charging', charging: false });
    expect(after({ req: 'card.sleep', off: true })).toEqual({ off: true, mode: 'accel', seconds: 60 });
    expect(after({ req: 'card.triangulate', mode: '-' })).toEqual({ mode: '', on: true, usb: true, length: 41, time: 1_700_000_004 });
    expect(after({ req: 'card.aux.serial' })).toEqual({ mode: 'notify,accel', rate: 57600, max: 63, ms: 20 });
  });

  it('card.trace, card.monitor, card.led and card.io check their arguments and answer {}', () => {
    const { req } = fresh();
    expect(req({ req: 'card.trace', mode: 'on' })).toEqual({});
    expect(req({ req: 'card.trace', mode: 'loud' }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'card.monitor', mode: 'green', count: 5 })).toEqual({});
    expect(req({ req: 'card.led', mode: 'red', on: true })).toEqual({});
    expect(req({ req: 'card.led', mode: 'purple' }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'card.io', i2c: 24 })).toEqual({});
    expect(req({ req: 'card.io', mode: '+busy' })).toEqual({});
    expect(req({ req: 'card.io', mode: 'fast' }).err).toMatch(/\{bad-arg\}/);
  });

  it('ntn.*: no satellite module is attached, as the Notecard says', () => {
    const { req, restart } = fresh();
    expect(req({ req: 'ntn.status' })).toEqual({ err: 'no NTN module is connected {no-ntn-module}' });
    expect(req({ req: 'ntn.gps' })).toEqual({ off: true });
    expect(req({ req: 'ntn.gps', on: true })).toEqual({ on: true });
    expect(restart()({ req: 'ntn.gps' })).toEqual({ on: true });
    expect(req({ req: 'ntn.reset' })).toEqual({});
  });

  it('env.template answers the bytes of the fixed-length record and rejects other values', () => {
    const { req } = fresh();
    expect(req({ req: 'env.template', body: { env_var_int: 11, env_var_string: '10' } })).toEqual({ bytes: 11 });
    expect(req({ req: 'env.template', body: { enabled: true, temperature: 23.5, count: 42, name: 'sensor', f: 14.1, u: 24 } })).toEqual({ bytes: 1 + 8 + 4 + 6 + 4 + 4 });
    expect(req({ req: 'env.template', body: { nested: { a: 1 } } }).err).toMatch(/nested.*\{bad-arg\}/);
    expect(req({ req: 'env.template' })).toEqual({ bytes: 0 });
  });

  it('hub.log adds to _health_host.qo (text required); without a network the note waits', () => {
    const { req, card } = fresh();
    expect(req({ req: 'hub.log', text: 'hello', alert: true, sync: true })).toEqual({});
    expect(req({ req: 'hub.log' }).err).toMatch(/text.*\{bad-arg\}/);
    expect(card.notefiles.pending(card.notefiles.state('_health_host.qo')!, 10).map((n) => n.body)).toEqual([{ text: 'hello', alert: true }]);
  });

  it('card.usage.get sums the hour and day histories by period and offset; card.usage.test projects', () => {
    const { req, card, flash } = fresh();
    const now = 1_700_000_000; // the test host's wall clock
    const hour = Math.floor(now / 3600);
    const day = Math.floor(now / 86400);
    card.settings.set('usage', {
      since: now - 40 * 86400,
      total: { bytes_sent: 5000, bytes_received: 7000, notes_sent: 50, notes_received: 5, sessions: 20 },
      hours: [[hour - 1, 10, 20, 1, 0, 1], [hour, 100, 200, 2, 1, 1]],
      days: [[day - 31, 1, 1, 0, 0, 1], [day - 1, 1000, 2000, 10, 1, 4], [day, 110, 220, 3, 1, 2]],
    });
    const counts = (s: number, r: number, ns: number, nr: number, sess: number) => ({ bytes_sent: s, bytes_received: r, notes_sent: ns, notes_received: nr, sessions_standard: 0, sessions_secure: sess });
    expect(req({ req: 'card.usage.get' })).toEqual({ time: now - 40 * 86400, seconds: 40 * 86400, ...counts(5000, 7000, 50, 5, 20) });
    expect(req({ req: 'card.usage.get', mode: '1hour' })).toEqual({ time: hour * 3600, seconds: 3600, ...counts(100, 200, 2, 1, 1) });
    expect(req({ req: 'card.usage.get', mode: '1hour', offset: 1 })).toEqual({ time: (hour - 1) * 3600, seconds: 3600, ...counts(10, 20, 1, 0, 1) });
    expect(req({ req: 'card.usage.get', mode: '1day', offset: 1 })).toEqual({ time: (day - 1) * 86400, seconds: 86400, ...counts(1000, 2000, 10, 1, 4) });
    expect(req({ req: 'card.usage.get', mode: '30day' })).toEqual({ time: (day - 29) * 86400, seconds: 30 * 86400, ...counts(1110, 2220, 13, 2, 6) });
    expect(req({ req: 'card.usage.get', mode: '30day', offset: 1 })).toMatchObject({ time: (day - 59) * 86400, ...counts(1, 1, 0, 0, 1) });
    expect(req({ req: 'card.usage.get', mode: 'week' }).err).toMatch(/\{bad-arg\}/);
    expect(req({ req: 'card.usage.test', days: 2, megabytes: 1 })).toEqual({
      max: Math.floor(1048576 / 1665), days: 2, bytes_per_day: 1665, seconds: 2 * 86400, time: now - 40 * 86400, ...counts(1110, 2220, 13, 2, 6),
    });
    expect(req({ req: 'card.usage.test', hours: 2 })).toMatchObject({ bytes_per_day: 330 * 12, days: 0, seconds: 7200 });
    expect(req({ req: 'card.usage.test' })).toMatchObject({ bytes_per_day: 300, days: 40, max: Math.floor((1024 * 1048576) / 300) });
    // The data used is the card's life: a factory reset keeps it.
    card.request('{"req":"card.restore","delete":true}');
    expect(testCard(testHost(flash)).req({ req: 'card.usage.get' })).toMatchObject(counts(5000, 7000, 50, 5, 20));
  });
});
