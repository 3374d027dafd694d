// Requests about the world the card senses: card.location(.mode/.track), card.motion(.mode/.sync/
// .track), card.voltage, card.temp, card.attn. The behaviour lives in src/world/card-world.ts;
// these check arguments, keep the configuration (src/settings.ts) and shape the replies.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { AttnConfig, LocationConfig, MotionRule, TrackConfig, VoltageConfig } from '../settings';
import { base64Decode } from '../util/base64';
import { TRACK_FILE } from '../sensing/card-world';
import { VOLTAGE_TABLES, parseVariable, round3 } from '../sensing/voltage';
import type { Args } from './args';
import type { RequestContext } from './context';
import type { HandlerTable } from './handler';

const LOCATION_MODES = Object.freeze(['off', 'periodic', 'continuous', 'fixed']);
/** card.attn keywords that enable a trigger ("-name" disables it). */
const ATTN_TRIGGERS = Object.freeze(['files', 'env', 'location', 'motion', 'auxgpio', 'connected', 'signal', 'usb', 'watchdog']);

function variableArg(args: Args, name: string): string | undefined {
  const v = args.string(name);
  if (v === undefined || v === '' || v === '-') return v;
  if (!parseVariable(v)) fail(`${name}: must be like "usb:1;high:5;normal:10;low:60;dead:0"`, 'bad-arg');
  return v;
}

function latLon(args: Args): { lat?: number; lon?: number } {
  const lat = args.number('lat');
  const lon = args.number('lon');
  if (lat !== undefined && Math.abs(lat) > 90) fail('lat: must be from -90 to 90', 'bad-arg');
  if (lon !== undefined && Math.abs(lon) > 180) fail('lon: must be from -180 to 180', 'bad-arg');
  return { lat, lon };
}

function payloadString(args: Args): string | undefined {
  const p = args.string('payload');
  if (p !== undefined && base64Decode(p) === undefined) fail('payload: must be base64', 'bad-arg');
  return p;
}

function locationModeReply(card: RequestContext): JsonObject {
  const s = card.sensing;
  const c = s.location();
  const mode = s.locationMode();
  const reply: JsonObject = { mode };
  if (c.seconds !== undefined) reply.seconds = c.seconds;
  if (c.vseconds !== undefined) reply.vseconds = c.vseconds;
  if (c.threshold !== undefined) reply.threshold = c.threshold;
  if (c.lat !== undefined && c.lon !== undefined && (mode === 'fixed' || c.max !== undefined)) {
    reply.lat = c.lat;
    reply.lon = c.lon;
  }
  if (c.max !== undefined) {
    reply.max = c.max;
    reply.minutes = c.minutes ?? 5;
  }
  if (s.journey()) reply.journey = true;
  return reply;
}

function rule(args: Args, withFile: boolean): MotionRule {
  const r: MotionRule = {};
  const minutes = args.int('minutes', 0, 525600);
  const count = args.int('count', 1, 120);
  const threshold = args.int('threshold', 0, 120);
  if (minutes !== undefined) r.minutes = minutes;
  if (count !== undefined) r.count = count;
  if (threshold !== undefined) r.threshold = threshold;
  if (withFile) {
    const file = args.string('file');
    if (file !== undefined && file !== '') r.file = file;
    if (args.bool('now')) r.now = true;
  }
  return r;
}

function attnReply(card: RequestContext, extra: JsonObject = {}): JsonObject {
  const s = card.sensing;
  const reply: JsonObject = {};
  const events = s.attnEvents();
  if (events.length > 0) reply.files = events;
  if (s.attnHigh) reply.set = true;
  if (card.settings.get('attn')?.off) reply.off = true;
  return { ...reply, ...extra };
}

export const worldRequests: HandlerTable = Object.freeze({
  'card.location': (card) => {
    const s = card.sensing;
    const mode = s.locationMode();
    const reply: JsonObject = {};
    const loc = s.lastLocation;
    if (!card.world.gnss && mode !== 'fixed') reply.status = 'this card has no GNSS receiver {gps-inactive}';
    else if (mode === 'off') reply.status = 'GPS is off {gps-inactive}';
    else if (mode === 'fixed') reply.status = 'fixed location {gps}';
    else if (loc) reply.status = `GPS updated {gps-active} {gps-signal} {gps-sats} {gps}`;
    else reply.status = 'GPS search {gps-active}';
    reply.mode = mode === 'fixed' ? 'off' : mode;
    if (loc) {
      reply.lat = loc.lat;
      reply.lon = loc.lon;
      reply.time = loc.time;
      if (loc.dop !== undefined) reply.dop = loc.dop;
    }
    if (s.locationFailures > 0) reply.count = s.locationFailures;
    const fence = s.fenceDistance();
    if (fence !== undefined) reply.max = fence;
    return reply;
  },

  'card.location.mode': (card, args) => {
    const s = card.sensing;
    if (args.bool('delete')) s.forgetLocation();
    const mode = args.string('mode');
    const seconds = args.int('seconds', 0, 0x7fffffff);
    const vseconds = variableArg(args, 'vseconds');
    const threshold = args.int('threshold', 0, 0xffff);
    const { lat, lon } = latLon(args);
    const max = args.int('max', 0, 0x7fffffff);
    const minutes = args.int('minutes', 0, 525600);
    let c: LocationConfig = { ...s.location() };
    if (mode === '-') c = {};
    else if (mode !== undefined && mode !== '') {
      if (!LOCATION_MODES.includes(mode)) fail(`mode: must be one of ${LOCATION_MODES.join(', ')}`, 'bad-arg');
      c.mode = mode;
    }
    if (seconds !== undefined) c.seconds = seconds;
    if (vseconds === '-' || vseconds === '') delete c.vseconds;
    else if (vseconds !== undefined) c.vseconds = vseconds;
    if (threshold !== undefined) c.threshold = threshold;
    if (lat !== undefined || lon !== undefined) {
      if (lat === undefined || lon === undefined) fail('lat and lon: give both', 'bad-arg');
      c.lat = lat;
      c.lon = lon;
    }
    if (max !== undefined) {
      if (max === 0) delete c.max;
      else c.max = max;
    }
    if (minutes !== undefined) c.minutes = minutes;
    if (c.mode === 'fixed' && (c.lat === undefined || c.lon === undefined)) fail('mode fixed: needs lat and lon', 'bad-arg');
    const changed = JSON.stringify(c) !== JSON.stringify(s.location());
    if (changed) {
      card.settings.set('location', Object.keys(c).length ? c : undefined);
      s.locationChanged();
    }
    return locationModeReply(card);
  },

  'card.location.track': (card, args) => {
    const s = card.sensing;
    const start = args.bool('start');
    const stop = args.bool('stop');
    if (start && stop) fail('start and stop: one or the other', 'bad-arg');
    const hours = args.int('hours', -525600, 525600);
    const file = args.string('file');
    if (file !== undefined && file !== '' && file !== TRACK_FILE) {
      const k = card.notefiles.kind(file, true);
      if (!k.outbound || !k.queue) fail(`file: tracking goes to an outbound queue (.qo), not ${file}`, 'bad-arg');
    }
    const payload = payloadString(args);
    let t: TrackConfig = { ...(card.settings.get('track') ?? {}) };
    if (start) {
      t = { start: true };
      if (args.bool('heartbeat')) t.heartbeat = true;
      if (hours !== undefined && hours !== 0) t.hours = hours;
      if (args.bool('sync')) t.sync = true;
      if (file !== undefined && file !== '') t.file = file;
    } else if (stop) t = { ...t, start: false };
    if (start || stop) {
      card.settings.set('track', t);
      s.trackChanged();
    }
    if (payload !== undefined) s.setTrackPayload(payload);
    const reply: JsonObject = t.start ? { start: true } : { stop: true };
    if (t.heartbeat) {
      reply.heartbeat = true;
      const minutes = s.heartbeatMinutes()!;
      if (minutes % 60 === 0) reply.hours = minutes / 60;
      else reply.minutes = minutes;
    } else if (t.start && s.locationMode() === 'periodic') {
      reply.seconds = s.location().seconds ?? 3600;
    }
    if (t.file !== undefined) reply.file = t.file;
    if (s.journey()) reply.journey = true;
    return reply;
  },

  'card.motion': (card, args) => card.sensing.motionReport(args.int('minutes', 1, 525600)),

  'card.motion.mode': (card, args) => {
    const start = args.bool('start');
    const stop = args.bool('stop');
    if (start && stop) fail('start and stop: one or the other', 'bad-arg');
    const seconds = args.int('seconds', 1, 86400);
    const sensitivity = args.int('sensitivity', -1, 5);
    const motion = args.int('motion', 0, 0xffff);
    const c = { ...card.sensing.motionConfig() };
    if (start) delete c.stop;
    if (stop) c.stop = true;
    if (seconds !== undefined) c.seconds = seconds;
    if (sensitivity !== undefined) c.sensitivity = sensitivity;
    if (motion !== undefined) c.motion = motion;
    card.settings.set('motion', c);
    if (start || stop) card.sensing.motionEnabled(!stop);
    const reply: JsonObject = c.stop ? { stop: true } : { start: true };
    reply.seconds = card.sensing.bucketSeconds();
    if (c.motion !== undefined) reply.motion = c.motion;
    return reply;
  },

  'card.motion.sync': (card, args) => {
    const start = args.bool('start');
    const stop = args.bool('stop');
    if (start && stop) fail('start and stop: one or the other', 'bad-arg');
    const r = rule(args, false);
    const c = { ...card.sensing.motionConfig() };
    if (stop) delete c.sync;
    else if (start) c.sync = r;
    card.settings.set('motion', c);
    return {};
  },

  'card.motion.track': (card, args) => {
    const start = args.bool('start');
    const stop = args.bool('stop');
    if (start && stop) fail('start and stop: one or the other', 'bad-arg');
    const r = rule(args, true);
    if (r.file !== undefined) {
      const k = card.notefiles.kind(r.file, true);
      if (!k.outbound || !k.queue) fail(`file: motion capture goes to an outbound queue (.qo), not ${r.file}`, 'bad-arg');
    }
    const c = { ...card.sensing.motionConfig() };
    if (stop) delete c.track;
    else if (start) c.track = r;
    card.settings.set('motion', c);
    return {};
  },

  'card.voltage': (card, args) => {
    const s = card.sensing;
    if (!card.world.power) fail('this card has no supply voltage sensor', 'not-supported');
    const c: VoltageConfig = { ...(card.settings.get('voltage') ?? {}) };
    const mode = args.string('mode');
    let askTable = false;
    if (mode === '?') askTable = true;
    else if (mode === '-' || mode === 'default') delete c.mode;
    else if (mode !== undefined && mode !== '') {
      const table = Object.prototype.hasOwnProperty.call(VOLTAGE_TABLES, mode) ? VOLTAGE_TABLES[mode] : mode;
      const entries = parseVariable(table);
      if (!entries || entries.some((e) => e.name === '')) fail(`mode: one of ${Object.keys(VOLTAGE_TABLES).join(', ')}, or thresholds like "usb:4.6;high:4.0;normal:3.5;low:3.2;dead:0"`, 'bad-arg');
      c.mode = table;
    }
    const calibration = args.number('calibration');
    if (args.bool('set')) {
      if (calibration === undefined) fail('set: needs calibration', 'bad-arg');
      c.calibration = calibration;
    }
    const on = args.bool('on');
    if (on) c.trend = true;
    if (args.bool('off')) delete c.trend;
    if (args.has('usb')) {
      if (args.bool('usb')) {
        c.usb = true;
        c.alert = args.bool('alert');
        c.sync = args.bool('sync');
      } else {
        delete c.usb;
        delete c.alert;
        delete c.sync;
      }
    }
    const name = args.string('name');
    if (name !== undefined) {
      if (name === '' || name === '-') delete c.name;
      else c.name = name;
    }
    const hours = args.int('hours', 1, 720, 720);
    const offset = args.int('offset', 0, 720, 0);
    const vmin = args.number('vmin', 2.3);
    const vmax = args.number('vmax', 5.4);
    const now = args.bool('now');
    if (JSON.stringify(c) !== JSON.stringify(card.settings.get('voltage') ?? {})) card.settings.set('voltage', Object.keys(c).length ? c : undefined);
    // a reading that finds a new mode acts on it now, not at the next periodic sample
    s.voltageChanged();
    const reply: JsonObject = {};
    if (s.usb()) reply.usb = true;
    reply.mode = askTable ? s.thresholds() : s.voltageMode();
    const value = now ? s.voltageNow() : s.voltageAverage();
    reply.value = Math.round(value! * 10000) / 10000;
    const since = s.minutesSinceUsb();
    if (since !== undefined) reply.minutes = since;
    if (c.calibration !== undefined) reply.calibration = c.calibration;
    if (c.usb && c.alert) reply.alert = true;
    if (c.usb && c.sync) reply.sync = true;
    if (c.trend) Object.assign(reply, s.history(hours, offset, vmin, vmax));
    if (on) reply.on = true;
    return reply;
  },

  'card.temp': (card, args) => {
    const s = card.sensing;
    const reading = s.temperature();
    if (!reading) fail('this card has no temperature sensor', 'not-supported');
    const minutes = args.int('minutes', 0, 525600);
    const status = variableArg(args, 'status');
    const stop = args.bool('stop');
    const c = { ...(card.settings.get('temp') ?? {}) };
    if (minutes !== undefined) c.minutes = minutes;
    if (status === '-' || status === '') delete c.status;
    else if (status !== undefined) c.status = status;
    if (stop) {
      delete c.minutes;
      delete c.status;
    }
    if (minutes !== undefined || status !== undefined || stop) {
      card.settings.set('temp', Object.keys(c).length ? c : undefined);
      s.tempChanged();
    }
    if (args.bool('sync')) card.sync.request();
    const reply: JsonObject = { value: Math.round(reading.temperature * 1000) / 1000 };
    if (reading.humidity !== undefined) {
      reply.temperature = Math.round(reading.temperature * 1000) / 1000;
      reply.humidity = Math.round(reading.humidity * 100) / 100;
    }
    if (reading.pressure !== undefined) reply.pressure = Math.round(reading.pressure);
    if (s.usb()) reply.usb = true;
    const v = s.voltageNow();
    if (v !== undefined) reply.voltage = round3(v);
    if (card.settings.get('motion')?.stop) reply.off = true;
    return reply;
  },

  'card.attn': (card, args) => {
    const s = card.sensing;
    const modes = args.strings('mode') ?? [];
    const files = args.array('files');
    const seconds = args.int('seconds', -1, 0x7fffffff);
    const payload = payloadString(args);
    if (files !== undefined && !files.every((f) => typeof f === 'string')) fail('files: must be an array of notefile names', 'bad-arg');
    const c: AttnConfig = { ...(card.settings.get('attn') ?? {}) };
    let enabled = [...(c.modes ?? [])];
    if (args.bool('off')) {
      c.off = true;
      card.settings.set('attn', c);
      s.attnOff(true);
      return attnReply(card);
    }
    if (args.bool('on')) delete c.off;
    if (args.bool('start')) {
      const stored = s.takeSleepPayload();
      const reply: JsonObject = {};
      if (stored?.payload !== undefined) reply.payload = stored.payload;
      if (stored?.time !== undefined) reply.time = stored.time;
      return reply;
    }
    let arm = false;
    let disarm = false;
    let sleep = false;
    let watchdog = false;
    for (const raw of modes) {
      const m = raw.trim();
      if (m === '') continue;
      if (m === 'arm') arm = true;
      else if (m === 'disarm') disarm = true;
      else if (m === 'sleep') sleep = true;
      else if (m === 'watchdog') watchdog = true;
      else if (m === '-all') enabled = [];
      else if (m[0] === '-' && ATTN_TRIGGERS.includes(m.slice(1))) enabled = enabled.filter((e) => e !== m.slice(1));
      else if (ATTN_TRIGGERS.includes(m)) {
        if (!enabled.includes(m)) enabled.push(m);
      } else if (m === 'rearm') arm = true;
      else fail(`mode: unknown keyword ${m}`, 'bad-arg');
    }
    if (files !== undefined) c.files = files as string[];
    if (enabled.length) c.modes = enabled;
    else delete c.modes;
    if (JSON.stringify(c) !== JSON.stringify(card.settings.get('attn') ?? {})) card.settings.set('attn', Object.keys(c).length ? c : undefined);
    const timeout = seconds !== undefined && seconds > 0 ? seconds : undefined;
    if (disarm) s.disarm();
    if (watchdog) {
      if (timeout === undefined) fail('watchdog: needs seconds', 'bad-arg');
      s.watchdog(timeout);
    }
    if (sleep) s.sleep(timeout, payload);
    else if (arm) s.arm(timeout);
    if (args.bool('verify')) {
      const configured = [...(c.files ?? []), ...(c.modes ?? [])];
      return attnReply(card, configured.length ? { files: configured } : {});
    }
    return attnReply(card);
  },
});
