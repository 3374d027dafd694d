// A simulated world: a stateful model the card senses through the World contract (src/world.ts),
// driven by start values, a scenario timeline played at a speed factor, and live commands (the
// Node simulator's control channel, hosts/node/world-ctl.ts). Host-agnostic, so simulator boards
// (the Node simulator, the Moddable lin build) share it. Time is injected (`now`, real ms); the
// model runs on "world seconds" = real seconds x speed since the scenario started.
import type {
  Accelerometer,
  AttnPin,
  AuxPinMode,
  AuxPins,
  Climate,
  Gnss,
  GnssFix,
  LightSense,
  MotionEvent,
  Orientation,
  PowerSense,
  World,
} from '../world';

export const ORIENTATIONS: readonly Orientation[] = ['face-up', 'face-down', 'portrait-up', 'portrait-down', 'landscape-left', 'landscape-right', 'angled'];

/** Scalar quantities a scenario may give as curves and `set` may fix. */
export const SCALARS = ['voltage', 'temperature', 'humidity', 'pressure', 'lux'] as const;
export type Scalar = (typeof SCALARS)[number];

/** [world seconds, value] points, linearly interpolated, held flat past either end. */
export type Curve = readonly (readonly [number, number])[];

export interface Waypoint {
  lat: number;
  lon: number;
  /** m/s on the way to this waypoint (from the previous one); default 10. */
  speed?: number;
  /** Seconds to stay here before going on. */
  wait?: number;
}

/** What `set` (control channel, scenario events, start flags) may change. */
export interface WorldValues {
  voltage?: number;
  usb?: boolean;
  temperature?: number;
  humidity?: number;
  pressure?: number;
  lux?: number;
  orientation?: Orientation;
  /** A fixed position (cancels a route). */
  lat?: number;
  lon?: number;
  /** Whether the GNSS receiver hears satellites. */
  signal?: boolean;
  /** Battery state of charge, 0..1 (the discharge model). */
  charge?: number;
}

export interface Battery {
  /** mAh. */
  capacity: number;
  /** mA drawn while not on USB. */
  load: number;
  /** Start state of charge, 0..1. */
  charge?: number;
}

export interface ScenarioEvent {
  /** World seconds from the scenario's start. */
  at: number;
  set?: WorldValues;
  /** Inject this many motion events. */
  motion?: number;
  orientation?: Orientation;
  freefall?: boolean;
  /** Drive an AUX input: [pin, level]. */
  aux?: [number, 0 | 1];
}

export interface Scenario {
  /** Speed factor (world seconds per real second); default 1. */
  speed?: number;
  start?: WorldValues;
  battery?: Battery;
  route?: Waypoint[];
  /** Motion events every this many world seconds while moving along the route (0: none); default 5. */
  movingMotion?: number;
  curves?: Partial<Record<Scalar, Curve>>;
  events?: ScenarioEvent[];
}

/** What the world tells the control channel. */
export type WorldEvent =
  | { event: 'attn'; high: boolean }
  | { event: 'aux'; pin: number; level: 0 | 1; mode: AuxPinMode }
  | { event: 'motion'; count: number; orientation: Orientation; freefall?: boolean }
  | { event: 'scenario'; state: 'started' | 'ended' };

// A LiPo cell's open-circuit voltage against its state of charge.
const LIPO: Curve = [[0, 3.0], [0.05, 3.45], [0.1, 3.6], [0.2, 3.7], [0.4, 3.78], [0.6, 3.87], [0.8, 4.0], [1, 4.2]];
const USB_VOLTS = 5.0;
const EARTH_M = 6371000;

export function interpolate(curve: Curve, x: number): number {
  if (x <= curve[0][0]) return curve[0][1];
  for (let i = 1; i < curve.length; i++) {
    const [x1, y1] = curve[i];
    if (x <= x1) {
      const [x0, y0] = curve[i - 1];
      return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    }
  }
  return curve[curve.length - 1][1];
}

/** Great-circle metres between two points. */
export function distance(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const dLat = (bLat - aLat) * r;
  const dLon = (bLon - aLon) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(aLat * r) * Math.cos(bLat * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

function bearing(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const y = Math.sin((bLon - aLon) * r) * Math.cos(bLat * r);
  const x = Math.cos(aLat * r) * Math.sin(bLat * r) - Math.sin(aLat * r) * Math.cos(bLat * r) * Math.cos((bLon - aLon) * r);
  return ((Math.atan2(y, x) / r) + 360) % 360;
}

interface Leg {
  t0: number; // world seconds leaving `from`
  t1: number; // arriving at `to`
  from: Waypoint;
  to: Waypoint;
  speed: number;
}

/** A route as timed legs (waits are legs that do not move). */
function legs(route: Waypoint[]): Leg[] {
  const out: Leg[] = [];
  let t = 0;
  for (let i = 1; i < route.length; i++) {
    const from = route[i - 1];
    const to = route[i];
    if (from.wait) {
      out.push({ t0: t, t1: t + from.wait, from, to: from, speed: 0 });
      t += from.wait;
    }
    const speed = to.speed ?? 10;
    const d = distance(from.lat, from.lon, to.lat, to.lon);
    const dt = speed > 0 ? d / speed : 0;
    out.push({ t0: t, t1: t + dt, from, to, speed });
    t += dt;
  }
  return out;
}

export interface Position {
  lat: number;
  lon: number;
  speed: number;
  heading?: number;
}

export class SimWorld implements World {
  readonly power: PowerSense;
  readonly climate: Climate;
  readonly accelerometer: Accelerometer;
  readonly gnss: Gnss;
  readonly light: LightSense;
  readonly attn: AttnPin;
  readonly aux: AuxPins;

  readonly #now: () => number;
  readonly #wall: () => number;
  #speed = 1;
  #base = 0; // world seconds at #baseReal
  #baseReal: number;
  #last = 0; // world seconds the model last stepped to

  // state
  #values: Required<Omit<WorldValues, 'lat' | 'lon' | 'voltage' | 'charge'>> & { voltage?: number };
  #position: { lat: number; lon: number } | undefined;
  #battery: Battery | undefined;
  #charge = 1;
  #curves: Partial<Record<Scalar, Curve>> = {};
  #route: { legs: Leg[]; start: number } | undefined;
  #movingMotion = 5;
  #nextMovingMotion = 0;
  #events: ScenarioEvent[] = [];
  #scenarioStart = 0;
  #scenarioRunning = false;
  #gnssOn = true;
  #motionOn = true;
  #motions = 0;
  #attn = false;
  #auxMode: AuxPinMode[] = ['off', 'off', 'off', 'off'];
  #auxLevel: (0 | 1)[] = [0, 0, 0, 0];
  #onMotion: ((e: MotionEvent) => void) | undefined;
  #onAux: ((pin: number, level: 0 | 1) => void) | undefined;
  #listeners = new Set<(e: WorldEvent) => void>();

  /** `now`: monotonic real ms; `wall`: unix ms (GNSS time). */
  constructor(start: WorldValues, now: () => number, wall: () => number) {
    this.#now = now;
    this.#wall = wall;
    this.#baseReal = now();
    this.#values = { usb: false, temperature: 22, humidity: 40, pressure: 101325, lux: 300, orientation: 'face-up', signal: true, voltage: 4.0 };
    this.#apply(start);

    const world = this;
    this.power = {
      voltage: () => world.#scalar('voltage'),
      usb: () => world.#values.usb,
    };
    this.climate = {
      read: () => ({ temperature: world.#scalar('temperature'), humidity: world.#scalar('humidity'), pressure: world.#scalar('pressure') }),
    };
    this.accelerometer = {
      orientation: () => world.#values.orientation,
      onMotion: (listener) => void (world.#onMotion = listener),
      enable: (on) => void (world.#motionOn = on),
    };
    this.gnss = {
      power: (on) => void (world.#gnssOn = on),
      fix: () => world.fix(),
    };
    this.light = { lux: () => world.#scalar('lux') };
    this.attn = {
      set: (high) => {
        if (high === world.#attn) return;
        world.#attn = high;
        world.#emit({ event: 'attn', high });
      },
    };
    this.aux = {
      count: 4,
      configure: (pin, mode) => {
        world.#auxMode[world.#pin(pin)] = mode;
        if (mode === 'input-pullup') world.#auxLevel[pin - 1] = 1;
        if (mode === 'input-pulldown' || mode === 'off') world.#auxLevel[pin - 1] = 0;
      },
      read: (pin) => world.#auxLevel[world.#pin(pin)],
      write: (pin, level) => {
        const i = world.#pin(pin);
        world.#auxLevel[i] = level;
        world.#emit({ event: 'aux', pin, level, mode: world.#auxMode[i] });
      },
      onChange: (listener) => void (world.#onAux = listener),
    };
  }

  /** World seconds since the world (or its scenario) started. */
  seconds(): number {
    return this.#base + ((this.#now() - this.#baseReal) / 1000) * this.#speed;
  }

  get speed(): number {
    return this.#speed;
  }

  set speed(factor: number) {
    if (!(factor > 0)) throw new Error('speed: must be a positive number');
    this.#base = this.seconds();
    this.#baseReal = this.#now();
    this.#speed = factor;
  }

  get attnHigh(): boolean {
    return this.#attn;
  }

  onEvent(listener: (e: WorldEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Load a scenario and start playing it from world second 0. */
  play(s: Scenario): void {
    this.step();
    this.#base = 0;
    this.#baseReal = this.#now();
    this.#last = 0;
    this.#speed = s.speed ?? 1;
    this.#curves = { ...(s.curves ?? {}) };
    this.#battery = s.battery;
    if (s.battery) {
      this.#charge = s.battery.charge ?? 1;
      this.#values.voltage = undefined;
    }
    this.#apply(s.start ?? {});
    this.#route = s.route && s.route.length > 0 ? { legs: legs(s.route), start: 0 } : undefined;
    if (s.route && s.route.length > 0) this.#position = { lat: s.route[0].lat, lon: s.route[0].lon };
    this.#movingMotion = s.movingMotion ?? 5;
    this.#nextMovingMotion = this.#movingMotion;
    this.#events = [...(s.events ?? [])].sort((a, b) => a.at - b.at);
    this.#scenarioStart = 0;
    this.#scenarioRunning = true;
    this.#emit({ event: 'scenario', state: 'started' });
  }

  /** Change values now (control channel `set`); a value set replaces its curve. */
  set(values: WorldValues): void {
    this.step();
    const before = this.#values.orientation;
    this.#apply(values);
    if (values.orientation !== undefined && values.orientation !== before) this.motion(0, values.orientation);
  }

  /** Inject motion: `count` events (0 = an orientation change only). */
  motion(count: number, orientation?: Orientation, freefall?: boolean): void {
    if (orientation) this.#values.orientation = orientation;
    if (!this.#motionOn) return;
    this.#motions += count;
    const e: MotionEvent = { count, orientation: this.#values.orientation };
    if (freefall) e.freefall = true;
    this.#onMotion?.(e);
    this.#emit({ event: 'motion', count, orientation: this.#values.orientation, ...(freefall ? { freefall } : {}) });
  }

  /** Drive an AUX pin from outside (an input changing level). */
  drive(pin: number, level: 0 | 1): void {
    const i = this.#pin(pin);
    if (this.#auxLevel[i] === level) return;
    this.#auxLevel[i] = level;
    const mode = this.#auxMode[i];
    if (mode.startsWith('input')) this.#onAux?.(pin, level);
  }

  /** Where the card is now (route, fixed position, or nowhere). */
  position(): Position | undefined {
    if (this.#route) {
      const t = this.seconds() - this.#route.start;
      const legs = this.#route.legs;
      const last = legs[legs.length - 1];
      if (!last || t >= last.t1) {
        const end = last ? last.to : this.#position!;
        return { lat: end.lat, lon: end.lon, speed: 0 };
      }
      const leg = legs.find((l) => t < l.t1) ?? last;
      const f = leg.t1 > leg.t0 ? Math.max(0, t - leg.t0) / (leg.t1 - leg.t0) : 1;
      const lat = leg.from.lat + (leg.to.lat - leg.from.lat) * f;
      const lon = leg.from.lon + (leg.to.lon - leg.from.lon) * f;
      const p: Position = { lat, lon, speed: leg.speed };
      if (leg.speed > 0) p.heading = Math.round(bearing(leg.from.lat, leg.from.lon, leg.to.lat, leg.to.lon));
      return p;
    }
    return this.#position ? { ...this.#position, speed: 0 } : undefined;
  }

  /** The receiver's fix: none while it is off, has no signal, or the world has no position. */
  fix(): GnssFix | undefined {
    this.step();
    if (!this.#gnssOn || !this.#values.signal) return undefined;
    const p = this.position();
    if (!p) return undefined;
    const fix: GnssFix = { lat: round(p.lat, 7), lon: round(p.lon, 7), time: Math.floor(this.#wall() / 1000), dop: 1.2, satellites: 9, speed: p.speed };
    if (p.heading !== undefined) fix.heading = p.heading;
    return fix;
  }

  /** Advance the model to now: battery drain, scenario events, motion while moving. */
  step(): void {
    const t = this.seconds();
    const dt = t - this.#last;
    if (dt <= 0) return;
    this.#last = t; // first: what an event does may read values (and step) again
    if (this.#battery && !this.#values.usb) {
      this.#charge = Math.max(0, this.#charge - (this.#battery.load * dt) / 3600 / this.#battery.capacity);
    }
    while (this.#scenarioRunning && this.#events.length > 0 && this.#events[0].at <= t - this.#scenarioStart) {
      this.#fire(this.#events.shift()!);
    }
    if (this.#route && this.#movingMotion > 0) {
      while (this.#nextMovingMotion <= t) {
        const at = this.#nextMovingMotion;
        this.#nextMovingMotion += this.#movingMotion;
        if (this.#movingAt(at)) this.motion(1);
      }
    }
    if (this.#scenarioRunning && this.#events.length === 0 && (!this.#route || this.#routeEnd() <= t)) {
      this.#scenarioRunning = false;
      this.#emit({ event: 'scenario', state: 'ended' });
    }
  }

  /** Everything the control channel's `get` shows. */
  snapshot(): Record<string, unknown> {
    this.step();
    const p = this.position();
    return {
      seconds: round(this.seconds(), 3),
      speed: this.#speed,
      voltage: round(this.#scalar('voltage'), 3),
      usb: this.#values.usb,
      ...(this.#battery ? { charge: round(this.#charge, 4) } : {}),
      temperature: round(this.#scalar('temperature'), 2),
      humidity: round(this.#scalar('humidity'), 2),
      pressure: round(this.#scalar('pressure'), 1),
      lux: round(this.#scalar('lux'), 1),
      orientation: this.#values.orientation,
      motions: this.#motions,
      motionOn: this.#motionOn,
      ...(p ? { lat: round(p.lat, 7), lon: round(p.lon, 7), moving: p.speed > 0 } : {}),
      signal: this.#values.signal,
      gnssOn: this.#gnssOn,
      attn: this.#attn,
      aux: this.#auxMode.map((mode, i) => ({ pin: i + 1, mode, level: this.#auxLevel[i] })),
      scenario: this.#scenarioRunning,
    };
  }

  #routeEnd(): number {
    const l = this.#route!.legs;
    return this.#route!.start + (l.length ? l[l.length - 1].t1 : 0);
  }

  #movingAt(t: number): boolean {
    const r = this.#route!;
    const leg = r.legs.find((l) => t - r.start >= l.t0 && t - r.start < l.t1);
    return leg !== undefined && leg.speed > 0;
  }

  #fire(e: ScenarioEvent): void {
    if (e.set) this.set(e.set);
    if (e.motion !== undefined || e.orientation !== undefined || e.freefall) this.motion(e.motion ?? 0, e.orientation, e.freefall);
    if (e.aux) this.drive(e.aux[0], e.aux[1]);
  }

  #apply(v: WorldValues): void {
    for (const k of SCALARS) {
      const x = v[k];
      if (x === undefined) continue;
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`${k}: must be a number`);
      delete this.#curves[k];
      if (k === 'voltage') {
        this.#values.voltage = x;
        this.#battery = undefined;
      } else this.#values[k] = x;
    }
    if (v.usb !== undefined) this.#values.usb = v.usb === true;
    if (v.signal !== undefined) this.#values.signal = v.signal === true;
    if (v.orientation !== undefined) {
      if (!ORIENTATIONS.includes(v.orientation)) throw new Error(`orientation: one of ${ORIENTATIONS.join(', ')}`);
      this.#values.orientation = v.orientation;
    }
    if (v.charge !== undefined) {
      if (!(v.charge >= 0 && v.charge <= 1)) throw new Error('charge: must be from 0 to 1');
      this.#charge = v.charge;
      this.#battery ??= { capacity: 2000, load: 20 };
      this.#values.voltage = undefined;
    }
    if (v.lat !== undefined || v.lon !== undefined) {
      const lat = v.lat ?? this.position()?.lat;
      const lon = v.lon ?? this.position()?.lon;
      if (typeof lat !== 'number' || typeof lon !== 'number' || Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error('lat/lon: a position needs both, in degrees');
      this.#position = { lat, lon };
      this.#route = undefined;
    }
  }

  #scalar(k: Scalar): number {
    this.step();
    const curve = this.#curves[k];
    if (curve && curve.length > 0) return interpolate(curve, this.seconds() - this.#scenarioStart);
    if (k === 'voltage') {
      if (this.#values.usb) return USB_VOLTS;
      if (this.#values.voltage !== undefined) return this.#values.voltage;
      return interpolate(LIPO, this.#charge);
    }
    return this.#values[k];
  }

  #pin(pin: number): number {
    if (!Number.isInteger(pin) || pin < 1 || pin > 4) throw new Error('pin: must be 1 to 4');
    return pin - 1;
  }

  #emit(e: WorldEvent): void {
    for (const l of this.#listeners) l(e);
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
