// The card's behaviour on the world it senses (src/world.ts): location sampling and tracking
// (_track.qo), motion buckets, motion-triggered sync and capture (_motion.qo), voltage modes and
// history, periodic temperature (_temp.qo) and the ATTN pin. Request handlers
// (src/requests/world.ts) configure it through the settings and read its state; its timers run
// on the host clock. RAM stays bounded: a ring of motion buckets, 720 hourly voltage averages.
import type { Clock, Log, TimerHandle } from '../host';
import type { JsonObject } from '../json';
import type { Notefiles } from '../notefile/notefiles';
import type { AttnConfig, CardSettings, LocationConfig, MotionRule, TrackConfig } from '../settings';
import type { SyncHook } from '../sync/control';
import { HEALTH_FILE } from '../rules/names';
import { compileTemplate } from '../template/index';
import type { TemplateRegistry } from '../template/registry';
import { base64Decode } from '../util/base64';
import type { GnssFix, MotionEvent, Orientation, World } from '../world';
import { VOLTAGE_TABLES, VoltageHistory, parseVariable, round3, variableValue, voltageMode } from './voltage';

export const TRACK_FILE = '_track.qo';
export const MOTION_FILE = '_motion.qo';
export const TEMP_FILE = '_temp.qo';

/** Location sampling in continuous mode, ms. */
export const CONTINUOUS_MS = 1000;
/** Periodic location sampling when card.location.mode gives no seconds. */
export const DEFAULT_LOCATION_SECONDS = 3600;
/** Voltage readings (15-minute average, hourly history, USB changes), ms. */
export const VOLTAGE_SAMPLE_MS = 60_000;
/** Motion buckets kept (card.motion minutes, motion sync/track rules). */
export const MOTION_BUCKETS = 120;
export const DEFAULT_MOTION_SECONDS = 60;
const DEFAULT_RULE = { minutes: 20, count: 20, threshold: 5 } as const;
/** A track note is written when the position moved at least this far (metres). */
const MIN_MOVE_M = 1;

/** What the card gives its world behaviour. */
export interface WorldDeps {
  readonly world: World;
  readonly clock: Clock;
  readonly log: Log;
  readonly settings: CardSettings;
  readonly notefiles: Notefiles;
  readonly templates: TemplateRegistry;
  readonly env: { onChange: ((layer: 'local' | 'hub' | 'default') => void) | undefined };
  readonly sync: SyncHook;
  epochMs(): number | undefined;
  /** The voltage mode changed: voltage-variable intervals may have. */
  voltageChanged?(): void;
}

export interface Location {
  lat: number;
  lon: number;
  /** Unix seconds of the fix. */
  time: number;
  dop?: number;
  speed?: number;
  heading?: number;
}

class Timer {
  #handle: TimerHandle | undefined;
  constructor(readonly clock: Clock) {}
  set(ms: number, fire: () => void): void {
    this.stop();
    this.#handle = this.clock.schedule(ms, () => {
      this.#handle = undefined;
      fire();
    });
  }
  stop(): void {
    if (this.#handle !== undefined) this.clock.cancel(this.#handle);
    this.#handle = undefined;
  }
  get armed(): boolean {
    return this.#handle !== undefined;
  }
}

export class CardWorld {
  readonly #d: WorldDeps;
  #stopped = false;

  // location
  readonly #locationTimer: Timer;
  readonly #heartbeatTimer: Timer;
  #last: Location | undefined;
  #failures = 0;
  #motionSinceSample = 0;
  #lastTracked: Location | undefined;
  #lastTrackedAt = 0; // monotonic ms
  #motionSinceTrack = 0;
  #journey: { id: number; count: number } | undefined;
  #outsideSince: number | undefined; // geofence, monotonic ms
  #trackPayload: string | undefined;

  // motion
  readonly #buckets = new Uint16Array(MOTION_BUCKETS);
  #bucketIndex = -1; // absolute index of the newest bucket
  #bucketSecondsUsed = 0;
  #countSinceRequest = 0;
  #orientationsSinceRequest: Orientation[] = [];
  #freefall = false;
  #lastMotion: number | undefined; // unix s
  #lastOrientation: Orientation | undefined;
  #lastMotionSync: number | undefined; // monotonic ms
  #lastMotionTrack: number | undefined;

  // voltage
  readonly #voltageTimer: Timer;
  readonly #history = new VoltageHistory();
  readonly #recent: number[] = []; // the last 15 one-minute readings
  #samplesThisHour = 0;
  #usb: boolean | undefined;
  #lastUsbAt: number | undefined; // monotonic ms
  #mode: string | undefined;

  // temperature
  readonly #tempTimer: Timer;

  // attn
  readonly #attnTimer: Timer;
  #armed = false;
  #high = false;
  #events: string[] = [];
  #sleep: { payload?: string; time?: number } | undefined;

  constructor(deps: WorldDeps) {
    this.#d = deps;
    const clock = deps.clock;
    this.#locationTimer = new Timer(clock);
    this.#heartbeatTimer = new Timer(clock);
    this.#voltageTimer = new Timer(clock);
    this.#tempTimer = new Timer(clock);
    this.#attnTimer = new Timer(clock);
    deps.world.accelerometer?.onMotion((e) => this.#onMotion(e));
    deps.notefiles.onChange = (name, fromHub) => this.#onNotefile(name, fromHub);
    // what the hub changed is news to the host; its own env.set is not
    deps.env.onChange = (layer) => layer === 'hub' && this.#trigger('env');
    this.#lastOrientation = deps.world.accelerometer?.orientation();
    if (deps.settings.get('motion')?.stop) deps.world.accelerometer?.enable?.(false);
    if (deps.world.power) {
      this.#sampleVoltage();
    }
    this.locationChanged();
    this.trackChanged();
    this.tempChanged();
    // ATTN starts low (nothing to report) unless processing is off
    this.#setPin(false);
  }

  /** The card is going away (restart): stop every timer. */
  stop(): void {
    this.#stopped = true;
    for (const t of [this.#locationTimer, this.#heartbeatTimer, this.#voltageTimer, this.#tempTimer, this.#attnTimer]) t.stop();
  }

  // ---------------------------------------------------------------- location

  location(): LocationConfig {
    return this.#d.settings.get('location') ?? {};
  }

  locationMode(): string {
    const m = this.location().mode;
    return m === 'off' || m === 'continuous' || m === 'fixed' || m === 'periodic' ? m : 'periodic';
  }

  get lastLocation(): Location | undefined {
    return this.#last;
  }

  get locationFailures(): number {
    return this.#failures;
  }

  forgetLocation(): void {
    this.#last = undefined;
  }

  /** Whether the card is on a journey (moving, tracked often enough to follow it). */
  journey(): boolean {
    return this.#journey !== undefined;
  }

  /** Distance in metres from the geofence centre, when one is set and a location is known. */
  fenceDistance(): number | undefined {
    const c = this.location();
    if (c.max === undefined || c.lat === undefined || c.lon === undefined || !this.#last) return undefined;
    return Math.round(distanceM(c.lat, c.lon, this.#last.lat, this.#last.lon));
  }

  /** card.location.mode changed (or the card booted): restart sampling. */
  locationChanged(): void {
    this.#locationTimer.stop();
    if (this.#stopped) return;
    const c = this.location();
    const mode = this.locationMode();
    const gnss = this.#d.world.gnss;
    if (mode === 'fixed') {
      gnss?.power?.(false);
      if (c.lat !== undefined && c.lon !== undefined) this.#last = { lat: c.lat, lon: c.lon, time: this.#nowS() ?? 0 };
      return;
    }
    if (mode === 'off' || !gnss) {
      gnss?.power?.(false);
      this.#journey = undefined;
      return;
    }
    gnss.power?.(true);
    this.#sampleLocation(true);
  }

  #locationPeriodMs(): number {
    if (this.locationMode() === 'continuous') return CONTINUOUS_MS;
    const c = this.location();
    const v = c.vseconds !== undefined ? this.variable(c.vseconds) : undefined;
    const seconds = v ?? c.seconds ?? DEFAULT_LOCATION_SECONDS;
    return Math.max(1, seconds) * 1000;
  }

  #sampleLocation(first = false): void {
    if (this.#stopped) return;
    const mode = this.locationMode();
    const c = this.location();
    // periodic: the receiver only turns on once the card moved (threshold motion events)
    const hasAccel = this.#d.world.accelerometer !== undefined;
    const moved = this.#motionSinceSample > (c.threshold ?? 0) - 1 && this.#motionSinceSample > 0;
    if (first || mode === 'continuous' || !hasAccel || moved) {
      this.#motionSinceSample = 0;
      const fix = this.#d.world.gnss?.fix();
      if (fix) this.#gotFix(fix, mode);
      else this.#failures++;
    }
    this.#locationTimer.set(this.#locationPeriodMs(), () => this.#sampleLocation());
  }

  #gotFix(fix: GnssFix, mode: string): void {
    this.#failures = 0;
    const loc: Location = { lat: fix.lat, lon: fix.lon, time: fix.time };
    if (fix.dop !== undefined) loc.dop = fix.dop;
    if (fix.speed !== undefined) loc.speed = fix.speed;
    if (fix.heading !== undefined) loc.heading = fix.heading;
    const prev = this.#last;
    this.#last = loc;
    if (!prev || distanceM(prev.lat, prev.lon, loc.lat, loc.lon) >= MIN_MOVE_M) this.#trigger('location');
    const track = this.#track();
    if (!track.start) return;
    // geofence: track only after `minutes` outside it
    const c = this.location();
    if (c.max !== undefined && c.lat !== undefined && c.lon !== undefined) {
      if (distanceM(c.lat, c.lon, loc.lat, loc.lon) <= c.max) {
        this.#outsideSince = undefined;
        return;
      }
      const now = this.#d.clock.now();
      this.#outsideSince ??= now;
      if (now - this.#outsideSince < (c.minutes ?? 5) * 60_000) return;
    }
    const last = this.#lastTracked;
    const moved = !last || distanceM(last.lat, last.lon, loc.lat, loc.lon) >= MIN_MOVE_M;
    const journeys = mode === 'continuous' || (mode === 'periodic' && this.#locationPeriodMs() < 300_000);
    if (!moved) {
      this.#journey = undefined;
      return;
    }
    if (journeys && last) {
      this.#journey ??= { id: last.time || loc.time, count: 0 };
      this.#journey.count++;
    }
    this.#writeTrack(loc, false);
  }

  // ---------------------------------------------------------------- tracking

  #track(): TrackConfig {
    return this.#d.settings.get('track') ?? {};
  }

  trackFile(): string {
    return this.#track().file ?? TRACK_FILE;
  }

  /** Heartbeat interval in minutes, or undefined. */
  heartbeatMinutes(): number | undefined {
    const t = this.#track();
    if (!t.heartbeat) return undefined;
    const h = t.hours ?? 24;
    return h < 0 ? -h : h * 60;
  }

  setTrackPayload(payload: string | undefined): void {
    this.#trackPayload = payload;
  }

  /** card.location.track changed (or boot): (re)arm the heartbeat. */
  trackChanged(): void {
    this.#heartbeatTimer.stop();
    const t = this.#track();
    if (this.#stopped || !t.start) return;
    this.#ensureTrackTemplate(this.trackFile());
    const minutes = this.heartbeatMinutes();
    if (minutes !== undefined && minutes > 0) {
      this.#heartbeatTimer.set(minutes * 60_000, () => {
        const loc = this.#last;
        if (loc) this.#writeTrack(loc, true);
        this.trackChanged();
      });
    }
  }

  #ensureTrackTemplate(file: string): void {
    if (this.#d.templates.get(file)) return;
    // compact: the position crosses as the note's location (_lat/_lon/_ltime), as on a Notecard
    const body: JsonObject = {
      _lat: 18.1, _lon: 18.1, _ltime: 14,
      motion: 14, seconds: 14, distance: 14.1, velocity: 14.1, bearing: 14.1, dop: 14.1,
      temperature: 14.1, voltage: 14.1, usb: true, journey: 14, jcount: 14, heartbeat: true,
    };
    try {
      this.#d.templates.set(file, compileTemplate(body, { format: 'compact' }), undefined);
    } catch (e) {
      this.#d.log.log('warn', `track: no template for ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  #writeTrack(loc: Location, heartbeat: boolean): void {
    const t = this.#track();
    const file = this.trackFile();
    const last = this.#lastTracked;
    const now = this.#d.clock.now();
    const body: JsonObject = { _lat: loc.lat, _lon: loc.lon, _ltime: loc.time };
    if (this.#motionSinceTrack > 0) body.motion = this.#motionSinceTrack;
    if (last) {
      body.seconds = Math.round((now - this.#lastTrackedAt) / 1000);
      const d = distanceM(last.lat, last.lon, loc.lat, loc.lon);
      body.distance = Math.round(d * 10) / 10;
      if (body.seconds > 0) body.velocity = Math.round((d / body.seconds) * 10) / 10;
      if (d >= MIN_MOVE_M) body.bearing = Math.round(bearingDeg(last.lat, last.lon, loc.lat, loc.lon));
    }
    if (loc.dop !== undefined) body.dop = loc.dop;
    const climate = this.#d.world.climate?.read();
    if (climate) body.temperature = Math.round(climate.temperature * 100) / 100;
    const power = this.#d.world.power;
    if (power) body.voltage = round3(power.voltage());
    if (this.#usb) body.usb = true;
    if (this.#journey) {
      body.journey = this.#journey.id;
      body.jcount = this.#journey.count;
    }
    if (heartbeat) body.heartbeat = true;
    const payload = this.#trackPayload;
    this.#trackPayload = undefined;
    try {
      this.#d.notefiles.add(file, { body, payload: payload !== undefined ? decodePayload(payload) : undefined }, true);
    } catch (e) {
      this.#d.log.log('warn', `track: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.#lastTracked = loc;
    this.#lastTrackedAt = now;
    this.#motionSinceTrack = 0;
    if (t.sync) this.#d.sync.request();
  }

  // ---------------------------------------------------------------- motion

  motionConfig() {
    return this.#d.settings.get('motion') ?? {};
  }

  bucketSeconds(): number {
    return this.motionConfig().seconds ?? DEFAULT_MOTION_SECONDS;
  }

  /** card.motion.mode start/stop. */
  motionEnabled(on: boolean): void {
    this.#d.world.accelerometer?.enable?.(on);
  }

  /** card.motion: what happened since the last card.motion, then reset it. */
  motionReport(minutes: number | undefined): JsonObject {
    const reply: JsonObject = {};
    this.#rollBuckets();
    reply.count = this.#countSinceRequest;
    if (this.#orientationsSinceRequest.length > 0) reply.status = this.#orientationsSinceRequest.join(',');
    else if (this.#lastOrientation) reply.status = this.#lastOrientation;
    if (this.#freefall) reply.alert = true;
    if (this.#lastMotion !== undefined) reply.motion = this.#lastMotion;
    const threshold = this.motionConfig().motion;
    if (threshold !== undefined && threshold > 0) reply.mode = this.#buckets[this.#slot(this.#bucketIndex)] >= threshold ? 'moving' : 'stopped';
    if (minutes !== undefined && minutes > 0) {
      const seconds = this.bucketSeconds();
      const n = Math.min(MOTION_BUCKETS, Math.max(1, Math.ceil((minutes * 60) / seconds)));
      let text = '';
      for (let i = 0; i < n; i++) text += base36(this.#buckets[this.#slot(this.#bucketIndex - i)]);
      reply.seconds = seconds;
      reply.movements = text;
    }
    this.#countSinceRequest = 0;
    this.#orientationsSinceRequest = [];
    this.#freefall = false;
    return reply;
  }

  #slot(index: number): number {
    return ((index % MOTION_BUCKETS) + MOTION_BUCKETS) % MOTION_BUCKETS;
  }

  /** Bring the bucket ring up to now (empty buckets for the time without motion). */
  #rollBuckets(): void {
    const seconds = this.bucketSeconds();
    if (seconds !== this.#bucketSecondsUsed) {
      // another bucket length: the old buckets do not translate, start afresh
      this.#buckets.fill(0);
      this.#bucketIndex = -1;
      this.#bucketSecondsUsed = seconds;
    }
    const index = Math.floor(this.#d.clock.now() / (seconds * 1000));
    if (this.#bucketIndex < 0) this.#bucketIndex = index;
    const steps = Math.min(MOTION_BUCKETS, index - this.#bucketIndex);
    for (let i = 1; i <= steps; i++) this.#buckets[this.#slot(this.#bucketIndex + i)] = 0;
    if (index > this.#bucketIndex) this.#bucketIndex = index;
  }

  /** Buckets with motion among the `count` newest. */
  #bucketsWithMotion(count: number): number {
    let n = 0;
    for (let i = 0; i < Math.min(count, MOTION_BUCKETS); i++) if (this.#buckets[this.#slot(this.#bucketIndex - i)] > 0) n++;
    return n;
  }

  #onMotion(e: MotionEvent): void {
    if (this.#stopped) return;
    this.#rollBuckets();
    const slot = this.#slot(this.#bucketIndex);
    this.#buckets[slot] = Math.min(0xffff, this.#buckets[slot] + e.count);
    this.#countSinceRequest += e.count;
    this.#motionSinceSample += e.count;
    this.#motionSinceTrack += e.count;
    if (e.count > 0) this.#lastMotion = this.#nowS();
    if (e.freefall) this.#freefall = true;
    const turned = e.orientation !== undefined && e.orientation !== this.#lastOrientation;
    if (turned) {
      this.#lastOrientation = e.orientation;
      this.#orientationsSinceRequest.push(e.orientation!);
      if (this.#orientationsSinceRequest.length > 8) this.#orientationsSinceRequest.shift();
    }
    const cfg = this.motionConfig();
    const now = this.#d.clock.now();
    if (cfg.sync && this.#ruleFires(cfg.sync, turned, this.#lastMotionSync, now)) {
      this.#lastMotionSync = now;
      this.#d.sync.request();
    }
    if (cfg.track && (this.#ruleFires(cfg.track, turned, this.#lastMotionTrack, now) || (cfg.track.now && turned))) {
      this.#lastMotionTrack = now;
      this.#writeMotion(cfg.track);
    }
    this.#trigger('motion');
  }

  #ruleFires(rule: MotionRule, turned: boolean, last: number | undefined, now: number): boolean {
    const minutes = rule.minutes ?? DEFAULT_RULE.minutes;
    if (last !== undefined && now - last < minutes * 60_000) return false;
    const threshold = rule.threshold ?? DEFAULT_RULE.threshold;
    if (threshold === 0) return turned;
    return this.#bucketsWithMotion(rule.count ?? DEFAULT_RULE.count) >= threshold;
  }

  #writeMotion(rule: MotionRule): void {
    const count = Math.min(MOTION_BUCKETS, rule.count ?? DEFAULT_RULE.count);
    let movements = '';
    let total = 0;
    for (let i = 0; i < count; i++) {
      const c = this.#buckets[this.#slot(this.#bucketIndex - i)];
      movements += base36(c);
      total += c;
    }
    const body: JsonObject = { movements, seconds: this.bucketSeconds(), motion: total };
    if (this.#lastOrientation) body.orientation = this.#lastOrientation;
    try {
      this.#d.notefiles.add(rule.file ?? MOTION_FILE, { body }, true);
    } catch (e) {
      this.#d.log.log('warn', `motion track: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // ---------------------------------------------------------------- voltage

  thresholds(): string {
    const m = this.#d.settings.get('voltage')?.mode;
    return m ?? VOLTAGE_TABLES.default;
  }

  calibration(): number {
    return this.#d.settings.get('voltage')?.calibration ?? 0;
  }

  /** Volts now (calibrated), or undefined without a supply sensor. */
  voltageNow(): number | undefined {
    const p = this.#d.world.power;
    return p ? p.voltage() + this.calibration() : undefined;
  }

  /** The 15-minute average (the instantaneous reading until there is one). */
  voltageAverage(): number | undefined {
    if (this.#recent.length === 0) return this.voltageNow();
    let s = 0;
    for (const v of this.#recent) s += v;
    return s / this.#recent.length + this.calibration();
  }

  usb(): boolean | undefined {
    const p = this.#d.world.power;
    if (!p) return undefined;
    const u = p.usb?.();
    if (u !== undefined) return u;
    return this.voltageMode() === 'usb';
  }

  /** Minutes since the card was last on USB power (undefined while on it, or never seen). */
  minutesSinceUsb(): number | undefined {
    if (this.usb() || this.#lastUsbAt === undefined) return undefined;
    return Math.floor((this.#d.clock.now() - this.#lastUsbAt) / 60_000);
  }

  /** usb, high, normal, low or dead, from the thresholds; 'normal' without a supply sensor. */
  voltageMode(): string {
    const p = this.#d.world.power;
    if (!p) return 'normal';
    const table = parseVariable(this.thresholds()) ?? parseVariable(VOLTAGE_TABLES.default)!;
    return voltageMode(table, p.voltage() + this.calibration(), p.usb?.());
  }

  /** A voltage-variable value ("usb:1;high:5;normal:10;low:60;dead:0") in the current mode. */
  variable(spec: string): number | undefined {
    return variableValue(spec, this.voltageMode());
  }

  history(hours: number, offset: number, vmin: number, vmax: number): JsonObject {
    return this.#history.analyse(hours, offset, vmin, vmax) as JsonObject;
  }

  /** The thresholds may have changed (card.voltage mode, calibration): re-evaluate now. */
  voltageChanged(): void {
    this.#checkVoltageMode();
  }

  #sampleVoltage(): void {
    if (this.#stopped) return;
    const p = this.#d.world.power!;
    const v = p.voltage();
    this.#recent.push(v);
    if (this.#recent.length > 15) this.#recent.shift();
    this.#history.add(v);
    if (++this.#samplesThisHour >= 60) {
      this.#history.closeHour();
      this.#samplesThisHour = 0;
    }
    const usb = this.usb();
    const now = this.#d.clock.now();
    if (usb) this.#lastUsbAt = now;
    if (this.#usb !== undefined && usb !== this.#usb) {
      this.#trigger('usb');
      const cfg = this.#d.settings.get('voltage') ?? {};
      if (cfg.usb) {
        if (cfg.alert) {
          try {
            this.#d.notefiles.add(HEALTH_FILE, { body: { text: usb ? 'USB power connected' : 'USB power disconnected', usb: usb === true, voltage: round3(v) } }, true);
          } catch (e) {
            this.#d.log.log('warn', `voltage alert: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        if (cfg.sync) this.#d.sync.request();
      }
    }
    this.#usb = usb;
    this.#checkVoltageMode();
    this.#voltageTimer.set(VOLTAGE_SAMPLE_MS, () => this.#sampleVoltage());
  }

  #checkVoltageMode(): void {
    const mode = this.voltageMode();
    if (mode === this.#mode) return;
    const first = this.#mode === undefined;
    this.#mode = mode;
    if (first) return;
    this.#d.log.log('info', `voltage mode ${mode}`);
    this.#d.voltageChanged?.();
    // intervals that follow the voltage
    if (this.location().vseconds !== undefined) this.locationChanged();
    if (this.#d.settings.get('temp')?.status !== undefined) this.tempChanged();
  }

  // ---------------------------------------------------------------- temperature

  /** Degrees C, calibrated by nothing (the sensor's own reading), or undefined without a sensor. */
  temperature(): ReturnType<NonNullable<World['climate']>['read']> | undefined {
    return this.#d.world.climate?.read();
  }

  tempMinutes(): number | undefined {
    const c = this.#d.settings.get('temp');
    if (!c) return undefined;
    const v = c.status !== undefined ? this.variable(c.status) : undefined;
    return v ?? c.minutes;
  }

  /** card.temp minutes/status/stop changed (or boot): (re)arm the periodic reading. */
  tempChanged(): void {
    this.#tempTimer.stop();
    const minutes = this.tempMinutes();
    if (this.#stopped || minutes === undefined || minutes <= 0 || !this.#d.world.climate) return;
    if (!this.#d.templates.get(TEMP_FILE)) {
      try {
        this.#d.templates.set(TEMP_FILE, compileTemplate({ value: 14.1, voltage: 14.1, usb: true }), undefined);
      } catch (e) {
        this.#d.log.log('warn', `temp: no template: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.#tempTimer.set(minutes * 60_000, () => {
      const r = this.#d.world.climate!.read();
      const body: JsonObject = { value: Math.round(r.temperature * 100) / 100 };
      const v = this.voltageNow();
      if (v !== undefined) body.voltage = round3(v);
      if (this.usb()) body.usb = true;
      try {
        this.#d.notefiles.add(TEMP_FILE, { body }, true);
      } catch (e) {
        this.#d.log.log('warn', `temp: ${e instanceof Error ? e.message : String(e)}`);
      }
      this.tempChanged();
    });
  }

  // ---------------------------------------------------------------- attn

  attnConfig(): AttnConfig {
    return this.#d.settings.get('attn') ?? {};
  }

  get attnHigh(): boolean {
    return this.#high;
  }

  get attnArmed(): boolean {
    return this.#armed;
  }

  /** Events since arming (file names and keywords). */
  attnEvents(): string[] {
    return [...this.#events];
  }

  /** Clear events, pin low; fire after `seconds` (0/undefined: no timeout). Arming again re-arms. */
  arm(seconds: number | undefined): void {
    if (this.attnConfig().off) return;
    if (this.#armed) this.#setPin(true);
    this.#events = [];
    this.#armed = true;
    this.#setPin(false);
    this.#attnTimer.stop();
    if (seconds !== undefined && seconds > 0) this.#attnTimer.set(seconds * 1000, () => this.#fire('timeout'));
  }

  disarm(): void {
    this.#armed = false;
    this.#attnTimer.stop();
    if (!this.attnConfig().off) this.#setPin(true);
  }

  /** The host must renew this within `seconds`, else ATTN fires ("watchdog"). */
  watchdog(seconds: number): void {
    if (this.attnConfig().off) return;
    this.#armed = true;
    this.#setPin(false);
    this.#attnTimer.set(seconds * 1000, () => this.#fire('watchdog'));
  }

  /** Keep `payload`, pull ATTN low (the host sleeps); fire after `seconds` or an armed event. */
  sleep(seconds: number | undefined, payload: string | undefined): void {
    this.#sleep = { payload, time: this.#nowS() };
    this.arm(seconds);
  }

  /** The host woke: what it stored before sleeping (once). */
  takeSleepPayload(): { payload?: string; time?: number } | undefined {
    const s = this.#sleep;
    this.#sleep = undefined;
    return s;
  }

  /** An AUX input changed (the card's AuxGpio owns the pins' one listener and tells us). */
  auxChanged(): void {
    if (!this.#stopped) this.#trigger('auxgpio');
  }

  /** The hub session came up or went down ('connected'), or a signal arrived ('signal'). */
  hubEvent(mode: 'connected' | 'signal'): void {
    this.#trigger(mode);
  }

  /** card.attn off / on. */
  attnOff(off: boolean): void {
    if (off) {
      this.#armed = false;
      this.#attnTimer.stop();
      this.#setPin(false);
    }
  }

  #onNotefile(name: string, fromHub: boolean): void {
    const cfg = this.attnConfig();
    if (!cfg.files || !cfg.files.includes(name)) return;
    // the host's own note.add is not news to the host; what the sync brings is
    if (fromHub || name.endsWith('.qi') || name.endsWith('.qis')) this.#trigger('files', name);
  }

  #trigger(mode: string, file?: string): void {
    if (!this.#armed) return;
    const modes = this.attnConfig().modes ?? [];
    if (!modes.includes(mode)) return;
    this.#fire(file ?? mode);
  }

  #fire(event: string): void {
    if (!this.#events.includes(event)) this.#events.push(event);
    if (this.#events.length > 16) this.#events.shift();
    if (!this.#armed) return;
    this.#armed = false;
    this.#attnTimer.stop();
    this.#setPin(true);
  }

  #setPin(high: boolean): void {
    this.#high = high;
    this.#d.world.attn?.set(high);
  }

  #nowS(): number | undefined {
    const ms = this.#d.epochMs();
    return ms === undefined ? undefined : Math.floor(ms / 1000);
  }
}

const B36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
function base36(n: number): string {
  return B36[Math.min(35, n)];
}

export function distanceM(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const dLat = (bLat - aLat) * r;
  const dLon = (bLon - aLon) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(aLat * r) * Math.cos(bLat * r) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function bearingDeg(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const r = Math.PI / 180;
  const y = Math.sin((bLon - aLon) * r) * Math.cos(bLat * r);
  const x = Math.cos(aLat * r) * Math.sin(bLat * r) - Math.sin(aLat * r) * Math.cos(bLat * r) * Math.cos((bLon - aLon) * r);
  return (Math.atan2(y, x) / r + 360) % 360;
}

function decodePayload(b64: string): Uint8Array | undefined {
  try {
    return base64Decode(b64);
  } catch {
    return undefined;
  }
}
