// The world requests on a card whose clock, timers and world (the simulator's model) the test moves.
import { RamFlash } from '../hosts/node/ram-flash';
import { SimWorld, type Scenario, type WorldValues } from '../hosts/node/world-sim';
import { Card, PendingSync } from '../src/card';
import type { Clock, Host, Net } from '../src/host';
import type { World } from '../src/world';

const WALL0 = 1_700_000_000_000;

class ManualClock implements Clock {
  ms = 0;
  #timers: { at: number; fire: () => void; id: number }[] = [];
  #next = 1;
  /** Every delay ever scheduled, in order. */
  delays: number[] = [];
  now = () => this.ms;
  wall = () => WALL0 + this.ms;
  schedule = (ms: number, fire: () => void) => {
    const id = this.#next++;
    this.delays.push(ms);
    this.#timers.push({ at: this.ms + ms, fire, id });
    return id;
  };
  cancel = (id: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };
  /** Move time, firing due timers in order. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.#timers[0];
      if (!t || t.at > end) break;
      this.#timers.shift();
      this.ms = Math.max(this.ms, t.at);
      t.fire();
    }
    this.ms = end;
  }
}

function rig(start: WorldValues = {}, opts: { world?: World | null; net?: Net } = {}) {
  const clock = new ManualClock();
  const sim = new SimWorld(start, () => clock.ms, () => WALL0 + clock.ms);
  let seed = 7;
  const host: Host = {
    flash: new RamFlash({ size: 64 * 4096 }),
    clock,
    random: { bytes: (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) },
    log: { log: () => undefined },
    info: { platform: 'test', binaryMax: 4096 },
    world: opts.world === null ? undefined : opts.world ?? sim,
    net: opts.net,
  };
  const card = new Card(host);
  const req = (r: object): Record<string, any> => JSON.parse(card.request(JSON.stringify(r)).text!);
  const notes = (file: string) => card.notefiles.changes(file, {}).notes.map((n) => n.body);
  return { clock, sim, card, req, notes, advance: (s: number) => clock.advance(s * 1000) };
}

describe('card.location', () => {
  it('reports the fix of a periodic sample, and nothing while off', () => {
    const { req, advance } = rig({ lat: 42.5776, lon: -70.87134 });
    expect(req({ req: 'card.location.mode' })).toEqual({ mode: 'periodic' });
    expect(req({ req: 'card.location' })).toEqual({ status: expect.stringContaining('{gps-active}'), mode: 'periodic', lat: 42.5776, lon: -70.87134, time: 1_700_000_000, dop: 1.2 });
    expect(req({ req: 'card.location.mode', mode: 'off' })).toEqual({ mode: 'off' });
    advance(10);
    expect(req({ req: 'card.location' })).toMatchObject({ status: expect.stringContaining('{gps-inactive}'), mode: 'off' });
    expect(req({ req: 'card.location.mode', mode: 'bogus' }).err).toContain('{bad-arg}');
    expect(req({ req: 'card.location.mode', mode: 'fixed' }).err).toContain('needs lat and lon');
    expect(req({ req: 'card.location.mode', mode: 'fixed', lat: 1.5, lon: 2.5 })).toEqual({ mode: 'fixed', lat: 1.5, lon: 2.5 });
    expect(req({ req: 'card.location' })).toMatchObject({ mode: 'off', lat: 1.5, lon: 2.5 });
  });

  it('without a GNSS receiver says so', () => {
    const { req } = rig({}, { world: null });
    expect(req({ req: 'card.location' }).status).toContain('no GNSS receiver');
    expect(req({ req: 'card.voltage' }).err).toContain('{not-supported}');
    expect(req({ req: 'card.temp' }).err).toContain('{not-supported}');
  });

  it('keeps mode, seconds, threshold, vseconds and a geofence across a restart', () => {
    const r = rig({ lat: 1, lon: 1 });
    const set = { req: 'card.location.mode', mode: 'periodic', seconds: 600, threshold: 3, vseconds: 'usb:60;normal:600', lat: 1, lon: 1, max: 100, minutes: 2 };
    const want = { mode: 'periodic', seconds: 600, vseconds: 'usb:60;normal:600', threshold: 3, lat: 1, lon: 1, max: 100, minutes: 2 };
    expect(r.req(set)).toEqual(want);
    r.card.shutdown();
    const again = new Card({ ...r.card.host });
    expect(JSON.parse(again.request('{"req":"card.location.mode"}').text!)).toEqual(want);
    expect(r.req({ req: 'card.location.mode', vseconds: 'nonsense' }).err).toContain('{bad-arg}');
  });

  it('tracks a route into _track.qo with positions, motion and a heartbeat', () => {
    const { req, sim, notes, advance, card } = rig();
    const route: Scenario = { route: [{ lat: 10, lon: 20, wait: 5 }, { lat: 10.001, lon: 20, speed: 10 }], movingMotion: 5 };
    sim.play(route);
    expect(req({ req: 'card.location.mode', mode: 'continuous' })).toEqual({ mode: 'continuous' });
    expect(req({ req: 'card.location.track', start: true, heartbeat: true, hours: -30, sync: true })).toEqual({ start: true, heartbeat: true, minutes: 30 });
    advance(3);
    // tracking starts where the card is parked: one note there, no more until it moves
    expect(notes('_track.qo')).toEqual([{ _lat: 10, _lon: 20, _ltime: 1_700_000_001, dop: 1.2, temperature: 22, voltage: 4 }]);
    advance(20);
    const moving = notes('_track.qo');
    expect(moving.length).toBeGreaterThan(5);
    const first = moving[1]!;
    expect(first._lat).toBeGreaterThan(10);
    expect(first._lon).toBe(20);
    expect(first).toMatchObject({ seconds: expect.any(Number), distance: expect.any(Number), voltage: 4, temperature: 22 });
    expect(first.bearing ?? 0).toBe(0); // due north (the template leaves a 0 out)
    expect(moving.some((b) => (b!.motion as number) > 0)).toBe(true);
    expect(moving.some((b) => b!.journey !== undefined)).toBe(true);
    advance(600);
    const parked = notes('_track.qo');
    expect(parked[parked.length - 1]).toMatchObject({ _lat: 10.001, _lon: 20 });
    const count = parked.length;
    advance(30 * 60);
    const hb = notes('_track.qo');
    expect(hb.length).toBe(count + 1);
    expect(hb[hb.length - 1]).toMatchObject({ _lat: 10.001, _lon: 20, heartbeat: true });
    expect((card.sync as PendingSync).requested).toBe(true);
    expect(req({ req: 'card.location.track', stop: true })).toEqual({ stop: true, heartbeat: true, minutes: 30 });
    expect(req({ req: 'card.location.track', start: true, file: 'data.qi' }).err).toContain('outbound queue');
  });

  it('samples periodically only after motion', () => {
    const { req, sim, advance } = rig({ lat: 5, lon: 5 });
    req({ req: 'card.location.mode', mode: 'periodic', seconds: 60 });
    sim.set({ lat: 6, lon: 6 });
    advance(61);
    expect(req({ req: 'card.location' })).toMatchObject({ lat: 5, lon: 5 }); // no motion, no new sample
    sim.motion(2);
    advance(60);
    expect(req({ req: 'card.location' })).toMatchObject({ lat: 6, lon: 6 });
  });
});

describe('card.motion', () => {
  it('counts movements in buckets, orientation and free fall since the last request', () => {
    const { req, sim, advance } = rig();
    expect(req({ req: 'card.motion.mode', start: true, seconds: 10, motion: 3 })).toEqual({ start: true, seconds: 10, motion: 3 });
    sim.motion(2);
    advance(10);
    sim.motion(4, 'face-down', true);
    const r = req({ req: 'card.motion', minutes: 1 });
    expect(r).toEqual({ count: 6, status: 'face-down', alert: true, motion: 1_700_000_010, mode: 'moving', seconds: 10, movements: '420000' });
    advance(10);
    expect(req({ req: 'card.motion' })).toEqual({ count: 0, status: 'face-down', motion: 1_700_000_010, mode: 'stopped' });
    // a new bucket length starts the buckets afresh (old ones would land in the wrong places)
    sim.motion(1);
    expect(req({ req: 'card.motion.mode', seconds: 60 })).toEqual({ start: true, seconds: 60, motion: 3 });
    advance(60);
    sim.motion(2);
    expect(req({ req: 'card.motion', minutes: 3 })).toMatchObject({ count: 3, seconds: 60, movements: '200' });
    expect(req({ req: 'card.motion.mode', stop: true })).toEqual({ stop: true, seconds: 60, motion: 3 });
    sim.motion(5);
    expect(req({ req: 'card.motion' }).count).toBe(0); // the accelerometer is off
  });

  it('syncs on motion (rate-limited) and captures _motion.qo', () => {
    const { req, sim, card, notes, advance } = rig();
    const pending = card.sync as PendingSync;
    req({ req: 'card.motion.mode', seconds: 5 });
    expect(req({ req: 'card.motion.sync', start: true, minutes: 10, count: 4, threshold: 2 })).toEqual({});
    expect(req({ req: 'card.motion.track', start: true, minutes: 10, count: 4, threshold: 2 })).toEqual({});
    sim.motion(1);
    expect(pending.requested).toBe(false); // one bucket with motion, two needed
    advance(5);
    sim.motion(3);
    expect(pending.requested).toBe(true);
    expect(notes('_motion.qo')).toEqual([{ movements: '3100', seconds: 5, motion: 4, orientation: 'face-up' }]);
    pending.requested = false;
    advance(5);
    sim.motion(1);
    expect(pending.requested).toBe(false); // within 10 minutes of the last one
    advance(600);
    sim.motion(1);
    advance(5);
    sim.motion(1);
    expect(pending.requested).toBe(true);
    req({ req: 'card.motion.sync', stop: true });
    pending.requested = false;
    advance(700);
    sim.motion(1);
    advance(5);
    sim.motion(1);
    expect(pending.requested).toBe(false);
  });
});

describe('card.voltage', () => {
  it('names the mode from thresholds, custom tables and calibration', () => {
    const { req, sim, advance } = rig({ voltage: 3.9 });
    expect(req({ req: 'card.voltage' })).toEqual({ mode: 'normal', value: 3.9 });
    expect(req({ req: 'card.voltage', mode: '?' }).mode).toBe('usb:4.6;high:4.0;normal:3.5;low:3.2;dead:0');
    sim.set({ voltage: 3.3 });
    expect(req({ req: 'card.voltage', now: true })).toEqual({ mode: 'low', value: 3.3 });
    expect(req({ req: 'card.voltage', mode: 'usb:4.6;high:3.2;normal:3.0;low:2.8;dead:0', now: true })).toEqual({ mode: 'high', value: 3.3 });
    expect(req({ req: 'card.voltage', mode: 'lipo' }).mode).toBe('low');
    expect(req({ req: 'card.voltage', mode: 'fuel-cell' }).err).toContain('{bad-arg}');
    expect(req({ req: 'card.voltage', calibration: 0.5, set: true, now: true })).toEqual({ mode: 'normal', value: 3.8, calibration: 0.5 });
    sim.set({ usb: true });
    advance(60);
    expect(req({ req: 'card.voltage', now: true })).toMatchObject({ usb: true, mode: 'usb' });
    sim.set({ usb: false });
    advance(5 * 60);
    expect(req({ req: 'card.voltage', now: true })).toMatchObject({ mode: 'normal', minutes: 5 });
  });

  it('keeps hourly history for trends', () => {
    const { req, sim, advance } = rig({ voltage: 4.1 });
    expect(req({ req: 'card.voltage', on: true })).toEqual({ mode: 'high', value: 4.1, hours: 0, on: true });
    advance(24 * 3600);
    sim.set({ voltage: 3.9 });
    advance(24 * 3600);
    const r = req({ req: 'card.voltage' });
    expect(r).toMatchObject({ mode: 'normal', hours: 48, vmin: 3.9, vmax: 4.1, vavg: expect.closeTo(4.0, 2), daily: -0.2 });
    expect(req({ req: 'card.voltage', hours: 12 })).toMatchObject({ hours: 12, vmin: 3.9, vmax: 3.9 });
    expect(req({ req: 'card.voltage', off: true }).hours).toBeUndefined();
  });

  it('reports USB changes to _health.qo and syncs', () => {
    const { req, sim, card, notes, advance } = rig({ voltage: 3.9 });
    expect(req({ req: 'card.voltage', usb: true, alert: true, sync: true })).toEqual({ mode: 'normal', value: 3.9, alert: true, sync: true });
    sim.set({ usb: true });
    advance(60);
    expect(notes('_health.qo')).toEqual([{ text: 'USB power connected', usb: true, voltage: 5 }]);
    expect((card.sync as PendingSync).requested).toBe(true);
  });

  it('drives the sync engine\'s voutbound interval', () => {
    const net: Net = { connect: () => ({ write: () => undefined, close: () => undefined }) };
    const { req, sim, clock, advance } = rig({ voltage: 3.9 }, { net });
    req({ req: 'hub.set', mode: 'periodic', outbound: 30, voutbound: 'usb:1;high:5;normal:10;low:60;dead:0', vinbound: 'low:600;720' });
    expect(clock.delays[clock.delays.length - 1]).toBe(10 * 60_000);
    sim.set({ voltage: 3.3 });
    const before = clock.delays.length;
    advance(60); // the next voltage sample sees "low"
    expect(clock.delays.slice(before)).toContain(60 * 60_000);
    expect(req({ req: 'card.voltage' }).mode).toBe('low');
  });
});

describe('card.temp', () => {
  it('reads the sensor and logs _temp.qo periodically', () => {
    const { req, sim, notes, advance } = rig({ temperature: 21.5, voltage: 3.9 });
    expect(req({ req: 'card.temp' })).toEqual({ value: 21.5, temperature: 21.5, humidity: 40, pressure: 101325, voltage: 3.9 });
    expect(req({ req: 'card.temp', minutes: 30 })).toMatchObject({ value: 21.5 });
    sim.set({ temperature: 25 });
    advance(30 * 60);
    advance(30 * 60);
    expect(notes('_temp.qo')).toEqual([{ value: 25, voltage: 3.9 }, { value: 25, voltage: 3.9 }]);
    req({ req: 'card.temp', stop: true });
    advance(3600);
    expect(notes('_temp.qo').length).toBe(2);
    expect(req({ req: 'card.temp', status: 'usb:15;high:30;normal:60;720' })).toMatchObject({ value: 25 });
    advance(60 * 60);
    expect(notes('_temp.qo').length).toBe(3);
  });
});

describe('card.attn', () => {
  it('arms on files: an inbound note fires it', () => {
    const { req, sim, card } = rig();
    expect(req({ req: 'card.attn', mode: 'arm,files', files: ['data.qi', 'config.db'] })).toEqual({});
    expect(sim.attnHigh).toBe(false);
    card.notefiles.applyFromHub('data.qi', [{ body: { hello: 1 } }]);
    expect(sim.attnHigh).toBe(true);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['data.qi'], set: true });
    expect(req({ req: 'card.attn', mode: 'arm' })).toEqual({});
    card.notefiles.applyFromHub('other.qi', [{ body: {} }]);
    expect(sim.attnHigh).toBe(false);
    expect(req({ req: 'card.attn', verify: true })).toEqual({ files: ['data.qi', 'config.db', 'files'] });
  });

  it('fires on env changes, motion and location, and after seconds', () => {
    const { req, sim, card, advance } = rig({ lat: 1, lon: 1 });
    req({ req: 'card.attn', mode: 'arm,env' });
    card.env.replace('hub', { a: '1' }, true);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['env'], set: true });
    req({ req: 'card.attn', mode: 'arm,motion,-env' });
    card.env.replace('hub', { a: '2' }, true);
    expect(sim.attnHigh).toBe(false);
    sim.motion(1);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['motion'], set: true });
    req({ req: 'card.attn', mode: 'arm,location,-all' });
    sim.motion(1);
    expect(sim.attnHigh).toBe(false);
    req({ req: 'card.attn', mode: 'arm,location' });
    sim.set({ lat: 2 });
    sim.motion(1); // the periodic sample needs motion
    advance(3600);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['location'], set: true });
    req({ req: 'card.attn', mode: 'disarm,-all' });
    req({ req: 'card.attn', mode: 'arm', seconds: 30 });
    advance(29);
    expect(sim.attnHigh).toBe(false);
    advance(1);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['timeout'], set: true });
  });

  it('fires when USB power appears or goes away (usb), from the world\'s supply', () => {
    const { req, sim, advance } = rig({ voltage: 3.8 });
    expect(req({ req: 'card.attn', mode: 'arm,usb' })).toEqual({});
    advance(120);
    expect(sim.attnHigh).toBe(false);
    sim.set({ usb: true });
    advance(60); // the supply is sampled each minute
    expect(sim.attnHigh).toBe(true);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['usb'], set: true });
    req({ req: 'card.attn', mode: 'arm' });
    sim.set({ usb: false });
    advance(60);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['usb'], set: true });
    req({ req: 'card.attn', mode: 'arm,-usb' });
    sim.set({ usb: true });
    advance(60);
    expect(sim.attnHigh).toBe(false);
  });

  it('fires when an AUX input changes (auxgpio)', () => {
    const { req, sim } = rig();
    expect(req({ req: 'card.aux', mode: 'gpio', usage: ['input', 'off', 'off', 'off'] }).err).toBeUndefined();
    req({ req: 'card.attn', mode: 'arm,auxgpio' });
    expect(sim.attnHigh).toBe(false);
    sim.drive(1, 1);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['auxgpio'], set: true });
  });

  it('a card that shut down (restart) takes its listeners back from the world: the board has no room for two cards', () => {
    const set: { motion: unknown[]; aux: unknown[] } = { motion: [], aux: [] };
    const world: World = {
      accelerometer: { orientation: () => 'face-up', onMotion: (l) => void set.motion.push(l) },
      aux: { count: 4, configure: () => undefined, read: () => 0, write: () => undefined, onChange: (l) => void set.aux.push(l) },
    };
    const { card } = rig({}, { world });
    const live = [set.motion.length, set.aux.length];
    expect(live[0]).toBeGreaterThan(0);
    expect(live[1]).toBeGreaterThan(0);
    card.shutdown();
    // each part got a listener after the card's own, so the world no longer reaches the old card
    expect([set.motion.length, set.aux.length]).toEqual([live[0] + 1, live[1] + 1]);
    expect(() => (set.motion[set.motion.length - 1] as (e: object) => void)({ count: 1 })).not.toThrow();
    expect(() => (set.aux[set.aux.length - 1] as (p: number, l: number) => void)(1, 1)).not.toThrow();
  });

  it('watchdog fires unless renewed; off keeps the pin low', () => {
    const { req, sim, advance } = rig();
    req({ req: 'card.attn', mode: 'watchdog', seconds: 60 });
    advance(50);
    req({ req: 'card.attn', mode: 'watchdog', seconds: 60 });
    advance(50);
    expect(sim.attnHigh).toBe(false);
    advance(10);
    expect(req({ req: 'card.attn' })).toEqual({ files: ['watchdog'], set: true });
    expect(req({ req: 'card.attn', off: true })).toEqual({ files: ['watchdog'], off: true });
    expect(sim.attnHigh).toBe(false);
    req({ req: 'card.attn', mode: 'arm', seconds: 1 });
    advance(5);
    expect(sim.attnHigh).toBe(false);
    req({ req: 'card.attn', on: true, mode: 'arm', seconds: 1 });
    advance(1);
    expect(sim.attnHigh).toBe(true);
  });

  it('sleep keeps a payload for the host to take back on wake', () => {
    const { req, sim, advance } = rig();
    expect(req({ req: 'card.attn', mode: 'sleep', seconds: 3600, payload: 'aGVsbG8=' })).toEqual({});
    expect(sim.attnHigh).toBe(false);
    advance(3600);
    expect(sim.attnHigh).toBe(true);
    expect(req({ req: 'card.attn', start: true })).toEqual({ payload: 'aGVsbG8=', time: 1_700_000_000 });
    expect(req({ req: 'card.attn', start: true })).toEqual({});
    expect(req({ req: 'card.attn', mode: 'sleep', payload: '***' }).err).toContain('base64');
    expect(req({ req: 'card.attn', mode: 'wiggle' }).err).toContain('unknown keyword');
  });
});
