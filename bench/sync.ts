// The card's sync engine against the real hub listener over loopback: time to sync 1,000 notes
// and bytes on the wire per note. Run: npm run build && node dist/bench/sync.js
import { Card } from '../src/card';
import type { Net, NetHandlers, NetStream } from '../src/host';
import { RamFlash } from '../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../hosts/node/node-host';
import { startHub } from '../hub/server';
import { tempDir } from '../test/support/sim-process';

const NOTES = 1000;

/** The Node TCP Net, counting the bytes each way. */
class CountingNet implements Net {
  up = 0;
  down = 0;
  connect(host: string, port: number, h: NetHandlers): NetStream {
    const stream = nodeNet.connect(host, port, {
      ...h,
      onData: (bytes) => {
        this.down += bytes.length;
        h.onData(bytes);
      },
    });
    return {
      write: (bytes) => {
        this.up += bytes.length;
        stream.write(bytes);
      },
      close: () => stream.close(),
    };
  }
}

async function main(): Promise<void> {
  const running = await startHub({ dataDir: tempDir('opencard-bench-sync-'), port: 0, devicePort: 0, log: () => {} });
  const link = new CountingNet();
  const host = { ...nodeHost({ flash: new RamFlash({ size: 1024 * 1024 }), logLevel: 'silent', trustSystemClock: true }), net: link };
  const card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
  const request = (r: object) => JSON.parse(card.request(JSON.stringify(r)).text!);
  const sync = async () => {
    request({ req: 'hub.sync' });
    while (card.engine!.running) await new Promise((r) => setImmediate(r));
    const status = String(request({ req: 'hub.sync.status' }).status);
    if (!status.includes('{sync-end}')) throw new Error(status);
  };
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  await sync(); // provisioning handshake out of the way

  let jsonBytes = 0;
  for (let i = 0; i < NOTES; i++) {
    const body = { temp: Math.round((18 + Math.sin(i / 10) * 4) * 100) / 100, humidity: 40 + (i % 17), seq: i };
    jsonBytes += JSON.stringify(body).length;
    request({ req: 'note.add', file: 'sensors.qo', body });
  }
  link.up = link.down = 0;
  const t0 = performance.now();
  await sync();
  const ms = performance.now() - t0;
  console.log(`| ${NOTES} small JSON notes, one hub.sync | ${ms.toFixed(0)} ms | ${link.up.toLocaleString('en-US')} B up, ${link.down.toLocaleString('en-US')} B down | ${(link.up / jsonBytes).toFixed(3)} of ${jsonBytes.toLocaleString('en-US')} B JSON bodies |`);

  // Templated: the same kind of readings through a template; records cross as they are stored.
  request({ req: 'note.template', file: 'tsensors.qo', body: { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' } });
  for (let i = 0; i < NOTES; i++) {
    const body = { temp: Math.round((18 + Math.sin(i / 10) * 4) * 100) / 100, humidity: 40 + (i % 17), pressure: 1000 + (i % 30), battery: 3.7, motion: i % 3 === 0, status: 'ok' };
    request({ req: 'note.add', file: 'tsensors.qo', body });
  }
  const f = card.store.file('tsensors.qo')!;
  const recordBytes = card.notefiles.pending(f, NOTES).reduce((n, note) => n + (note.record?.length ?? 0), 0);
  link.up = link.down = 0;
  const t2 = performance.now();
  await sync();
  const ms2 = performance.now() - t2;
  console.log(`| ${NOTES} templated notes (6-field sensor body), one hub.sync | ${ms2.toFixed(0)} ms | ${link.up.toLocaleString('en-US')} B up, ${link.down.toLocaleString('en-US')} B down | ${(link.up / recordBytes).toFixed(3)} of ${recordBytes.toLocaleString('en-US')} B of packed records |`);

  link.up = link.down = 0;
  const t1 = performance.now();
  await sync();
  console.log(`| empty sync (handshake + catalogue) | ${(performance.now() - t1).toFixed(0)} ms | ${link.up} B up, ${link.down} B down | |`);
  await running.close();
}

void main();
