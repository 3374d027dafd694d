// The sync session handshake for both roles (docs/SYNC.md section 3), as pure state machines:
// bytes in -> frames to send + events out. No timers, no sockets: the engine (card) and the
// device listener (hub) own the transport and the clock and feed bytes in.
import type { Random } from '../host';
import { constantTimeEqual } from '../crypto/constant-time';
import { FrameError } from './varint-io';
import { FrameOpener, FrameReader, FrameSealer, MAX_FRAME, encodePlain, type Frame } from './frame';
import {
  decodeMessage, encodeMessage, isSecureNotefile, messageTypeOf, FEATURE_CONTINUOUS, FEATURE_ENCRYPT_ALL, FEATURE_SKIP, MESSAGE_TYPES,
  PROTOCOL_VERSION, type ChallengeMessage, type HelloMessage, type RefuseCode, type SyncMessage,
} from './messages';
import { FEATURE_DFU, FEATURE_PIPELINE, FEATURE_RESUME, type ResumeMessage, type ResumedMessage as ResumedMessageT } from './messages';
import { deriveSessionKeys, earlyKey, handshakeProof, sessionTicket, transcriptHash } from './keys';
import { sha256 } from '../crypto/sha256';

/** Messages a RESUME's early data may carry: idempotent for the hub (docs/SYNC.md section 3.1). */
const EARLY_TYPES: readonly string[] = Object.freeze(['catalog', 'template', 'notes', 'done']);

/** The ticket when both pipelining and tickets are granted. */
function ticketFor(features: number, authKey: Uint8Array, transcript: Uint8Array): { id: Uint8Array; secret: Uint8Array } | undefined {
  return (features & (FEATURE_RESUME | FEATURE_PIPELINE)) === (FEATURE_RESUME | FEATURE_PIPELINE) ? sessionTicket(authKey, transcript) : undefined;
}

export type SessionState = 'idle' | 'handshake' | 'established' | 'closed' | 'failed';

export type SessionEvent =
  | { type: 'established'; info: EstablishedInfo }
  /** Card: AUTH is out and the hub offered pipelining: frames may be sent before WELCOME
   * (docs/SYNC.md section 4.7). `hubEpoch` is CHALLENGE's, not yet authenticated. */
  | { type: 'keyed'; hubEpoch: Uint8Array }
  /** Card: the hub did not take the ticket and answered CHALLENGE: the early data is void, the
   * session goes on as a full handshake (the same connection). */
  | { type: 'restart' }
  | { type: 'message'; message: SyncMessage; encrypted: boolean }
  /** The peer refused us (REFUSE received). */
  | { type: 'refused'; code: RefuseCode; text: string }
  /** We stopped the session: bad frame, failed authentication, protocol violation (REFUSE sent when possible). */
  | { type: 'failed'; code: RefuseCode; reason: string }
  /** The peer ended the session gracefully (CLOSE). */
  | { type: 'closed' };

export interface EstablishedInfo {
  uid: string;
  /** Features granted for this session (FEATURE_* bits). */
  features: number;
  cardEpoch: Uint8Array;
  hubEpoch: Uint8Array;
  /** Hub time in unix ms, from WELCOME. */
  time: number;
  project: string;
  /** The hub saw another cardEpoch than it had stored: it reset its upUntil values. */
  cardReset: boolean;
  /** This session provisioned the device (trust on first use). */
  provisioned: boolean;
  /** The session resumed a ticket (no full handshake). */
  resumed?: boolean;
  /** FEATURE_RESUME granted: the ticket for the next session (both sides keep it, the hub durably). */
  ticket?: { id: Uint8Array; secret: Uint8Array };
}

export interface SessionOutput {
  /** Frames to write to the transport, in order. */
  send: Uint8Array[];
  events: SessionEvent[];
}

class ProtocolFailure extends Error {
  override name = 'ProtocolFailure';
  readonly code: RefuseCode;
  constructor(code: RefuseCode, reason: string) {
    super(reason);
    this.code = code;
  }
}

/** Shared plumbing: frame reading, sealing after the handshake, failure handling. */
abstract class Session {
  protected readonly reader: FrameReader;
  protected sealer: FrameSealer | undefined;
  protected opener: FrameOpener | undefined;
  /** Hub, resumed session: the opener of the card's frames after its early data. */
  protected afterEarly: FrameOpener | undefined;
  protected features = 0;
  /** Card: frames may be sealed before WELCOME (pipelining offered), and whether any were. */
  protected early = false;
  protected sentEarly = false;
  /** Card: RESUME sent, RESUMED or CHALLENGE not yet received. */
  protected resuming = false;
  protected readonly maxFrame: number;
  #state: SessionState = 'idle';

  constructor(maxFrame: number) {
    this.maxFrame = maxFrame;
    this.reader = new FrameReader(maxFrame);
  }

  get state(): SessionState {
    return this.#state;
  }

  protected set state(s: SessionState) {
    this.#state = s;
  }

  /** Feed bytes from the transport. */
  receive(bytes: Uint8Array): SessionOutput {
    const out: SessionOutput = { send: [], events: [] };
    if (this.#state === 'failed' || this.#state === 'closed') return out;
    try {
      for (const frame of this.reader.push(bytes)) {
        this.handle(frame, out);
        if (this.#over()) break;
      }
    } catch (e) {
      const failure = e instanceof ProtocolFailure ? e
        : e instanceof FrameError ? new ProtocolFailure(e.message.includes('authentication') ? 'auth' : 'protocol', e.message)
        : new ProtocolFailure('internal', e instanceof Error ? e.message : String(e));
      this.fail(failure, out);
    }
    return out;
  }

  #over(): boolean {
    return this.#state === 'failed' || this.#state === 'closed';
  }

  /** Frame bytes for a message once established: sealed, encrypted when the notefile is secure. */
  /** Seal `message`; `content`, when given, is its encoding already made (fitNotes). */
  send(message: SyncMessage, content?: Uint8Array): Uint8Array {
    const early = this.#state === 'handshake' && this.early;
    if ((this.#state !== 'established' && !early) || !this.sealer) throw new FrameError(`cannot send in state ${this.#state}`);
    if (early) this.sentEarly = true;
    if (early && this.resuming && EARLY_TYPES.indexOf(message.type) < 0) throw new FrameError(`${message.type} cannot go in early data`);
    // Web requests, their answers and signals cross to and from third parties: always encrypted.
    const secure = ((message.type === 'notes' || message.type === 'template') && isSecureNotefile(message.name))
      || message.type === 'web' || message.type === 'webReply' || message.type === 'signal';
    return this.sealer.seal(messageTypeOf(message), content ?? encodeMessage(message), secure || (this.features & FEATURE_ENCRYPT_ALL) !== 0);
  }

  /** The largest frame this side may send now (the smaller of both sides' limits once sealed). */
  get sendFrame(): number {
    return this.sealer?.maxFrame ?? this.maxFrame;
  }

  /** CLOSE, then the session is over. */
  close(): Uint8Array | undefined {
    const bytes = this.#state === 'established' ? this.send({ type: 'close' }) : undefined;
    this.#state = 'closed';
    return bytes;
  }

  protected abstract handle(frame: Frame, out: SessionOutput): void;

  protected fail(failure: ProtocolFailure, out: SessionOutput): void {
    const refuse: SyncMessage = { type: 'refuse', code: failure.code, text: failure.message };
    try {
      out.send.push(this.sealer && this.#state === 'established' ? this.sealer.sealMessage(refuse, false) : encodePlain(refuse));
    } catch {
      // nothing more can be said on this link
    }
    this.#state = 'failed';
    out.events.push({ type: 'failed', code: failure.code, reason: failure.message });
  }

  /** An established session's frame: open, check secure notefiles came encrypted, report. */
  protected established(frame: Frame, out: SessionOutput): void {
    const { message, encrypted } = this.opener!.openMessage(frame);
    if (this.afterEarly) {
      // a resumed session's early data: only idempotent messages, through the first DONE
      if (EARLY_TYPES.indexOf(message.type) < 0) throw new ProtocolFailure('protocol', `${message.type} in early data`);
      if (message.type === 'done') {
        this.opener = this.afterEarly;
        this.afterEarly = undefined;
      }
    }
    switch (message.type) {
      case 'notes':
      case 'template':
        if (isSecureNotefile(message.name) && !encrypted) throw new ProtocolFailure('protocol', `${message.name} sent in clear`);
        break;
      case 'refuse':
        this.state = 'failed';
        out.events.push({ type: 'refused', code: message.code, text: message.text });
        return;
      case 'close':
        this.state = 'closed';
        out.events.push({ type: 'closed' });
        return;
      case 'hello': case 'challenge': case 'provision': case 'auth': case 'welcome':
        throw new ProtocolFailure('protocol', `${message.type} after the handshake`);
      default:
        break;
    }
    out.events.push({ type: 'message', message, encrypted });
  }
}

/** A plain handshake frame: type byte must be the expected one (or REFUSE), no E bit. */
function plainMessage(frame: Frame, expected: number): SyncMessage {
  if (frame.type !== expected && frame.type !== MESSAGE_TYPES.refuse) {
    throw new ProtocolFailure('protocol', `unexpected frame type ${frame.type} during the handshake`);
  }
  return decodeMessage(frame.type, frame.body);
}

export interface CardSessionOptions {
  uid: string;
  sn: string;
  product: string;
  /** 32 bytes, created at first boot. */
  secret: Uint8Array;
  /** 8 bytes, drawn when the store was formatted. */
  cardEpoch: Uint8Array;
  random: Random;
  /** May the secret be sent if the hub asks to provision? (see docs/SYNC.md section 3) */
  mayProvision: boolean;
  /** FEATURE_* bits requested. */
  features?: number;
  maxFrame?: number;
  /** The ticket of the last session: open with RESUME, early data allowed at once. */
  resume?: { id: Uint8Array; secret: Uint8Array; hubEpoch: Uint8Array };
}

export class CardSession extends Session {
  readonly #o: CardSessionOptions;
  #hello: Uint8Array | undefined;
  #nonce: Uint8Array | undefined;
  #authKey: Uint8Array | undefined;
  #transcript: Uint8Array | undefined;
  #hubEpoch: Uint8Array | undefined;
  #provisioned = false;

  constructor(options: CardSessionOptions) {
    super(options.maxFrame ?? MAX_FRAME);
    this.#o = options;
  }

  /** The HELLO (or RESUME) frame that opens the session. After a RESUME, early data may be sent
   * at once and must end with DONE. */
  start(): Uint8Array {
    if (this.state !== 'idle') throw new FrameError('session already started');
    this.#nonce = this.#o.random.bytes(16);
    const hello: HelloMessage = {
      type: 'hello', version: PROTOCOL_VERSION, uid: this.#o.uid, sn: this.#o.sn, product: this.#o.product,
      cardEpoch: this.#o.cardEpoch, cardNonce: this.#nonce, features: this.#o.features ?? 0, maxFrame: this.maxFrame,
    };
    const r = this.#o.resume;
    const first: HelloMessage | ResumeMessage = r ? { ...hello, type: 'resume', ticket: r.id } : hello;
    this.#hello = encodeMessage(first);
    this.state = 'handshake';
    if (r) {
      this.resuming = this.early = true;
      this.sealer = new FrameSealer(earlyKey(r.secret, this.#hello), this.maxFrame);
    }
    return encodePlain(first);
  }

  /** Resuming: true until RESUMED (or the CHALLENGE of a fallback) arrives. */
  get resumingTicket(): boolean {
    return this.resuming;
  }

  protected handle(frame: Frame, out: SessionOutput): void {
    if (this.state === 'established') return this.established(frame, out);
    if (this.state !== 'handshake') throw new ProtocolFailure('protocol', 'frame before HELLO');
    if (!this.#authKey) {
      if (this.resuming && frame.type === MESSAGE_TYPES.resumed) return this.#resumed(decodeMessage(frame.type, frame.body) as ResumedMessageT, out);
      const m = plainMessage(frame, MESSAGE_TYPES.challenge);
      if (m.type === 'refuse') return this.#refused(m.code, m.text, out);
      if (this.resuming) {
        // the hub did not take the ticket: what went early is void, a full handshake follows
        this.resuming = this.early = this.sentEarly = false;
        out.events.push({ type: 'restart' });
      }
      this.#challenge(m as ChallengeMessage, frame.body, out);
      return;
    }
    // After AUTH: a plain REFUSE (the hub could not check our proof) or the sealed WELCOME.
    if (frame.type === MESSAGE_TYPES.refuse) {
      const m = decodeMessage(frame.type, frame.body);
      if (m.type === 'refuse') return this.#refused(m.code, m.text, out);
    }
    const { message } = this.opener!.openMessage(frame);
    if (message.type !== 'welcome') throw new ProtocolFailure('protocol', `expected WELCOME, got ${message.type}`);
    if (!constantTimeEqual(message.proof, handshakeProof(this.#authKey, 'hub', this.#transcript!))) {
      throw new ProtocolFailure('auth', 'hub proof does not match');
    }
    this.features = message.features & (this.#o.features ?? 0);
    if (this.sentEarly && !(this.features & FEATURE_PIPELINE)) throw new ProtocolFailure('protocol', 'the hub offered pipelining and did not grant it');
    this.state = 'established';
    const ticket = ticketFor(this.features, this.#authKey, this.#transcript!);
    out.events.push({
      type: 'established',
      info: {
        uid: this.#o.uid, features: this.features, cardEpoch: this.#o.cardEpoch, hubEpoch: this.#hubEpoch!,
        time: message.time, project: message.project, cardReset: message.cardReset, provisioned: this.#provisioned,
        ...(ticket ? { ticket } : {}),
      },
    });
  }

  /** RESUMED: the hub took the ticket; its proof is fresh (our nonce is in its key). */
  #resumed(m: ResumedMessageT, out: SessionOutput): void {
    const r = this.#o.resume!;
    const keys = deriveSessionKeys(r.secret, this.#o.uid, this.#nonce!, m.hubNonce, true);
    const transcript = sha256(this.#hello!, m.hubNonce);
    if (!constantTimeEqual(m.proof, handshakeProof(keys.authKey, 'hub', transcript))) throw new ProtocolFailure('auth', 'hub proof does not match');
    this.features = m.features & (this.#o.features ?? 0);
    this.resuming = this.early = false;
    this.sealer = new FrameSealer(keys.upKey, this.maxFrame);
    this.opener = new FrameOpener(keys.downKey);
    this.state = 'established';
    const ticket = ticketFor(this.features, keys.authKey, transcript);
    out.events.push({
      type: 'established',
      info: {
        uid: this.#o.uid, features: this.features, cardEpoch: this.#o.cardEpoch, hubEpoch: r.hubEpoch,
        time: m.time, project: m.project, cardReset: false, provisioned: false, resumed: true, ...(ticket ? { ticket } : {}),
      },
    });
  }

  #challenge(m: ChallengeMessage, content: Uint8Array, out: SessionOutput): void {
    if (m.version !== PROTOCOL_VERSION) throw new ProtocolFailure('version', `hub chose version ${m.version}`);
    if (m.provision) {
      if (!this.#o.mayProvision) throw new ProtocolFailure('auth', 'hub asked for provisioning; refused');
      out.send.push(encodePlain({ type: 'provision', secret: this.#o.secret }));
      this.#provisioned = true;
    }
    const keys = deriveSessionKeys(this.#o.secret, this.#o.uid, this.#nonce!, m.hubNonce);
    this.#authKey = keys.authKey;
    this.#transcript = transcriptHash(this.#hello!, content);
    this.#hubEpoch = m.hubEpoch;
    out.send.push(encodePlain({ type: 'auth', proof: handshakeProof(keys.authKey, 'card', this.#transcript) }));
    this.sealer = new FrameSealer(keys.upKey, Math.min(this.maxFrame, m.maxFrame));
    this.opener = new FrameOpener(keys.downKey);
    if (m.pipeline) {
      if (!((this.#o.features ?? 0) & FEATURE_PIPELINE)) throw new ProtocolFailure('protocol', 'pipelining offered unasked');
      this.early = true;
      out.events.push({ type: 'keyed', hubEpoch: m.hubEpoch });
    }
  }

  #refused(code: RefuseCode, text: string, out: SessionOutput): void {
    this.state = 'failed';
    out.events.push({ type: 'refused', code, text });
  }
}

/** What the hub knows about the device named in a HELLO. */
export type DeviceLookup =
  | { status: 'known'; secret: Uint8Array; project: string; cardEpoch?: Uint8Array;
      /** The device's current session ticket, when it has one still valid. */
      ticket?: { id: Uint8Array; secret: Uint8Array } }
  /** Unknown device that may be provisioned (TOFU on, product known) into `project`. */
  | { status: 'provision'; project: string }
  /** Unknown without TOFU, disabled or deleted device, unknown product. */
  | { status: 'refuse'; code: RefuseCode; text: string };

export interface HubSessionOptions {
  /** 8 bytes, drawn when the hub database was created. */
  hubEpoch: Uint8Array;
  random: Random;
  /** Unix ms, sent to the card in WELCOME. */
  now(): number;
  /** Synchronous look-up of the device (the hub's SQLite calls are synchronous). */
  lookup(hello: HelloMessage): DeviceLookup;
  /** FEATURE_* bits the hub grants when asked (default: all). */
  features?: number;
  maxFrame?: number;
}

/** The hub's view of an established session: what to record. */
export interface HubEstablishedInfo extends EstablishedInfo {
  hello: HelloMessage;
  /** Present when this session provisioned the device: record it with this secret. */
  secret?: Uint8Array;
}

export class HubSession extends Session {
  readonly #o: HubSessionOptions;
  #hello: HelloMessage | undefined;
  #helloContent: Uint8Array | undefined;
  #challengeContent: Uint8Array | undefined;
  #nonce: Uint8Array | undefined;
  #device: DeviceLookup | undefined;
  #secret: Uint8Array | undefined;
  #info: HubEstablishedInfo | undefined;
  /** A RESUME the hub did not take: the card's early frames are passed over through their DONE. */
  #skipEarly = false;
  /** A RESUME the hub took: established once its first early frame opens (the card holds the
   * resumption secret); nothing is reported or answered before. */
  #pendingResume: { resumed: Uint8Array; info: HubEstablishedInfo } | undefined;

  constructor(options: HubSessionOptions) {
    super(options.maxFrame ?? MAX_FRAME);
    this.#o = options;
    this.state = 'handshake';
  }

  /** Set once established. */
  get info(): HubEstablishedInfo | undefined {
    return this.#info;
  }

  protected handle(frame: Frame, out: SessionOutput): void {
    if (this.state === 'established') return this.established(frame, out);
    if (!this.#hello) return this.#onHello(frame, out);
    if (this.#pendingResume) return this.#firstEarly(this.#pendingResume, frame, out);
    if (this.#skipEarly) {
      // sealed under a key this hub does not hold: left unread (nothing of it is applied)
      if ((frame.type & 0x7f) === MESSAGE_TYPES.done) this.#skipEarly = false;
      return;
    }
    const provisioning = this.#device?.status === 'provision' && !this.#secret;
    const m = plainMessage(frame, provisioning ? MESSAGE_TYPES.provision : MESSAGE_TYPES.auth);
    if (m.type === 'provision') {
      this.#secret = m.secret;
      return;
    }
    if (m.type === 'refuse') {
      this.state = 'failed';
      out.events.push({ type: 'refused', code: m.code, text: m.text });
      return;
    }
    if (m.type !== 'auth') throw new ProtocolFailure('protocol', 'expected AUTH');
    this.#onAuth(m.proof, out);
  }

  #onHello(frame: Frame, out: SessionOutput): void {
    if (frame.type !== MESSAGE_TYPES.hello && frame.type !== MESSAGE_TYPES.resume) throw new ProtocolFailure('protocol', 'the stream must begin with HELLO');
    const first = decodeMessage(frame.type, frame.body) as HelloMessage | ResumeMessage;
    const { uid, sn, product, version, cardEpoch, cardNonce, features, maxFrame } = first;
    const hello: HelloMessage = { type: 'hello', uid, sn, product, version, cardEpoch, cardNonce, features, maxFrame };
    if (hello.version < PROTOCOL_VERSION) throw new ProtocolFailure('version', `version ${hello.version} not supported`);
    const device = this.#o.lookup(hello);
    if (device.status === 'refuse') throw new ProtocolFailure(device.code, device.text);
    this.#hello = hello;
    this.#helloContent = frame.body;
    this.#device = device;
    if (device.status === 'known') this.#secret = device.secret;
    this.#nonce = this.#o.random.bytes(16);
    if (first.type === 'resume') {
      if (this.#resume(first, frame.body, out)) return;
      this.#skipEarly = true; // then a full handshake, as for a HELLO
    }
    const challenge: ChallengeMessage = {
      type: 'challenge', version: PROTOCOL_VERSION, hubEpoch: this.#o.hubEpoch, hubNonce: this.#nonce,
      provision: device.status === 'provision', maxFrame: this.maxFrame,
    };
    if (hello.features & this.#granted() & FEATURE_PIPELINE) challenge.pipeline = true;
    this.#challengeContent = encodeMessage(challenge);
    out.send.push(encodePlain(challenge));
  }

  /** What the hub grants when asked (CHALLENGE offers FEATURE_PIPELINE from the same set). */
  #granted(): number {
    return this.#o.features ?? FEATURE_CONTINUOUS | FEATURE_ENCRYPT_ALL | FEATURE_SKIP | FEATURE_DFU | FEATURE_PIPELINE | FEATURE_RESUME;
  }

  /** Take the ticket of a RESUME if it is the device's current one and nothing is in doubt (same
   * card epoch, pipelining and tickets still granted); false: fall back to a full handshake. */
  #resume(m: ResumeMessage, content: Uint8Array, out: SessionOutput): boolean {
    const device = this.#device!;
    const features = m.features & this.#granted();
    const both = FEATURE_RESUME | FEATURE_PIPELINE;
    if (device.status !== 'known' || !device.ticket || (features & both) !== both) return false;
    if (!constantTimeEqual(device.ticket.id, m.ticket) || !device.cardEpoch || !constantTimeEqual(device.cardEpoch, m.cardEpoch)) return false;
    const rs = device.ticket.secret;
    const keys = deriveSessionKeys(rs, m.uid, m.cardNonce, this.#nonce!, true);
    const transcript = sha256(content, this.#nonce!);
    this.sealer = new FrameSealer(keys.downKey, Math.min(this.maxFrame, m.maxFrame || this.maxFrame));
    this.opener = new FrameOpener(earlyKey(rs, content));
    this.afterEarly = new FrameOpener(keys.upKey);
    this.features = features;
    const time = this.#o.now();
    const resumed = encodePlain({ type: 'resumed', hubNonce: this.#nonce!, proof: handshakeProof(keys.authKey, 'hub', transcript), time, project: device.project, features });
    const ticket = ticketFor(features, keys.authKey, transcript);
    this.#pendingResume = {
      resumed,
      info: {
        uid: m.uid, features, cardEpoch: m.cardEpoch, hubEpoch: this.#o.hubEpoch, time, project: device.project,
        cardReset: false, provisioned: false, resumed: true, hello: this.#hello!, ...(ticket ? { ticket } : {}),
      },
    };
    return true;
  }

  /** The first early frame of a resumed session: it opens (else the session fails `auth`, nothing
   * done), then the session is established and RESUMED goes out. */
  #firstEarly(p: { resumed: Uint8Array; info: HubEstablishedInfo }, frame: Frame, out: SessionOutput): void {
    const mark = out.events.length;
    this.state = 'established';
    try {
      this.established(frame, out);
    } catch (e) {
      this.state = 'handshake'; // the REFUSE goes plain: the card cannot open ours yet
      throw e;
    }
    this.#pendingResume = undefined;
    this.#info = p.info;
    out.send.push(p.resumed);
    out.events.splice(mark, 0, { type: 'established', info: p.info });
  }

  #onAuth(proof: Uint8Array, out: SessionOutput): void {
    const hello = this.#hello!;
    const device = this.#device!;
    const keys = deriveSessionKeys(this.#secret!, hello.uid, hello.cardNonce, this.#nonce!);
    const transcript = transcriptHash(this.#helloContent!, this.#challengeContent!);
    if (!constantTimeEqual(proof, handshakeProof(keys.authKey, 'card', transcript))) {
      throw new ProtocolFailure('auth', 'device authentication failed');
    }
    this.sealer = new FrameSealer(keys.downKey, Math.min(this.maxFrame, hello.maxFrame || this.maxFrame));
    this.opener = new FrameOpener(keys.upKey);
    this.features = hello.features & this.#granted();
    const known = device.status === 'known' ? device : undefined;
    const cardReset = known?.cardEpoch !== undefined && !constantTimeEqual(known.cardEpoch, hello.cardEpoch);
    const time = this.#o.now();
    const project = device.status === 'refuse' ? '' : device.project;
    this.state = 'established';
    out.send.push(this.sealer.sealMessage({
      type: 'welcome', proof: handshakeProof(keys.authKey, 'hub', transcript), time, project, cardReset, features: this.features,
    }, false));
    const ticket = ticketFor(this.features, keys.authKey, transcript);
    this.#info = {
      uid: hello.uid, features: this.features, cardEpoch: hello.cardEpoch, hubEpoch: this.#o.hubEpoch, time, project,
      cardReset, provisioned: device.status === 'provision', hello, ...(ticket ? { ticket } : {}),
      ...(device.status === 'provision' ? { secret: this.#secret } : {}),
    };
    out.events.push({ type: 'established', info: this.#info });
  }
}

