// The cellular link end to end: the card's sync engine through the AT modem driver and the
// emulated module (115,200 baud UART, 300 ms one-way radio latency) to the hub as a real process.
// Per sync: time, socket round trips, UART bytes against socket payload, radio-on time.
// Run: npm run build && node dist/bench/modem.js
import { Card } from '../src/card';
import type { Net, NetHandlers } from '../src/host';
import { ModemLink } from '../src/net/modem';
import { RamFlash } from '../hosts/node/ram-flash';
import { nodeHost } from '../hosts/node/node-host';
import { ModemEmulator } from '../hosts/node/modem-emulator';
import { removeDir, spawnHub, tempDir } from '../test/hub/helpers';

const BAUD = 115_200;
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 300);

async function main(): Promise<void> {
  const dir = tempDir('bench-modem');
  const hub = await spawnHub(dir);
  const modem = new ModemEmulator({ baud: BAUD, latencyMs: LATENCY_MS });
  const base = nodeHost({ flash: new RamFlash({ size: 1024 * 1024 }), logLevel: 'silent', trustSystemClock: true });
  const link = new ModemLink({ serial: modem.uart, clock: base.clock, apn: 'bench.apn' });
  // What the engine writes and receives, in turns: "up sizes > down sizes" per round trip.
  let turns: string[] = [];
  let way = '';
  const note = (w: string, n: number) => {
    if (w !== way) turns.push(w === 'up' ? '' : '>');
    way = w;
    turns[turns.length - 1] += ` ${n}`;
  };
  const traced: Net = {
    connect: (h: string, p: number, handlers: NetHandlers) => {
      way = '';
      const s = link.connect(h, p, { ...handlers, onData: (b) => (note('down', b.length), handlers.onData(b)) });
      return { write: (b) => (note('up', b.length), s.write(b)), close: () => s.close() };
    },
  };
  const card = new Card({ ...base, links: [{ name: 'cell', net: traced }], cellular: link }, { hubHost: `127.0.0.1:${hub.devicePort}` });
  const request = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!);
  request({ req: 'hub.set', product: hub.productUID, mode: 'minimum' });

  const row = async (what: string, notes: number, full: boolean) => {
    // a full handshake: the card forgets its session ticket (docs/SYNC.md 3.1)
    if (full) {
      const { ticket: _t, resume: _r, ...state } = card.settings.get('sync') ?? {};
      card.settings.set('sync', state);
    }
    for (let i = 0; i < notes; i++) {
      request({ req: 'note.add', file: 'sensors.qo', body: { temp: Math.round((18 + Math.sin(i / 10) * 4) * 100) / 100, humidity: 40 + (i % 17), seq: i } });
    }
    const s0 = { ...modem.stats };
    const f0 = link.figures();
    const t0 = performance.now();
    request({ req: 'hub.sync' });
    turns = [];
    while (card.engine!.running) await new Promise((r) => setTimeout(r, 5));
    const ms = performance.now() - t0;
    while (!link.idle) await new Promise((r) => setTimeout(r, 5));
    const status = String(request({ req: 'hub.sync.status' }).status);
    if (!status.includes('{sync-end}')) throw new Error(status);
    const f = link.figures();
    const uart = f.uartTx - f0.uartTx + f.uartRx - f0.uartRx;
    const payload = f.payloadUp - f0.payloadUp + f.payloadDown - f0.payloadDown;
    const rt = modem.stats.roundTrips - s0.roundTrips;
    const commands = modem.stats.commands - s0.commands;
    console.log(
      `| ${what} | ${(ms / 1000).toFixed(2)} s | ${rt} | ${commands} | ${(f.uartTx - f0.uartTx).toLocaleString('en-US')} / ${(f.uartRx - f0.uartRx).toLocaleString('en-US')} B` +
        ` | ${(f.payloadUp - f0.payloadUp).toLocaleString('en-US')} / ${(f.payloadDown - f0.payloadDown).toLocaleString('en-US')} B | ${(uart / payload).toFixed(2)} | ${((f.radioOnMs - f0.radioOnMs) / 1000).toFixed(2)} s |`,
    );
  };

  console.log(`${BAUD} baud, ${LATENCY_MS} ms one-way latency\n`);
  console.log('| sync | time | round trips | AT commands | UART out / in | payload up / down | UART / payload | radio on |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const rows: [string, number, boolean][] = [
    ['first sync: bring-up, provisioning, nothing to send', 0, true],
    ['nothing new, full handshake (modem attached)', 0, true],
    ['nothing new, resumed', 0, false],
    ['50 small JSON notes (a periodic upload), full handshake', 50, true],
    ['50 small JSON notes, resumed', 50, false],
    ['500 small JSON notes, full handshake', 500, true],
    ['500 small JSON notes, resumed', 500, false],
  ];
  const traces: string[] = [];
  for (const [what, n, full] of rows) {
    await row(what, n, full);
    traces.push(`${what}: ${turns.map((t) => t.trim()).join(' | ')}`);
  }
  console.log('\nFrames per turn (bytes the engine wrote, then > bytes it received):\n');
  for (const t of traces) console.log(`- ${t}`);
  card.shutdown();
  modem.close();
  await hub.stop();
  removeDir(dir);
}

void main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
