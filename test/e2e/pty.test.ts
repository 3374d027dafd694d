// The simulator as a real process on a real pseudo-terminal, driven the way note-python and
// note-c drive a Notecard: resync handshake, 250-byte segments with pauses, crc on and off,
// \r\n and \n endings, cmd without reply, id echo, and a 700-byte binary round trip.
import * as path from 'path';
import { SerialPort } from 'serialport';
import { md5Hex } from '../../src/util/md5';
import { cobsDecode, cobsEncode } from '../../src/wire/cobs';
import { HostClient, LineIo } from '../support/host-client';
import { SimProcess, startSim, tempDir } from '../support/sim-process';

let sim: SimProcess;
let port: SerialPort;
let client: HostClient;
let link: string;

beforeAll(async () => {
  link = path.join(tempDir('opencard-pty-'), 'notecard');
  sim = await startSim(['--pty', link]);
  port = new SerialPort({ path: link, baudRate: 9600, autoOpen: false });
  await new Promise<void>((ok, fail) => port.open((e) => (e ? fail(e) : ok())));
  let received: Buffer[] = [];
  port.on('data', (d: Buffer) => received.push(d));
  const io: LineIo = {
    write: (b) => void port.write(b),
    take: () => {
      const all = Buffer.concat(received);
      received = [];
      return all;
    },
  };
  client = new HostClient(io);
});

afterAll(async () => {
  await new Promise<void>((ok) => (port?.isOpen ? port.close(() => ok()) : ok()));
  expect(await sim.stop('SIGTERM')).toBe(0);
});

it('prints the pty device and keeps a symlink to it', () => {
  expect(sim.where).toMatch(new RegExp(`^${link} -> /dev/pts/\\d+$`));
});

it('answers the resync newline with CR/LF only', async () => {
  const got = await client.resync();
  expect(got.length).toBeGreaterThan(0);
  expect([...got].every((b) => b === 13 || b === 10)).toBe(true);
});

it('serves crc transactions with \\n (note-python) and \\r\\n (note-c) endings', async () => {
  client.ending = '\n';
  expect((await client.transaction({ req: 'card.version' })).device).toBe(sim.device);
  client.ending = '\r\n';
  expect(await client.transaction({ req: 'hub.set', product: 'com.example:pty', body: { agent: 'note-c' } })).toEqual({});
  expect((await client.transaction({ req: 'hub.get' }, { crc: false })).product).toBe('com.example:pty');
});

it('reassembles a long request sent in 250-byte segments with 250 ms pauses', async () => {
  const text = 'S'.repeat(600);
  const t0 = Date.now();
  expect(await client.transaction({ req: 'note.add', file: 'paced.db', note: 'p', body: { text } })).toEqual({ total: 1 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(500); // it really was paced
  expect((await client.transaction({ req: 'note.get', file: 'paced.db', note: 'p' })).body).toEqual({ text });
});

it('sends nothing for cmd and echoes id', async () => {
  await client.send(Buffer.from('{"cmd":"hub.set","mode":"minimum"}\n'));
  const reply = await client.transaction({ req: 'hub.get', id: 99 }, { crc: false });
  expect(reply.id).toBe(99);
  expect(reply.mode).toBe('minimum'); // the first line back answers the req, not the cmd
});

it('answers card.binary.get on an empty buffer with an error hosts return, not {bad-bin} (a failed transfer to note-python and note-c)', async () => {
  expect(await client.transaction({ req: 'card.binary', delete: true })).toMatchObject({ length: 0 });
  const reply = await client.transaction({ req: 'card.binary.get' });
  expect(reply.err).toContain('{bad-arg}');
  expect(reply.err).not.toContain('{bad-bin}');
  // no binary line follows: the next transaction is answered in turn
  expect(await client.transaction({ req: 'card.binary' })).toMatchObject({ length: 0 });
});

it('round-trips 700 binary bytes containing \\n and 0x00', async () => {
  const data = Buffer.from(Array.from({ length: 700 }, (_, i) => (i % 9 === 0 ? 10 : i % 11 === 0 ? 0 : (i * 13) & 0xff)));
  const encoded = Buffer.from(cobsEncode(data));
  expect(encoded.includes(10)).toBe(false);
  expect(await client.transaction({ req: 'card.binary', delete: true })).toMatchObject({ length: 0 });
  expect(await client.transaction({ req: 'card.binary.put', cobs: encoded.length, status: md5Hex(data) })).toEqual({});
  await client.send(Buffer.concat([encoded, Buffer.from('\n')]));
  const info = await client.transaction({ req: 'card.binary' });
  expect(info).toMatchObject({ length: 700, cobs: encoded.length, status: md5Hex(data) });
  expect(info.err).toBeUndefined();
  const got = await client.transaction({ req: 'card.binary.get', offset: 0, length: 700 }, { crc: false });
  expect(got.status).toBe(md5Hex(data));
  const raw = await client.readLine();
  const decoded = cobsDecode(raw.subarray(0, raw.length - 1));
  expect(decoded && Buffer.from(decoded).equals(data)).toBe(true);
});
