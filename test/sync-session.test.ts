import * as nodeCrypto from 'node:crypto';
import { CardSession, HubSession, type DeviceLookup, type SessionEvent, type SessionOutput, type CardSessionOptions } from '../src/sync/session';
import { deriveSessionKeys, handshakeProof, transcriptHash } from '../src/sync/keys';
import { FrameReader, FrameSealer } from '../src/sync/frame';
import { decodeMessage, FEATURE_CONTINUOUS, FEATURE_ENCRYPT_ALL, type HelloMessage, type NotesMessage } from '../src/sync/messages';
import { toHex } from '../src/crypto';

const random = { bytes: (n: number) => Uint8Array.from(nodeCrypto.randomBytes(n)) };
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const CARD_EPOCH = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const HUB_EPOCH = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
const NOW = 1763683200123;

function card(over: Partial<CardSessionOptions> = {}): CardSession {
  return new CardSession({ uid: 'dev:123', sn: 'lab', product: 'com.example:p', secret: SECRET, cardEpoch: CARD_EPOCH, random, mayProvision: false, ...over });
}

function hub(lookup: (h: HelloMessage) => DeviceLookup, features?: number): HubSession {
  return new HubSession({ hubEpoch: HUB_EPOCH, random, now: () => NOW, lookup, features });
}

const known = (over: Partial<Extract<DeviceLookup, { status: 'known' }>> = {}): DeviceLookup =>
  ({ status: 'known', secret: SECRET, project: 'app:1', cardEpoch: CARD_EPOCH, ...over });

interface Run { cardEvents: SessionEvent[]; hubEvents: SessionEvent[]; toHub: Uint8Array[]; toCard: Uint8Array[] }

/** Pump bytes between the two sides until quiet; `chunk` delivers in pieces of that size. */
function handshake(c: CardSession, h: HubSession, chunk = 0): Run {
  const run: Run = { cardEvents: [], hubEvents: [], toHub: [c.start()], toCard: [] };
  const deliver = (side: CardSession | HubSession, bytes: Uint8Array): SessionOutput => {
    if (!chunk) return side.receive(bytes);
    const all: SessionOutput = { send: [], events: [] };
    for (let at = 0; at < bytes.length; at += chunk) {
      const o = side.receive(bytes.subarray(at, at + chunk));
      all.send.push(...o.send);
      all.events.push(...o.events);
    }
    return all;
  };
  let pendingHub = [...run.toHub];
  for (let round = 0; round < 10 && pendingHub.length; round++) {
    const pendingCard: Uint8Array[] = [];
    for (const b of pendingHub) {
      const o = deliver(h, b);
      run.hubEvents.push(...o.events);
      pendingCard.push(...o.send);
    }
    run.toCard.push(...pendingCard);
    pendingHub = [];
    for (const b of pendingCard) {
      const o = deliver(c, b);
      run.cardEvents.push(...o.events);
      pendingHub.push(...o.send);
    }
    run.toHub.push(...pendingHub);
  }
  return run;
}

const types = (events: SessionEvent[]) => events.map((e) => (e.type === 'failed' || e.type === 'refused' ? `${e.type}:${e.code}` : e.type));

describe('sync session handshake', () => {
  it('establishes a known device, both sides agree, hub time and project come down', () => {
    const c = card({ features: FEATURE_CONTINUOUS });
    const h = hub(() => known());
    const run = handshake(c, h);
    expect(types(run.hubEvents)).toEqual(['established']);
    expect(types(run.cardEvents)).toEqual(['established']);
    expect(c.state).toBe('established');
    const info = run.cardEvents[0].type === 'established' ? run.cardEvents[0].info : undefined;
    expect(info).toMatchObject({ uid: 'dev:123', time: NOW, project: 'app:1', cardReset: false, provisioned: false, features: FEATURE_CONTINUOUS });
    expect(toHex(info!.hubEpoch)).toBe(toHex(HUB_EPOCH));
    expect(h.info?.secret).toBeUndefined();
    expect(run.toHub.length).toBe(2); // HELLO, AUTH
    expect(run.toCard.length).toBe(2); // CHALLENGE, WELCOME
  });

  it('works the same when every byte arrives on its own', () => {
    const run = handshake(card(), hub(() => known()), 1);
    expect(types(run.hubEvents)).toEqual(['established']);
    expect(types(run.cardEvents)).toEqual(['established']);
  });

  it('carries notes both ways once established; secure notefiles encrypted, others authenticated in clear', () => {
    const c = card();
    const h = hub(() => known());
    handshake(c, h);
    const up: NotesMessage = { type: 'notes', name: 'sensors.qos', since: 0, until: 1, notes: [{ counter: 1, time: 5, body: { secret: 'pin-4711' } }] };
    const upBytes = c.send(up);
    expect(Buffer.from(upBytes).includes(Buffer.from('pin-4711'))).toBe(false);
    expect(h.receive(upBytes).events).toEqual([{ type: 'message', message: up, encrypted: true }]);
    const down: NotesMessage = { type: 'notes', name: 'data.qi', since: 0, until: 2, notes: [{ counter: 2, time: 6, id: 'n1', body: { on: true } }] };
    expect(c.receive(h.send(down)).events).toEqual([{ type: 'message', message: down, encrypted: false }]);
    expect(c.receive(h.send({ type: 'close' })).events).toEqual([{ type: 'closed' }]);
    expect(c.state).toBe('closed');
  });

  it('encrypts everything when encrypt-all is granted', () => {
    const c = card({ features: FEATURE_ENCRYPT_ALL });
    const h = hub(() => known());
    handshake(c, h);
    const bytes = c.send({ type: 'notes', name: 'plain.qo', since: 0, until: 1, notes: [{ counter: 1, time: 5, body: { visible: 'no-no' } }] });
    expect(Buffer.from(bytes).includes(Buffer.from('no-no'))).toBe(false);
    expect(h.receive(bytes).events[0]).toMatchObject({ type: 'message', encrypted: true });
  });

  it('provisions an unknown device on first contact (TOFU) and hands the hub the secret to record', () => {
    const c = card({ mayProvision: true });
    const h = hub(() => ({ status: 'provision', project: 'app:new' }));
    const run = handshake(c, h);
    expect(types(run.hubEvents)).toEqual(['established']);
    expect(types(run.cardEvents)).toEqual(['established']);
    expect(toHex(h.info!.secret!)).toBe(toHex(SECRET));
    expect(h.info).toMatchObject({ provisioned: true, project: 'app:new', uid: 'dev:123' });
  });

  it('never sends the secret when provisioning is not allowed on the card', () => {
    const c = card({ mayProvision: false });
    const h = hub(() => ({ status: 'provision', project: 'app:new' }));
    const run = handshake(c, h);
    expect(types(run.cardEvents)).toEqual(['failed:auth']);
    expect(types(run.hubEvents)).toEqual(['refused:auth']);
    expect(run.toHub.some((b) => Buffer.from(b).includes(Buffer.from(SECRET)))).toBe(false);
    expect(h.info).toBeUndefined();
  });

  it('refuses a wrong secret with {auth}: nothing established on either side', () => {
    const c = card({ secret: Uint8Array.from(SECRET, (x) => x ^ 0x55) });
    const h = hub(() => known());
    const run = handshake(c, h);
    expect(types(run.hubEvents)).toEqual(['failed:auth']);
    expect(types(run.cardEvents)).toEqual(['refused:auth']);
    expect(h.info).toBeUndefined();
    expect(h.state).toBe('failed');
  });

  it('refuses a disabled device or unknown product right after HELLO', () => {
    for (const code of ['auth', 'product'] as const) {
      const h = hub(() => ({ status: 'refuse', code, text: 'no' }));
      const run = handshake(card(), h);
      expect(types(run.cardEvents)).toEqual([`refused:${code}`]);
      expect(types(run.hubEvents)).toEqual([`failed:${code}`]);
      expect(run.toCard.length).toBe(1);
    }
  });

  it('refuses a replayed handshake: recorded card frames fail against a fresh hub nonce', () => {
    const first = handshake(card(), hub(() => known()));
    const replayHub = hub(() => known());
    const events: SessionEvent[] = [];
    for (const b of first.toHub) events.push(...replayHub.receive(b).events);
    expect(types(events)).toEqual(['failed:auth']);
    expect(replayHub.info).toBeUndefined();
  });

  it('refuses a replayed hub: a recorded CHALLENGE + WELCOME fail against a fresh card nonce', () => {
    const first = handshake(card(), hub(() => known()));
    const c = card();
    c.start();
    const events: SessionEvent[] = [];
    for (const b of first.toCard) events.push(...c.receive(b).events);
    expect(types(events)).toEqual(['failed:auth']);
    expect(c.state).toBe('failed');
  });

  it('refuses a tampered encrypted note: the hub reports failure and delivers nothing', () => {
    const c = card();
    const h = hub(() => known());
    handshake(c, h);
    const bytes = c.send({ type: 'notes', name: 'vault.dbs', since: 0, until: 1, notes: [{ counter: 1, time: 1, id: 'k', body: { v: 1 } }] });
    for (const at of [3, bytes.length - 20, bytes.length - 1]) {
      const c2 = card();
      const h2 = hub(() => known());
      handshake(c2, h2);
      const b2 = c2.send({ type: 'notes', name: 'vault.dbs', since: 0, until: 1, notes: [{ counter: 1, time: 1, id: 'k', body: { v: 1 } }] });
      const bad = b2.slice();
      bad[at] ^= 0x01;
      const out = h2.receive(bad);
      expect(types(out.events)).toEqual(['failed:auth']);
      expect(out.events.some((e) => e.type === 'message')).toBe(false);
    }
    expect(h.receive(bytes).events[0].type).toBe('message');
  });

  it('refuses a secure notefile sent in clear, even correctly sealed', () => {
    const c = card();
    const h = hub(() => known());
    const run = handshake(c, h);
    // Rebuild the session keys from the captured handshake, as a rogue card holding the secret would.
    const hello = new FrameReader().push(run.toHub[0])[0];
    const challenge = new FrameReader().push(run.toCard[0])[0];
    const cardNonce = (decodeMessage(hello.type, hello.body) as HelloMessage).cardNonce;
    const hubNonce = (decodeMessage(challenge.type, challenge.body) as { hubNonce: Uint8Array }).hubNonce;
    const keys = deriveSessionKeys(SECRET, 'dev:123', cardNonce, hubNonce);
    const rogue = new FrameSealer(keys.upKey);
    const out = h.receive(rogue.sealMessage({ type: 'notes', name: 'vault.qos', since: 0, until: 1, notes: [{ counter: 1, time: 1 }] }, false));
    expect(types(out.events)).toEqual(['failed:protocol']);
  });

  it('flags a card reset when the cardEpoch differs from the one the hub stored', () => {
    const h = hub(() => known({ cardEpoch: Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1) }));
    const run = handshake(card(), h);
    expect(h.info?.cardReset).toBe(true);
    expect(run.cardEvents[0]).toMatchObject({ type: 'established', info: { cardReset: true } });
  });

  it('refuses a stream that does not begin with HELLO (e.g. an HTTP client on the device port)', () => {
    const h = hub(() => known());
    const out = h.receive(Uint8Array.from(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + ' '.repeat(80))));
    expect(types(out.events)).toEqual(['failed:protocol']);
    expect(out.send.length).toBe(1);
  });

  it('derives keys and proofs as specified (cross-checked with node:crypto)', () => {
    const cardNonce = Uint8Array.from({ length: 16 }, (_, i) => i);
    const hubNonce = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i);
    const keys = deriveSessionKeys(SECRET, 'dev:123', cardNonce, hubNonce);
    const okm = Buffer.from(nodeCrypto.hkdfSync('sha256', SECRET, Buffer.concat([cardNonce, hubNonce]), Buffer.from('opencard sync v1dev:123'), 96));
    expect(toHex(keys.authKey) + toHex(keys.upKey) + toHex(keys.downKey)).toBe(okm.toString('hex'));
    const transcript = transcriptHash(Uint8Array.of(1, 2), Uint8Array.of(3));
    expect(toHex(transcript)).toBe(nodeCrypto.createHash('sha256').update(Uint8Array.of(1, 2, 3)).digest('hex'));
    expect(toHex(handshakeProof(keys.authKey, 'card', transcript)))
      .toBe(nodeCrypto.createHmac('sha256', keys.authKey).update('card').update(transcript).digest('hex'));
  });
});
