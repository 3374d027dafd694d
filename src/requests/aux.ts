// card.aux: the AUX1-AUX4 pins. In gpio mode each pin gets a usage (off, high, low, input[-pull],
// count[-pull]); counted pins count rising edges in `seconds`-long buckets (at most `max`); with
// sync:true an input change adds a note of the pins' state to `file`. The other modes (LEDs,
// NeoPixels, monitor, track, DFU, motion) drive hardware this card has no driver for: the mode is
// kept and reported. The configuration is kept in the `config` setting and applied at boot.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import { MAX_BUCKETS } from './aux-gpio';
import type { RequestContext } from './context';
import { configOf, setConfig } from './card-config';
import type { HandlerTable } from './handler';

const USAGES = Object.freeze(['', 'off', 'high', 'low', 'input', 'input-pulldown', 'input-pullup', 'count', 'count-pulldown', 'count-pullup']);
const MODES = Object.freeze([
  'dfu', 'gpio', 'led', 'monitor', 'motion', 'neo', 'neo-monitor', 'off', 'rgb', 'rgb-monitor',
  'track', 'track-monitor', 'track-neo-monitor', 'track-rgb-monitor', '-',
]);
const RATES = Object.freeze([300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]);
/** Where sync:true reports state changes unless `file` names another notefile. */
export const AUX_DEFAULT_FILE = '_button.qo';

function reply(card: RequestContext): JsonObject {
  const cfg = configOf(card, 'card.aux');
  // monitor mode drives LEDs: reported as the documented led-monitor
  const mode = cfg.mode === 'monitor' ? 'led-monitor' : cfg.mode === 'track-monitor' ? 'track-led-monitor' : typeof cfg.mode === 'string' ? cfg.mode : 'off';
  const out: JsonObject = { mode };
  const gpio = card.aux;
  if (mode === 'gpio' && gpio) {
    out.state = gpio.state();
    if (gpio.counting()) {
      if (gpio.seconds > 0) out.seconds = gpio.seconds;
      if (gpio.startTime !== undefined) out.time = gpio.startTime;
    }
  }
  return out;
}

/** Apply the stored configuration (at boot, and after card.aux changed it). */
export function applyAux(card: RequestContext, start: boolean): void {
  const gpio = card.aux;
  if (!gpio) return;
  const cfg = configOf(card, 'card.aux');
  const usage = cfg.mode === 'gpio' && Array.isArray(cfg.usage) ? cfg.usage.map(String) : [];
  gpio.seconds = typeof cfg.seconds === 'number' ? cfg.seconds : 0;
  gpio.max = typeof cfg.max === 'number' ? cfg.max : 0;
  gpio.debounceMs = typeof cfg.ms === 'number' ? cfg.ms : 0;
  gpio.configure(usage);
  if (start || gpio.startTime === undefined) {
    const now = card.epochMs();
    gpio.startCounting(now === undefined ? undefined : Math.floor(now / 1000));
  }
  const file = typeof cfg.file === 'string' ? cfg.file : AUX_DEFAULT_FILE;
  gpio.onInput = cfg.sync === true
    ? () => {
        const body: JsonObject = { state: gpio.state() };
        if (card.world.power?.usb?.() === true) body.power = true;
        card.notefiles.add(file, { body }, file === AUX_DEFAULT_FILE);
        if (cfg.connected !== true) card.sync.request();
      }
    : undefined;
}

export const auxRequests: HandlerTable = Object.freeze({
  'card.aux': (card, args) => {
    const cfg = { ...configOf(card, 'card.aux') };
    const mode = args.string('mode');
    if (mode !== undefined && !MODES.includes(mode)) fail(`mode: must be one of ${MODES.join(', ')}`, 'bad-arg');
    const rate = args.int('rate', -1, 921600);
    if (rate !== undefined && rate !== -1 && !RATES.includes(rate)) fail(`rate: must be one of ${RATES.join(', ')}`, 'bad-arg');
    const usage = args.array('usage');
    if (usage) for (const u of usage) if (typeof u !== 'string' || !USAGES.includes(u)) fail(`usage: each pin one of ${USAGES.filter((x) => x).join(', ')}`, 'bad-arg');
    const file = args.string('file');
    if (file !== undefined && file !== AUX_DEFAULT_FILE) card.notefiles.kind(file);
    const seconds = args.int('seconds', 0, 86400 * 365);
    const max = args.int('max', 0, MAX_BUCKETS);
    const ms = args.int('ms', 0, 60_000);
    // NeoPixel and GPS options of the other modes: checked, kept by no driver here.
    args.int('count', -1, 5);
    args.int('offset', -1, 1000);
    args.int('sensitivity', -1, 100);
    args.bool('gps');
    args.bool('limit');
    if (mode === 'gpio' && !card.aux) fail('card.aux gpio: this card has no AUX pins');
    if (mode !== undefined) {
      for (const k of ['usage', 'seconds', 'max', 'ms', 'file', 'sync', 'connected']) delete cfg[k];
      if (mode === '-' || mode === 'off') delete cfg.mode;
      else cfg.mode = mode;
    }
    if (rate !== undefined) {
      if (rate === -1) delete cfg.rate;
      else cfg.rate = rate;
    }
    if (usage) cfg.usage = usage;
    if (seconds !== undefined) cfg.seconds = seconds;
    if (max !== undefined) cfg.max = max;
    if (ms !== undefined) cfg.ms = ms;
    if (file !== undefined) cfg.file = file;
    if (args.has('sync')) cfg.sync = args.bool('sync');
    if (args.has('connected')) cfg.connected = args.bool('connected');
    setConfig(card, 'card.aux', cfg);
    if (mode !== undefined || usage || args.has('sync') || args.bool('start') || seconds !== undefined || max !== undefined || ms !== undefined || file !== undefined) {
      applyAux(card, args.bool('start') || mode !== undefined || usage !== undefined);
    }
    return reply(card);
  },
});
