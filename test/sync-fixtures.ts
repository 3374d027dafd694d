// Shared sample messages for the sync codec tests: one of every type, with fixed bytes.
import type { SyncMessage } from '../src/sync/messages';

const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

export const SAMPLE_MESSAGES: SyncMessage[] = [
  { type: 'hello', version: 1, uid: 'dev:864475044215258', sn: 'lab-7', product: 'com.example:weather', cardEpoch: seq(1, 8), cardNonce: seq(0x10, 16), features: 1, maxFrame: 4096 },
  { type: 'challenge', version: 1, hubEpoch: seq(0xa0, 8), hubNonce: seq(0x20, 16), provision: true, maxFrame: 4096 },
  { type: 'provision', secret: seq(0x40, 32) },
  { type: 'auth', proof: seq(0x60, 32) },
  { type: 'welcome', proof: seq(0x80, 32), time: 1763683200123, project: 'app:1234', cardReset: false, features: 1 },
  { type: 'refuse', code: 'auth', text: 'device disabled' },
  { type: 'resume', version: 1, uid: 'dev:864475044215258', sn: 'lab-7', product: 'com.example:weather', cardEpoch: seq(1, 8), cardNonce: seq(0x10, 16), features: 0x30, maxFrame: 4096, ticket: seq(0xc0, 16) },
  { type: 'resumed', hubNonce: seq(0x20, 16), proof: seq(0x80, 32), time: 1763683200123, project: 'app:1234', features: 0x30 },
  { type: 'challenge', version: 1, hubEpoch: seq(0xa0, 8), hubNonce: seq(0x20, 16), provision: false, maxFrame: 4096, pipeline: true },
  { type: 'catalog', more: false, envModified: 1763683000, files: [
    { name: 'sensors.qo', template: 0x1234abcd, downUntil: 0, pending: 3 },
    { name: 'data.qi', template: 0, downUntil: 17, pending: 0 },
  ] },
  { type: 'catalogReply', more: false, files: [
    { name: 'sensors.qo', upUntil: 41, needTemplate: true, pending: 0 },
    { name: 'data.qi', upUntil: 0, needTemplate: false, pending: 2 },
  ] },
  { type: 'template', name: 'sensors.qo', version: 0x1234abcd, definition: Uint8Array.from(Buffer.from('{"body":{"t":14.1}}')) },
  { type: 'notes', name: 'sensors.qo', since: 41, until: 44, notes: [
    { counter: 42, time: 1763683201, body: { temp: 21.5, humidity: 40, ok: true } },
    { counter: 44, time: 1763683202, body: { temp: -3.25, humidity: 41, ok: false, tag: 'x' }, payload: Uint8Array.of(1, 2, 3) },
  ] },
  { type: 'notes', name: 'config.db', since: 0, until: 3, notes: [
    { counter: 1, time: 100, id: 'a', record: Uint8Array.of(9, 8, 7, 6) },
    { counter: 3, time: 100, id: 'b', deleted: true },
  ] },
  { type: 'ack', name: 'sensors.qo', until: 44 },
  { type: 'done' },
  { type: 'env', modified: 1763683100, vars: { interval: '60', mode: 'eco' } },
  { type: 'skip', name: 'my.qo', text: 'bad template' },
  { type: 'ping', token: 300 },
  { type: 'pong', token: 300 },
  { type: 'close' },
  { type: 'web', id: 1, method: 'GET', route: 'weather', name: '/now?id=1', content: 'application/json', seconds: 90, offset: 0, total: 0, max: 4096, status: '', more: false, body: new Uint8Array(0) },
  { type: 'webReply', id: 1, result: 200, content: 'application/json', error: false, more: true, body: new Uint8Array(0) },
  { type: 'signal', body: Uint8Array.from(Buffer.from('{"body":{"led":"on"}}')) },
  { type: 'fwQuery', kind: 'user', name: 'app$20200903200351.bin' },
  { type: 'fwInfo', kind: 'user', name: 'app.bin', error: '', body: { length: 42892, md5: '5a3f73a7f1b4bc8917b12b36c2532969' } },
  { type: 'fwGet', kind: 'card', name: 'c.bin', offset: 4096, length: 2048 },
  { type: 'fwData', kind: 'user', name: 'a', offset: 2048, crc: 0x352441c2, data: Uint8Array.from([0x61, 0x62, 0x63]) },
  { type: 'fwStatus', kind: 'user', name: 'a', mode: 'ready', text: 'ok', version: '1.2' },
];
