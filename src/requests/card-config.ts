// card.* requests that configure parts of the card a host wires up (AUX pins and serial, LEDs,
// charging pin, sleep, triangulation, I2C/USB behaviour) or describe it (card.contact).
// What they configure is kept in the `config` setting under the request's name; card.restore forgets it.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { Args } from './args';
import type { RequestContext } from './context';
import type { HandlerTable } from './handler';

/** The stored configuration of request `name` ({} until set). */
export function configOf(card: RequestContext, name: string): JsonObject {
  return card.settings.get('config')?.[name] ?? {};
}

/** Store request `name`'s configuration (only when it changed: each write costs flash). */
export function setConfig(card: RequestContext, name: string, value: JsonObject): void {
  const all = { ...(card.settings.get('config') ?? {}) };
  if (JSON.stringify(all[name] ?? {}) === JSON.stringify(value)) return;
  if (Object.keys(value).length) all[name] = value;
  else delete all[name];
  card.settings.set('config', all);
}

function oneOf(args: Args, name: string, allowed: readonly string[]): string | undefined {
  const v = args.string(name);
  if (v !== undefined && !allowed.includes(v)) fail(`${name}: must be one of ${allowed.join(', ')}`, 'bad-arg');
  return v;
}

const LED_COLORS = Object.freeze(['red', 'green', 'yellow', 'blue', 'cyan', 'magenta', 'orange', 'white', 'gray']);
const IO_MODES = Object.freeze(['-1', '-usb', 'usb', '+usb', '+busy', '-busy', 'i2c-master-disable', 'i2c-master-enable', '+fallback', '-fallback']);
const AUX_SERIAL_MODES = Object.freeze(['req', 'gps', 'notify', 'accel', 'signals', 'env', 'dfu']);
const CONTACT_FIELDS = Object.freeze(['name', 'org', 'role', 'email']);
/** Longest contact field kept (the card's configuration lives in a small flash record). */
const MAX_CONTACT = 100;
/** card.sleep's shortest idle time before sleeping. */
const MIN_SLEEP_SECONDS = 30;

export const cardConfigRequests: HandlerTable = Object.freeze({
  // Trace output is a debugging channel on the Notecard's USB port; this card has none to turn on.
  'card.trace': (_card, args) => {
    oneOf(args, 'mode', ['on', 'off']);
    return {};
  },

  'card.carrier': (card, args): JsonObject => {
    const mode = oneOf(args, 'mode', ['charging', '-', 'off']);
    if (mode !== undefined) setConfig(card, 'card.carrier', mode === 'charging' ? { mode } : {});
    const charging = configOf(card, 'card.carrier').mode === 'charging';
    // No Notecarrier reports charging on this card's AUX_CHARGING pin.
    return charging ? { mode: 'charging', charging: false } : { mode: 'off' };
  },

  'card.contact': (card, args) => {
    const contact = { ...configOf(card, 'card.contact') };
    for (const f of CONTACT_FIELDS) {
      const v = args.string(f);
      if (v === undefined) continue;
      if (v.length > MAX_CONTACT) fail(`${f}: at most ${MAX_CONTACT} characters`, 'bad-arg');
      if (v === '' || v === '-') delete contact[f];
      else contact[f] = v;
    }
    setConfig(card, 'card.contact', contact);
    return contact;
  },

  // The AUX pin LEDs of monitor mode: accepted; this card drives no LEDs.
  'card.monitor': (_card, args) => {
    oneOf(args, 'mode', ['green', 'red', 'yellow']);
    args.int('count', 0, 1000);
    args.bool('usb');
    return {};
  },

  'card.led': (_card, args) => {
    oneOf(args, 'mode', LED_COLORS);
    if (args.bool('on') && args.bool('off')) fail('on and off: one or the other', 'bad-arg');
    return {};
  },

  'card.sleep': (card, args) => {
    const sleep = { ...configOf(card, 'card.sleep') };
    if (args.bool('on') && args.bool('off')) fail('on and off: one or the other', 'bad-arg');
    if (args.bool('on')) sleep.on = true;
    if (args.bool('off')) delete sleep.on;
    const seconds = args.int('seconds', -1, 86400 * 365);
    if (seconds !== undefined) {
      if (seconds === -1 || seconds === 0) delete sleep.seconds;
      else if (seconds < MIN_SLEEP_SECONDS) fail(`seconds: at least ${MIN_SLEEP_SECONDS}`, 'bad-arg');
      else sleep.seconds = seconds;
    }
    const mode = oneOf(args, 'mode', ['accel', '-accel']);
    if (mode === 'accel') sleep.mode = 'accel';
    if (mode === '-accel') delete sleep.mode;
    setConfig(card, 'card.sleep', sleep);
    const reply: JsonObject = sleep.on === true ? { on: true } : { off: true };
    if (typeof sleep.seconds === 'number') reply.seconds = sleep.seconds;
    if (sleep.mode === 'accel') reply.mode = 'accel';
    return reply;
  },

  'card.triangulate': (card, args) => {
    const t = { ...configOf(card, 'card.triangulate') };
    const mode = args.string('mode');
    if (mode !== undefined) {
      const modes = mode === '-' || mode === '' ? [] : mode.split(',').map((m) => m.trim());
      for (const m of modes) if (m !== 'wifi' && m !== 'cell') fail('mode: a comma-separated list of wifi and cell, or "-"', 'bad-arg');
      if (modes.length) t.mode = modes.join(',');
      else delete t.mode;
    }
    if (args.bool('set')) {
      t.on = args.bool('on');
      t.usb = args.bool('usb');
    } else {
      args.bool('on');
      args.bool('usb');
    }
    const minutes = args.int('minutes', 0, 525600);
    if (minutes !== undefined) t.minutes = minutes;
    // The access points an external Wi-Fi module scanned: only the scan's size and time are kept.
    const text = args.string('text');
    if (text !== undefined) {
      t.length = text.length;
      const now = card.epochMs();
      const time = args.int('time', 0, 0xffffffff) ?? (now === undefined ? undefined : Math.floor(now / 1000));
      if (time !== undefined) t.time = time;
      else delete t.time;
    }
    setConfig(card, 'card.triangulate', t);
    const reply: JsonObject = { mode: typeof t.mode === 'string' ? t.mode : '', on: t.on === true };
    if (t.usb === true) reply.usb = true;
    if (typeof t.length === 'number') reply.length = t.length;
    if (typeof t.time === 'number') reply.time = t.time;
    return reply;
  },

  // I2C address, USB port and LED behaviour of the Notecard hardware: checked and accepted.
  'card.io': (_card, args) => {
    oneOf(args, 'mode', IO_MODES);
    args.int('i2c', -1, 0x7f);
    return {};
  },

  'card.aux.serial': (card, args) => {
    const aux = { ...configOf(card, 'card.aux.serial') };
    const mode = args.string('mode');
    if (mode !== undefined) {
      if (mode === '-' || mode === '') delete aux.mode;
      else {
        for (const m of mode.split(',')) if (!AUX_SERIAL_MODES.includes(m.trim())) fail(`mode: a comma-separated list of ${AUX_SERIAL_MODES.join(', ')}`, 'bad-arg');
        aux.mode = mode;
      }
    }
    const rate = args.int('rate', -1, 921600);
    if (rate !== undefined) {
      if (rate <= 0) delete aux.rate;
      else aux.rate = rate;
    }
    for (const f of ['max', 'ms'] as const) {
      const v = args.int(f, -1, 65535);
      if (v === undefined) continue;
      if (v <= 0) delete aux[f];
      else aux[f] = v;
    }
    args.int('minutes', 0, 525600);
    args.int('duration', 0, 3_600_000);
    args.bool('limit');
    setConfig(card, 'card.aux.serial', aux);
    const current = typeof aux.mode === 'string' ? aux.mode : 'req';
    // GPS receivers talk at 9600 by default, everything else at 115200.
    const reply: JsonObject = { mode: current, rate: typeof aux.rate === 'number' ? aux.rate : current === 'gps' ? 9600 : 115200 };
    if (typeof aux.max === 'number') reply.max = aux.max;
    if (typeof aux.ms === 'number') reply.ms = aux.ms;
    return reply;
  },
});
