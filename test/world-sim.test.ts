// The simulator's world model on an injected clock, and its control channel.
import * as net from 'net';
import { control, ctlRequest, serveWorld } from '../hosts/node/world-ctl';
import { ctlRequestFor } from '../hosts/node/ctl-cli';
import { SimWorld, distance, type WorldEvent } from '../hosts/node/world-sim';
import type { MotionEvent } from '../src/world';

function clocked(start = {}) {
  let ms = 0;
  const world = new SimWorld(start, () => ms, () => 1_700_000_000_000 + ms);
  return { world, advance: (s: number) => ((ms += s * 1000), world.step()) };
}

it('moves along a route at the waypoints\' speeds, then stops at the end', () => {
  const { world, advance } = clocked();
  // two legs: ~1112 m north at 10 m/s, then ~1112 m north at 20 m/s
  world.play({ route: [{ lat: 10, lon: 20 }, { lat: 10.01, lon: 20, speed: 10 }, { lat: 10.02, lon: 20, speed: 20 }], movingMotion: 0 });
  const leg1 = distance(10, 20, 10.01, 20) / 10;
  expect(world.fix()).toMatchObject({ lat: 10, lon: 20 });
  advance(leg1 / 2);
  expect(world.fix()!.lat).toBeCloseTo(10.005, 6);
  expect(world.fix()).toMatchObject({ speed: 10, heading: 0, time: 1_700_000_000 + Math.floor(leg1 / 2) });
  advance(leg1 / 2 + distance(10, 20, 10.01, 20) / 20 / 2);
  expect(world.fix()!.lat).toBeCloseTo(10.015, 6);
  expect(world.fix()!.speed).toBe(20);
  advance(1000);
  expect(world.fix()).toMatchObject({ lat: 10.02, lon: 20, speed: 0 });
  // no signal, no fix
  world.set({ signal: false });
  expect(world.fix()).toBeUndefined();
});

it('plays faster with a speed factor', () => {
  const { world, advance } = clocked();
  world.play({ speed: 60, route: [{ lat: 0, lon: 0 }, { lat: 0, lon: 0.01, speed: 10 }], movingMotion: 0 });
  advance(1); // one real second = one world minute = 600 m
  expect(distance(0, 0, world.fix()!.lat, world.fix()!.lon)).toBeCloseTo(600, 0);
});

it('discharges a battery along a LiPo curve and holds on USB', () => {
  const { world, advance } = clocked();
  world.play({ battery: { capacity: 1000, load: 100, charge: 1 } });
  expect(world.power.voltage()).toBeCloseTo(4.2, 3);
  advance(2 * 3600); // 200 mAh of 1000: 80 %
  expect(world.power.voltage()).toBeCloseTo(4.0, 3);
  world.set({ usb: true });
  expect(world.power.voltage()).toBe(5);
  expect(world.power.usb!()).toBe(true);
  advance(3600);
  world.set({ usb: false });
  expect(world.power.voltage()).toBeCloseTo(4.0, 3);
  advance(6 * 3600); // 20 %
  expect(world.power.voltage()).toBeCloseTo(3.7, 3);
});

it('follows curves, fires timed events and tells listeners', () => {
  const { world, advance } = clocked();
  const motions: MotionEvent[] = [];
  const events: WorldEvent[] = [];
  world.accelerometer.onMotion((e) => motions.push(e));
  world.onEvent((e) => events.push(e));
  const pins: [number, number][] = [];
  world.aux.onChange((pin, level) => pins.push([pin, level]));
  world.aux.configure(2, 'input');
  world.play({
    curves: { temperature: [[0, 10], [100, 30]] },
    events: [
      { at: 10, motion: 3 },
      { at: 20, orientation: 'face-down' },
      { at: 30, set: { voltage: 3.1 } },
      { at: 40, aux: [2, 1] },
    ],
  });
  advance(50);
  expect(world.climate.read().temperature).toBeCloseTo(20, 6);
  expect(motions).toEqual([{ count: 3, orientation: 'face-up' }, { count: 0, orientation: 'face-down' }]);
  expect(world.power.voltage()).toBe(3.1);
  expect(pins).toEqual([[2, 1]]);
  world.attn.set(true);
  world.aux.configure(1, 'output');
  world.aux.write(1, 1);
  expect(events).toEqual([
    { event: 'scenario', state: 'started' },
    { event: 'motion', count: 3, orientation: 'face-up' },
    { event: 'motion', count: 0, orientation: 'face-down' },
    { event: 'scenario', state: 'ended' },
    { event: 'attn', high: true },
    { event: 'aux', pin: 1, level: 1, mode: 'output' },
  ]);
});

it('shakes while it moves along a route', () => {
  const { world, advance } = clocked();
  let count = 0;
  world.accelerometer.onMotion((e) => (count += e.count));
  world.play({ route: [{ lat: 0, lon: 0, wait: 30 }, { lat: 0, lon: 0.01, speed: 10 }], movingMotion: 5 });
  advance(29);
  expect(count).toBe(0); // parked
  advance(60);
  expect(count).toBe(12);
});

it('answers control requests and rejects bad ones', () => {
  const { world } = clocked();
  expect(control(world, { op: 'set', values: { voltage: 3.3, lat: 1, lon: 2 } }).world).toMatchObject({ voltage: 3.3, lat: 1, lon: 2 });
  expect(() => control(world, { op: 'set', values: { voltage: 'x' } })).toThrow('voltage: must be a number');
  expect(() => control(world, { op: 'nope' })).toThrow('unknown op');
  expect(() => control(world, { op: 'aux', pin: 9, level: 1 })).toThrow('pin: must be 1 to 4');
  expect(ctlRequestFor(['set', 'voltage=3.2', 'usb=true', 'orientation=face-down'])).toEqual({ op: 'set', values: { voltage: 3.2, usb: true, orientation: 'face-down' } });
  expect(ctlRequestFor(['motion', '5', 'portrait-up'])).toEqual({ op: 'motion', count: 5, orientation: 'portrait-up' });
});

it('serves line-delimited JSON on loopback and pushes events', async () => {
  const world = new SimWorld({ voltage: 3.9 });
  const ctl = await serveWorld(world, 0);
  try {
    expect(await ctlRequest(ctl.port, { op: 'get', id: 7 })).toMatchObject({ ok: true, id: 7, world: { voltage: 3.9 } });
    expect(await ctlRequest(ctl.port, { op: 'speed', factor: -1 })).toEqual({ ok: false, err: 'speed: must be a positive number' });
    const socket = net.connect(ctl.port, '127.0.0.1');
    const lines: string[] = [];
    let text = '';
    const got = new Promise<void>((done) =>
      socket.on('data', (d) => {
        text += d.toString();
        if (text.split('\n').length > 2) done();
      }),
    );
    await new Promise((ok) => socket.once('connect', ok));
    socket.write('{"op":"motion","count":2}\n');
    await got;
    lines.push(...text.trim().split('\n'));
    socket.destroy();
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ event: 'motion', count: 2, orientation: 'face-up' }, { ok: true }]);
  } finally {
    await ctl.close();
  }
});
