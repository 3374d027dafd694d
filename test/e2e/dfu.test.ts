// Host firmware update end to end with real processes: a 1 MiB image uploaded through the hub's
// HTTP API, requested for the device, downloaded by the simulated card through a link that is cut
// ten times mid-transfer, then read by a host script over the pty with dfu.get in 256-byte chunks.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { SerialPort } from 'serialport';
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import { SimProcess, startSim, tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** A TCP relay between the card and the hub's device port that can cut a connection after N bytes down. */
class Relay {
  readonly server: net.Server;
  cutAfter: number | undefined;
  /** Bytes each connection carried down (hub -> card), and whether it was cut. */
  readonly connections: { down: number; cut: boolean }[] = [];
  #cutDone: (() => void) | undefined;

  constructor(target: number) {
    this.server = net.createServer((card) => {
      const hub = net.connect(target, '127.0.0.1');
      const rec = { down: 0, cut: false };
      this.connections.push(rec);
      const limit = this.cutAfter;
      this.cutAfter = undefined;
      card.on('data', (d) => hub.write(d));
      hub.on('data', (d: Buffer) => {
        if (rec.cut) return;
        if (limit !== undefined && rec.down + d.length >= limit) {
          rec.cut = true;
          // exactly `limit` bytes reach the card, then the line goes (destroy would drop what
          // is still queued in this socket: bytes counted as down that never arrived)
          card.end(d.subarray(0, limit - rec.down));
          rec.down = limit;
          hub.destroy();
          this.#cutDone?.();
          return;
        }
        rec.down += d.length;
        card.write(d);
      });
      // after a cut the card's side ends on its own once the bytes before the cut went out
      const end = () => { if (!rec.cut) card.destroy(); hub.destroy(); };
      card.on('close', end).on('error', end);
      hub.on('close', end).on('error', end);
    });
  }

  listen(): Promise<number> {
    return new Promise((ok) => this.server.listen(0, '127.0.0.1', () => ok((this.server.address() as net.AddressInfo).port)));
  }

  /** The next connection dies after `bytes` down; resolves when it has. */
  cutNext(bytes: number): Promise<void> {
    this.cutAfter = bytes;
    return new Promise((ok) => { this.#cutDone = ok; });
  }
}

/** The host's side of the serial line, note-python style: one JSON request per line, one reply line. */
class HostScript {
  #port: SerialPort;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;

  constructor(port: SerialPort) {
    this.#port = port;
    port.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
  }

  async transaction(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.#port.write(JSON.stringify(req) + '\n');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const nl = this.#buf.indexOf(10);
      if (nl >= 0) {
        const line = this.#buf.subarray(0, nl + 1).toString('utf8');
        this.#buf = this.#buf.subarray(nl + 1);
        if (line.trim() === '') continue;
        return JSON.parse(line) as Record<string, unknown>;
      }
      if (Date.now() > deadline) throw new Error(`no reply to ${JSON.stringify(req)}`);
      await new Promise<void>((ok) => {
        this.#wake = ok;
        setTimeout(ok, 100);
      });
    }
  }

  /** What a host does for an IAP update: wait for ready, enter DFU mode, read the image in chunks, check it, report. */
  async readImage(chunk: number): Promise<{ image: Buffer; body: Record<string, unknown> }> {
    expect(await this.transaction({ req: 'hub.set', mode: 'dfu' })).toEqual({});
    expect(await this.transaction({ req: 'dfu.get', length: 0 })).toEqual({});
    const parts: Buffer[] = [];
    let body: Record<string, unknown> = {};
    let length = Infinity;
    for (let offset = 0; offset < length; offset += chunk) {
      const r = await this.transaction({ req: 'dfu.get', length: chunk, offset });
      if (r.err) throw new Error(String(r.err));
      if (offset === 0) {
        body = r.body as Record<string, unknown>;
        length = Number(body.length);
      }
      parts.push(Buffer.from(String(r.payload), 'base64'));
    }
    return { image: Buffer.concat(parts), body };
  }
}

let dir: string;
let hub: Spawned;
let relay: Relay;
let sim: SimProcess;
let port: SerialPort;
let host: HostScript;

beforeAll(async () => {
  dir = hubDir('dfu-e2e');
  hub = await spawnHub(dir);
  relay = new Relay(hub.devicePort);
  const relayPort = await relay.listen();
  const link = path.join(tempDir('opencard-dfu-pty-'), 'notecard');
  sim = await startSim(['--pty', link, '--hub-host', `127.0.0.1:${relayPort}`, '--log-level', 'info']);
  port = new SerialPort({ path: link, baudRate: 115200, autoOpen: false });
  await new Promise<void>((ok, fail) => port.open((e) => (e ? fail(e) : ok())));
  host = new HostScript(port);
  expect(await host.transaction({ req: 'hub.set', product: hub.productUID, mode: 'minimum' })).toEqual({});
}, 60_000);

afterAll(async () => {
  await new Promise<void>((ok) => (port?.isOpen ? port.close(() => ok()) : ok()));
  await sim?.stop();
  await hub?.stop();
  await new Promise((ok) => relay?.server.close(ok));
  removeDir(dir);
});

/** hub.sync, then wait until the card is no longer syncing. */
async function sync(): Promise<void> {
  await host.transaction({ req: 'hub.sync' });
  for (let i = 0; i < 3000; i++) {
    const s = await host.transaction({ req: 'hub.sync.status' });
    if (!s.sync) return;
    await sleep(10);
  }
  throw new Error('the sync did not end');
}

const got = (s: Record<string, unknown>): number => Number((/\((\d+)\/\d+\)/.exec(String(s.status)) ?? [])[1] ?? 0);

it('delivers a 1 MiB host image through 10 cut links, to a host reading 256-byte chunks, and the hub shows completed', async () => {
  const image = randomBytes(1024 * 1024);
  const base = `${hub.url}/v1/projects/${hub.projectUID}`;
  const put = await call(`${base}/firmware/host/app.bin?version=2.1.0&notes=release`, hub.token, 'PUT', new Uint8Array(image), { 'Content-Type': 'application/octet-stream' });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ filename: expect.stringMatching(/^app\$\d{14}\.bin$/), MD5: md5(image), length: image.length, crc32: expect.any(Number) });
  await sync(); // the hub learns the device
  const up = await call(`${base}/dfu/host/update?deviceUID=${encodeURIComponent(sim.device)}`, hub.token, 'POST', { filename: 'app.bin' });
  expect(up.body).toEqual({ devices: [sim.device] });

  // ten interruptions, each after ~50 KB down: the card keeps every verified chunk
  const resent: number[] = [];
  let before = 0;
  for (let cut = 0; cut < 10; cut++) {
    const cutDone = relay.cutNext(50_000 + 997 * cut);
    await host.transaction({ req: 'hub.sync' });
    await cutDone;
    await sleep(50);
    const s = await host.transaction({ req: 'dfu.status', name: 'user' });
    expect(s).toMatchObject({ mode: 'downloading', on: true, status: expect.stringMatching(/^downloaded \d+% \(\d+\/1048576\)$/) });
    const after = got(s);
    expect(after).toBeGreaterThan(before);
    const down = relay.connections[relay.connections.length - 1].down;
    resent.push(down - (after - before));
    before = after;
  }
  // bytes that came down but were not kept: the chunk on the wire at the cut, plus handshake and framing
  console.log(`bytes re-sent per interruption: ${resent.join(', ')}`);
  for (const r of resent) expect(r).toBeLessThan(2048 + 2048);

  const t0 = Date.now();
  for (let i = 0; i < 20 && (await host.transaction({ req: 'dfu.status' })).mode !== 'ready'; i++) await sync();
  const ready = await host.transaction({ req: 'dfu.status', name: 'user' });
  console.log(`rest of the download (${image.length - before} bytes): ${Date.now() - t0} ms`);
  expect(ready).toMatchObject({ mode: 'ready', status: 'successfully downloaded', on: true,
    body: { md5: md5(image), length: image.length, source: 'app.bin', name: put.body.filename, notes: 'release', type: 'firmware' } });
  // the simulator logged progress every 10%
  for (const p of [10, 50, 90]) expect(sim.stderr()).toMatch(new RegExp(`dfu: user image \\S+ downloaded ${p}% `));

  const { image: read, body } = await host.readImage(256);
  expect(body).toMatchObject({ md5: md5(image) });
  expect(md5(read)).toBe(md5(image));

  expect(await host.transaction({ req: 'dfu.status', name: 'user', stop: true, status: 'firmware update successful' }))
    .toMatchObject({ mode: 'completed', status: 'firmware update successful' });
  expect(await host.transaction({ req: 'hub.set', mode: 'minimum' })).toEqual({});
  await sync();
  let st: Record<string, unknown> = {};
  for (let i = 0; i < 100 && st.status !== 'completed'; i++, await sleep(20)) {
    st = (await call(`${base}/devices/${encodeURIComponent(sim.device)}/dfu/host/status`, hub.token)).body;
  }
  expect(st).toMatchObject({ status: 'completed', description: 'firmware update successful', filename: put.body.filename });
  const phases = (st.history as { status: string }[]).map((h) => h.status);
  expect(phases[0]).toBe('pending');
  expect(phases).toEqual(expect.arrayContaining(['downloading', 'ready', 'completed']));
  const device = (await call(`${base}/devices/${encodeURIComponent(sim.device)}`, hub.token)).body;
  expect(device.dfu).toMatchObject({ user: { mode: 'completed', file: put.body.filename, length: image.length, read: image.length } });
}, 180_000);
