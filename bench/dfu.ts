// Firmware download (docs/SYNC.md section 8): the card's engine against the real hub listener over
// loopback, 1 MiB from request to ready: time, bytes on the wire each way, chunks, and what the
// wire bytes mean for a serial link (at 115,200 baud a byte costs 10 bits).
// Run: npm run build && node dist/bench/dfu.js        (loopback)
//      node dist/bench/dfu.js modem [CUTS [close|signal]]   (the emulated cellular link: 115,200
//      baud, 300 ms one-way latency; CUTS times mid-download the network closes the socket, or
//      the signal goes for a second: the data context drops with what the module held)
import { randomBytes } from 'crypto';
import * as path from 'path';
import { Card } from '../src/card';
import type { Flash, Net, NetHandlers, NetStream } from '../src/host';
import { FileFlash } from '../hosts/node/file-flash';
import { RamFlash } from '../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../hosts/node/node-host';
import { startHub } from '../hub/server';
import { ModemLink } from '../src/net/modem';
import { ModemEmulator } from '../hosts/node/modem-emulator';
import { tempDir } from '../test/support/sim-process';

const SIZE = 1024 * 1024;
const BAUD = 115_200;

class CountingNet implements Net {
  up = 0;
  down = 0;
  connect(host: string, port: number, h: NetHandlers): NetStream {
    const stream = nodeNet.connect(host, port, { ...h, onData: (b) => { this.down += b.length; h.onData(b); } });
    return { write: (b) => { this.up += b.length; stream.write(b); }, close: () => stream.close() };
  }
}

/** Firmware-like bytes: runs of zeros and repeated instruction patterns among random ones. */
function firmwareLike(size: number): Uint8Array {
  const b = new Uint8Array(randomBytes(size));
  for (let i = 0; i < size; i += 64) {
    if ((i / 64) % 4 === 0) b.fill(0, i, i + 32);
    if ((i / 64) % 4 === 1) b.set([0x70, 0x47, 0x00, 0xbf, 0x08, 0xb5, 0x00, 0x20], i);
  }
  return b;
}

async function run(label: string, data: Uint8Array, storeFlash: Flash, dfuFlash: Flash): Promise<void> {
  const running = await startHub({ dataDir: tempDir('opencard-bench-dfu-'), port: 0, devicePort: 0, log: () => {} });
  const link = new CountingNet();
  const host = { ...nodeHost({ flash: storeFlash, dfu: dfuFlash, logLevel: 'silent', trustSystemClock: true }), net: link };
  const card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  const request = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
  const sync = async () => {
    request({ req: 'hub.sync' });
    while (card.engine!.running) await new Promise((r) => setImmediate(r));
  };
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  await sync();
  const project = running.bootstrap!.projectUID;
  await running.hub.firmware.putFirmware(project, 'host', 'bench.bin', data, {});
  await running.hub.firmware.requestDfu(project, 'host', [card.deviceUID], 'bench.bin');
  link.up = link.down = 0;
  const t0 = performance.now();
  await sync();
  const ms = performance.now() - t0;
  const mode = request({ req: 'dfu.status' }).mode;
  if (mode !== 'ready') throw new Error(`not ready: ${JSON.stringify(request({ req: 'dfu.status' }))}`);
  const wire = link.up + link.down;
  const serial = (wire * 10) / BAUD;
  const raw = (data.length * 10) / BAUD;
  console.log(`| ${label} | ${ms.toFixed(0)} ms (${((data.length / 1024) / (ms / 1000)).toFixed(0)} KB/s) | ${link.down.toLocaleString('en-US')} B down, ${link.up.toLocaleString('en-US')} B up | ${(wire / data.length).toFixed(3)} | ${serial.toFixed(1)} s vs ${raw.toFixed(1)} s raw (${(serial / raw).toFixed(2)}x) |`);
  card.shutdown();
  await running.close();
}

async function main(): Promise<void> {
  console.log('| 1 MiB image, one hub.sync from request to ready | time on loopback | wire bytes | wire / image | bytes at 115,200 baud |');
  console.log('|---|---|---|---|---|');
  await run('random bytes, RAM flash', new Uint8Array(randomBytes(SIZE)), new RamFlash({ size: 512 * 1024 }), new RamFlash({ size: 4 * SIZE }));
  await run('firmware-like bytes, RAM flash', firmwareLike(SIZE), new RamFlash({ size: 512 * 1024 }), new RamFlash({ size: 4 * SIZE }));
  const dir = tempDir('opencard-bench-dfu-flash-');
  await run('random bytes, the simulator\'s file flash', new Uint8Array(randomBytes(SIZE)),
    new FileFlash(path.join(dir, 'flash.bin'), { size: 4 * SIZE }), new FileFlash(path.join(dir, 'dfu.bin'), { size: 4 * SIZE }));
}

/** 1 MiB through the AT modem driver and the emulated module; `cuts` network closes on the way. */
async function overModem(cuts: number, how: string): Promise<void> {
  const latencyMs = Number(process.env.LATENCY_MS ?? 300);
  const running = await startHub({ dataDir: tempDir('opencard-bench-dfu-'), port: 0, devicePort: 0, log: () => {} });
  const modem = new ModemEmulator({ baud: BAUD, latencyMs });
  const base = nodeHost({ flash: new RamFlash({ size: 512 * 1024 }), dfu: new RamFlash({ size: 4 * SIZE }), logLevel: 'silent', trustSystemClock: true });
  const link = new ModemLink({ serial: modem.uart, clock: base.clock, apn: 'bench.apn' });
  const card = new Card({ ...base, links: [{ name: 'cell', net: link }], cellular: link }, { hubHost: `127.0.0.1:${running.devicePort}` });
  const request = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!) as Record<string, unknown>;
  const sync = async (cutAt?: number) => {
    request({ req: 'hub.sync' });
    while (card.engine!.running) {
      await new Promise((r) => setTimeout(r, 5));
      if (cutAt !== undefined && Number(card.dfu.slot('user').got ?? 0) >= cutAt) {
        if (how === 'signal') modem.loseSignal(1000);
        else modem.closeSockets();
        cutAt = undefined;
      }
    }
    while (!link.idle) await new Promise((r) => setTimeout(r, 5));
  };
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  await sync();
  const data = new Uint8Array(randomBytes(SIZE)); // incompressible: the bytes are the image's
  const project = running.bootstrap!.projectUID;
  await running.hub.firmware.putFirmware(project, 'host', 'bench.bin', data, {});
  await running.hub.firmware.requestDfu(project, 'host', [card.deviceUID], 'bench.bin');
  const f0 = link.figures();
  const s0 = { ...modem.stats };
  const t0 = performance.now();
  const cutsAt = Array.from({ length: cuts }, (_, i) => Math.round((SIZE * (i + 1)) / (cuts + 1)));
  let syncs = 0;
  while (request({ req: 'dfu.status' }).mode !== 'ready' && syncs < 100) {
    syncs++;
    await sync(cutsAt.shift());
  }
  const ms = performance.now() - t0;
  if (request({ req: 'dfu.status' }).mode !== 'ready') throw new Error(`not ready: ${JSON.stringify(request({ req: 'dfu.status' }))}`);
  const f = link.figures();
  const down = f.payloadDown - f0.payloadDown;
  const up = f.payloadUp - f0.payloadUp;
  const radio = modem.stats.received - s0.received;
  const raw = (SIZE * 10) / BAUD;
  console.log(`| ${cuts} cuts (${how}), ${syncs} syncs | ${(ms / 1000).toFixed(1)} s vs ${raw.toFixed(1)} s raw (${(ms / 1000 / raw).toFixed(2)}x) | ${down.toLocaleString('en-US')} B down, ${up.toLocaleString('en-US')} B up |` +
    ` ${radio.toLocaleString('en-US')} B | ${(f.uartRx - f0.uartRx + f.uartTx - f0.uartTx).toLocaleString('en-US')} B |`);
  card.shutdown();
  modem.close();
  await running.close();
}

if (process.argv[2] === 'modem') {
  console.log(`${BAUD} baud, ${process.env.LATENCY_MS ?? 300} ms one-way latency, 1 MiB of random bytes\n`);
  console.log('| run | time to ready | socket payload (card) | came over the radio | UART both ways |');
  console.log('|---|---:|---:|---:|---:|');
  void overModem(Number(process.argv[3] ?? 0), process.argv[4] ?? 'close').then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
} else void main();
