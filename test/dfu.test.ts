// Firmware updates through the sync (docs/SYNC.md section 8): the card engine against the real hub
// listener in this process, with the link cut mid-transfer, power cuts on the DFU flash, corrupt,
// truncated, cancelled and replaced images, and the card requests that drive it all.
import { createHash, randomBytes } from 'node:crypto';
import { Card } from '../src/card';
import type { Net, NetHandlers, NetStream } from '../src/host';
import { RamFlash, PowerCut } from '../hosts/node/ram-flash';
import { nodeHost, nodeNet } from '../hosts/node/node-host';
import { startHub, type RunningHub } from '../hub/server';
import { tempDir } from './support/sim-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Node TCP, counting the bytes each connection brings down; `cutAfter` kills the next one after that many. */
class CountingNet implements Net {
  cutAfter: number | undefined;
  down = 0;
  connect(host: string, port: number, h: NetHandlers): NetStream {
    const limit = this.cutAfter;
    this.cutAfter = undefined;
    let seen = 0;
    let cut = false;
    const stream = nodeNet.connect(host, port, {
      onConnect: () => h.onConnect(),
      onClose: (why) => h.onClose(why ?? (cut ? 'cut' : undefined)),
      onData: (bytes) => {
        if (cut) return;
        if (limit !== undefined && seen + bytes.length >= limit) {
          cut = true;
          const part = bytes.subarray(0, limit - seen);
          this.down += part.length;
          if (part.length) h.onData(part);
          return stream.close();
        }
        seen += bytes.length;
        this.down += bytes.length;
        h.onData(bytes);
      },
    });
    return { write: (b) => { if (!cut) stream.write(b); }, close: () => stream.close() };
  }
}

let running: RunningHub;
/** The hub's clock runs ahead by this much: each environment change moves it on a second, since
 * the sync tells environments apart by their whole-second `modified` (docs/SYNC.md 4.4). */
let skew = 0;
const later = (): void => { skew += 1100; };
let project: string;
const link = new CountingNet();
let storeFlash: RamFlash;
let dfuFlash: RamFlash;
let card: Card;

function boot(): Card {
  const host = { ...nodeHost({ flash: storeFlash, dfu: dfuFlash, logLevel: 'silent', trustSystemClock: true }), net: link };
  return new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
}

function request(req: object): Record<string, unknown> {
  return JSON.parse(card.request(JSON.stringify(req)).text!) as Record<string, unknown>;
}

/** One sync to its end (or its failure). */
async function syncOnce(): Promise<void> {
  request({ req: 'hub.sync' });
  const deadline = Date.now() + 30_000; // generous: the machine may be busy
  while (card.engine!.running && Date.now() < deadline) await sleep(2);
}

async function syncUntil(done: () => boolean, max = 40): Promise<void> {
  for (let i = 0; i < max && !done(); i++) await syncOnce();
  expect(done()).toBe(true);
}

const status = (name = 'user') => request({ req: 'dfu.status', name });
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Test bytes, partly compressible like firmware. */
function image(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = i % 7 === 0 ? 0 : x >>> 24;
  }
  return b;
}

async function upload(name: string, data: Uint8Array, type: 'host' | 'notecard' = 'host', version = '1.0'): Promise<string> {
  later();
  return (await running.hub.firmware.putFirmware(project, type, name, data, { version, notes: 'test image' })).filename;
}

function requestDfu(...args: Parameters<RunningHub['hub']['firmware']['requestDfu']>) {
  later();
  return running.hub.firmware.requestDfu(...args);
}

/** The hub's record of the device's update, once it shows `status` (the card's last report may still be on its way in). */
async function hubStatus(type: 'host' | 'notecard' = 'host', want?: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const rec = await running.hub.firmware.dfuStatus(project, card.deviceUID, type);
    if (!want || rec?.status === want) return rec;
    await sleep(10);
  }
  return running.hub.firmware.dfuStatus(project, card.deviceUID, type);
}

beforeAll(async () => {
  running = await startHub({ dataDir: tempDir('opencard-dfu-'), port: 0, devicePort: 0, log: () => {}, now: () => Date.now() + skew });
  project = running.bootstrap!.projectUID;
  storeFlash = new RamFlash({ size: 512 * 1024 });
  dfuFlash = new RamFlash({ size: 1024 * 1024 });
  card = boot();
  request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  await syncOnce(); // the hub knows the device
});

afterAll(async () => {
  card?.shutdown();
  await running?.close();
});

beforeEach(async () => {
  // each test starts from no request: a stop clears the last one
  request({ req: 'dfu.status', stop: true, status: 'reset' });
  request({ req: 'dfu.status', on: true, vvalue: '-' });
  for (const type of ['host', 'notecard'] as const) await requestDfu(project, type, [card.deviceUID], null);
  await syncOnce();
});

it('downloads a host image across 10 cut links, each resuming from the last verified chunk', async () => {
  const data = new Uint8Array(randomBytes(300 * 1024)); // incompressible: wire bytes measure image bytes
  const name = await upload('app.bin', data);
  expect(name).toMatch(/^app\$\d{14}\.bin$/);
  await requestDfu(project, 'host', [card.deviceUID], 'app.bin');
  const resent: number[] = [];
  for (let cut = 0; cut < 10; cut++) {
    const before = Number(card.dfu.slot('user').got ?? 0);
    link.cutAfter = 20_000 + cut * 1_111;
    await syncOnce();
    const after = Number(card.dfu.slot('user').got ?? 0);
    if (process.env.DFU_DEBUG) console.log(cut, before, after, link.down);
    expect(after).toBeGreaterThan(before); // never from zero
    const s = status();
    expect(s).toMatchObject({ mode: 'downloading', on: true });
    expect(String(s.status)).toMatch(new RegExp(`^downloaded \\d+% \\(${after}/${data.length}\\)$`));
    // what came down this session beyond what the card kept: the chunk on the wire at the cut, framing and the sync itself
    resent.push(20_000 + cut * 1_111 - (after - before));
  }
  for (const r of resent) expect(r).toBeLessThan(2048 + 1500);
  await syncUntil(() => status().mode === 'ready');
  const ready = status();
  expect(ready).toMatchObject({ mode: 'ready', status: 'successfully downloaded', on: true });
  expect(ready.body).toMatchObject({ name, source: 'app.bin', length: data.length, md5: md5(data), type: 'firmware', notes: 'test image' });
  expect((await hubStatus('host', 'ready'))).toMatchObject({ status: 'ready', filename: name, read: data.length });

  // the host reads it in DFU mode
  expect(request({ req: 'dfu.get', length: 0 })).toMatchObject({ err: expect.stringContaining('{dfu-not-ready}') });
  expect(request({ req: 'hub.set', mode: 'dfu' })).toEqual({});
  expect(request({ req: 'dfu.get', length: 0 })).toEqual({});
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += 8192) {
    const r = request({ req: 'dfu.get', length: 8192, offset });
    if (offset === 0) expect(r.body).toMatchObject({ md5: md5(data) });
    else expect(r.body).toBeUndefined();
    parts.push(Buffer.from(String(r.payload), 'base64'));
  }
  expect(md5(Buffer.concat(parts))).toBe(md5(data));
  expect(request({ req: 'dfu.get', length: 8193 })).toMatchObject({ err: expect.stringContaining('{bad-arg}') });
  // binary: the chunk lands in the binary buffer with its md5
  const bin = request({ req: 'dfu.get', length: 1000, offset: 5000, binary: true });
  expect(bin).toMatchObject({ length: 1000, status: md5(data.subarray(5000, 6000)) });
  expect(request({ req: 'card.binary' })).toMatchObject({ length: 1000, status: md5(data.subarray(5000, 6000)) });
  // no sync in DFU mode
  expect(request({ req: 'hub.sync' })).toEqual({});
  expect(String(request({ req: 'hub.sync.status' }).status)).toContain('dfu');

  expect(request({ req: 'dfu.status', stop: true, status: 'firmware update successful', version: { ver: '2.0' } }))
    .toMatchObject({ mode: 'completed', status: 'firmware update successful' });
  expect(request({ req: 'hub.set', mode: 'minimum' })).toEqual({});
  await syncOnce();
  const rec = await hubStatus('host', 'completed');
  expect(rec).toMatchObject({ status: 'completed', text: 'firmware update successful', version: '{"ver":"2.0"}' });
  expect(rec!.history!.map((h) => h.status)).toEqual(expect.arrayContaining(['pending', 'downloading', 'ready', 'completed']));
  // completed: the same request is not fetched again
  await syncOnce();
  expect(status().mode).toBe('completed');
}, 60_000);

it('an image whose bytes do not match its md5 ends in error, never ready', async () => {
  const data = image(20_000, 2);
  const name = await upload('bad.bin', data);
  const rec = (await running.hub.firmware.firmware(project, { filename: name }))[0];
  const bad = data.slice();
  bad[12345] ^= 1;
  await running.hub.store.putFirmware(rec, bad); // the stored bytes rot, the record keeps the md5
  await requestDfu(project, 'host', [card.deviceUID], name);
  await syncUntil(() => status().mode === 'error');
  expect(status()).toMatchObject({ mode: 'error', status: expect.stringContaining('md5') });
  expect(await hubStatus('host', 'error')).toMatchObject({ status: 'error', text: expect.stringContaining('md5') });
  request({ req: 'hub.set', mode: 'dfu' });
  expect(request({ req: 'dfu.get', length: 0 })).toMatchObject({ err: expect.stringContaining('{dfu-not-ready}') });
  request({ req: 'hub.set', mode: 'minimum' });
});

it('a truncated image ends in error with the reason', async () => {
  const data = image(20_000, 3);
  const name = await upload('short.bin', data);
  const rec = (await running.hub.firmware.firmware(project, { filename: name }))[0];
  await running.hub.store.putFirmware(rec, data.subarray(0, 15_000));
  await requestDfu(project, 'host', [card.deviceUID], name);
  await syncUntil(() => status().mode === 'error');
  expect(String(status().status)).toContain('truncated');
});

it('a cancelled update stops the download, and a new image replaces one under way', async () => {
  const first = image(200_000, 4);
  await upload('first.bin', first);
  await requestDfu(project, 'host', [card.deviceUID], 'first.bin');
  link.cutAfter = 30_000;
  await syncOnce();
  expect(status().mode).toBe('downloading');
  await requestDfu(project, 'host', [card.deviceUID], null);
  await syncOnce();
  expect(status()).toMatchObject({ mode: 'error', status: 'firmware update cancelled by the hub' });
  expect(await hubStatus('host', 'canceled')).toMatchObject({ status: 'canceled' });

  // again, then another image mid-download
  const second = image(50_000, 5);
  const again = await upload('again.bin', first, 'host', '1.1');
  await requestDfu(project, 'host', [card.deviceUID], again);
  link.cutAfter = 30_000;
  await syncOnce();
  expect(status().mode).toBe('downloading');
  const name2 = await upload('second.bin', second);
  await requestDfu(project, 'host', [card.deviceUID], 'second.bin');
  await syncUntil(() => status().mode === 'ready');
  expect(status().body).toMatchObject({ name: name2, md5: md5(second), length: second.length });
});

it('off pauses a download (the reason shows), on resumes it; vvalue follows the voltage mode', async () => {
  const data = image(100_000, 6);
  await upload('paused.bin', data);
  await requestDfu(project, 'host', [card.deviceUID], 'paused.bin');
  link.cutAfter = 30_000;
  await syncOnce();
  const got = card.dfu.slot('user').got;
  expect(request({ req: 'dfu.status', off: true })).toMatchObject({ mode: 'downloading', on: false });
  await syncOnce();
  await syncOnce();
  expect(card.dfu.slot('user').got).toBe(got);
  // the voltage mode is normal (no supply sensor): normal:0 keeps it paused even when on
  request({ req: 'dfu.status', on: true, vvalue: 'usb:1;high:1;normal:0;low:0;dead:0' });
  await syncOnce();
  expect(card.dfu.slot('user').got).toBe(got);
  request({ req: 'dfu.status', vvalue: 'usb:0;high:1;normal:1;low:0;dead:0' });
  await syncUntil(() => status().mode === 'ready');
  expect(status().body).toMatchObject({ md5: md5(data) });
});

it('a power cut in the middle of a flash write resumes without a corrupt chunk', async () => {
  const data = image(120_000, 7);
  await upload('power.bin', data);
  await requestDfu(project, 'host', [card.deviceUID], 'power.bin');
  for (const n of [9, 17, 30]) {
    dfuFlash.cutAfter(n); // the n-th erase/write from now is torn, then the flash is dead
    await syncOnce();
    card.shutdown();
    dfuFlash.reboot();
    storeFlash.reboot();
    card = boot();
    expect(status().mode).toBe('downloading');
  }
  await syncUntil(() => status().mode === 'ready');
  expect(status().body).toMatchObject({ md5: md5(data) });
  void PowerCut;

  // and during dfu.get: after the restart the card is still in DFU mode with the image ready
  request({ req: 'hub.set', mode: 'dfu' });
  expect(request({ req: 'dfu.get', length: 4096, offset: 0 }).payload).toBeDefined();
  card.shutdown();
  card = boot();
  expect(status().mode).toBe('ready');
  const r = request({ req: 'dfu.get', length: 4096, offset: 4096 });
  expect(Buffer.from(String(r.payload), 'base64')).toEqual(Buffer.from(data.subarray(4096, 8192)));
  request({ req: 'hub.set', mode: 'minimum' });
});

it('a card image (_fwc, set through the environment API) is ready, and after card.restart the card runs its version', async () => {
  const data = image(30_000, 8);
  const name = await upload('notecard.bin', data, 'notecard', '9.1.2');
  later();
  await running.hub.env.envPut('device', card.deviceUID, { _fwc: name });
  await syncUntil(() => status('card').mode === 'ready');
  expect(status('card').body).toMatchObject({ name, version: '9.1.2', md5: md5(data) });
  expect(await hubStatus('notecard', 'ready')).toMatchObject({ status: 'ready', filename: name });
  card.shutdown();
  card = boot(); // what card.restart does on the simulator
  expect(request({ req: 'card.version' })).toMatchObject({ version: 'opencard-9.1.2' });
  expect(status('card')).toMatchObject({ mode: 'completed', status: 'firmware updated to 9.1.2' });
  await syncOnce();
  expect(await hubStatus('notecard', 'completed')).toMatchObject({ status: 'completed' });
  later();
  await running.hub.env.envDelete('device', card.deviceUID, '_fwc');
});

it('card.dfu records the outboard configuration and reports it', () => {
  expect(request({ req: 'card.dfu', name: 'stm32', on: true, seconds: 30 })).toEqual({ name: 'stm32', on: true, seconds: 30 });
  expect(request({ req: 'card.dfu' })).toEqual({ name: 'stm32', on: true, seconds: 30 });
  expect(request({ req: 'card.dfu', off: true, name: 'mcuboot', mode: 'altdfu' })).toEqual({ name: 'mcuboot', on: false, seconds: 30, mode: 'altdfu' });
  expect(request({ req: 'card.dfu', name: 'avr' })).toMatchObject({ err: expect.stringContaining('{bad-arg}') });
  expect(request({ req: 'card.dfu', name: '-' })).toEqual({ on: false, seconds: 30, mode: 'altdfu' });
  expect(request({ req: 'dfu.status', name: 'other' })).toMatchObject({ err: expect.stringContaining('{bad-arg}') });
});
