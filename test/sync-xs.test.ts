// The sync codec, crypto and handshake under the XS engine give the same bytes as under Node.
import * as path from 'path';

import { XsEngine } from './xs/xsnap';

/** One script for both engines: defines globalThis.__syncCheck() returning a text digest of the run. */
const SCRIPT = `
globalThis.__syncCheck = function () {
  const S = load('src/sync/index');
  const C = load('src/crypto/index');
  const U = load('src/util/utf8');
  const out = [];
  const key = new Uint8Array(32).map((_, i) => i + 0x80);
  out.push(C.toHex(C.aeadSeal(key, C.fromHex('070000004041424344454647'), U.utf8Encode('sunscreen'), C.fromHex('5051'))));
  out.push(C.toHex(C.hkdfSha256(key, key.subarray(0, 13), U.utf8Encode('info'), 42)));
  const notes = [];
  for (let i = 0; i < 100; i++) notes.push({ counter: i + 1, time: 1763683200 + i * 60, body: { temp: 20 + (i % 50) / 10, humidity: 30 + (i % 40), seq: i, v: -i * 0.25 } });
  const fit = S.fitNotes('sensors.qo', 0, 100, notes);
  out.push(C.toHex(fit.content));
  const back = S.decodeMessage(0x20, fit.content);
  out.push(JSON.stringify(back.notes) === JSON.stringify(notes) ? 'notes round-trip' : 'NOTES DIFFER');
  const rnd = { bytes: (n) => new Uint8Array(n).fill(7) };
  const secret = new Uint8Array(32).fill(1);
  const card = new S.CardSession({ uid: 'dev:1', sn: '', product: 'p', secret, cardEpoch: new Uint8Array(8), random: rnd, mayProvision: false });
  const hub = new S.HubSession({ hubEpoch: new Uint8Array(8).fill(2), random: rnd, now: () => 5, lookup: () => ({ status: 'known', secret, project: 'app:1' }) });
  let toHub = [card.start()];
  const wire = [];
  for (let round = 0; round < 4 && toHub.length; round++) {
    const toCard = [];
    for (const b of toHub) { wire.push(C.toHex(b)); toCard.push(...hub.receive(b).send); }
    toHub = [];
    for (const b of toCard) { wire.push(C.toHex(b)); toHub.push(...card.receive(b).send); }
  }
  const secure = card.send({ type: 'notes', name: 'vault.qos', since: 0, until: 1, notes: [{ counter: 1, time: 9, body: { pin: 4711 } }] });
  wire.push(C.toHex(secure));
  const got = hub.receive(secure).events[0];
  out.push(wire.join(' '), card.state, hub.state, got.type + ':' + got.encrypted + ':' + JSON.stringify(got.message.notes[0].body));
  const bad = secure.slice(); bad[5] ^= 1;
  const h2 = hub; // same session, next frame: tampered -> failed
  out.push(h2.receive(bad).events.map((e) => e.type + ':' + e.code).join());
  return out.join('\\n');
};`;

describe('sync under XS', () => {
  it('produces exactly the bytes Node produces (crypto, notes frame, handshake, sealed secure note)', async () => {
    const dist = path.resolve(__dirname, '..');
    const nodeLoad = (id: string): unknown => require(path.join(dist, id));
    const onNode = new Function('load', `${SCRIPT}; return globalThis.__syncCheck();`)(nodeLoad) as string;
    const xs = new XsEngine();
    try {
      await xs.loadCore();
      const r = await xs.evaluate(`${SCRIPT}; load('src/util/utf8').utf8Encode(globalThis.__syncCheck()).buffer`);
      const onXs = Buffer.from(r.result).toString();
      expect(onXs).toBe(onNode);
      expect(onNode).toContain('notes round-trip');
      expect(onNode).toContain('established\nestablished\nmessage:true:{"pin":4711}\nfailed:auth');
    } finally {
      xs.close();
    }
  });
});
