// A whole sync round inside one engine: the card's sync engine talks through an in-memory Net
// to a minimal hub built from the protocol's own HubSession and receiver rule. No timers, no
// sockets: a queue of deliveries is run to the end, so the run is a pure function of its inputs
// and can be metered in XS (bench/xs-sync.ts) and checked on Node (test/xs/sync-harness.test.ts).
import { Card } from '../../src/card';
import { Sha256 } from '../../src/crypto/sha256';
import type { Host, Net, NetHandlers } from '../../src/host';
import { HubSession } from '../../src/sync/session';
import type { SyncMessage } from '../../src/sync/messages';
import { acceptNotes } from '../../src/sync/receiver';
import { toHex } from '../../src/util/hex';
import { deterministicHost } from './harness';

/** The hub side: accepts every note, remembers what it stored, sends nothing down. */
class LoopbackHub {
  readonly stored = new Map<string, number>();
  notes = 0;
  #secret: Uint8Array | undefined; // learned when the card provisioned itself
  #session: HubSession | undefined;
  readonly #random: Host['random'];
  constructor(random: Host['random']) {
    this.#random = random;
  }

  open(): HubSession {
    this.#session = new HubSession({
      hubEpoch: new Uint8Array(8).fill(7),
      random: this.#random,
      now: () => 1_700_000_000_000,
      lookup: () => (this.#secret ? { status: 'known', secret: this.#secret, project: 'app:xs' } : { status: 'provision', project: 'app:xs' }),
    });
    return this.#session;
  }

  learn(secret: Uint8Array | undefined): void {
    this.#secret ??= secret;
  }

  /** Answers to one message from the card. */
  answer(m: SyncMessage): SyncMessage[] {
    switch (m.type) {
      case 'catalog':
        return [{ type: 'catalogReply', more: false, files: m.files.map((f) => ({ name: f.name, upUntil: this.stored.get(f.name) ?? 0, needTemplate: false, pending: 0 })) }];
      case 'notes': {
        const { apply, stored } = acceptNotes(this.stored.get(m.name) ?? 0, m);
        this.notes += apply.length;
        this.stored.set(m.name, stored);
        return [{ type: 'ack', name: m.name, until: stored }];
      }
      case 'done':
        return [{ type: 'done' }];
      default:
        return [];
    }
  }
}

const UP = Uint8Array.of(0x75);
const DOWN = Uint8Array.of(0x64);

/** Net whose every byte goes through a FIFO of deliveries that `run()` drains. */
class QueueNet implements Net {
  readonly #queue: (() => void)[] = [];
  readonly #hub: LoopbackHub;
  bytes = 0;
  /** Every byte either way, in order, each chunk tagged with its direction. */
  wire = new Sha256();
  constructor(hub: LoopbackHub) {
    this.#hub = hub;
  }
  connect(_host: string, _port: number, card: NetHandlers) {
    const session = this.#hub.open();
    let open = true;
    const toCard = (frames: Uint8Array[]) => {
      for (const f of frames) {
        this.wire.update(DOWN).update(f);
        this.#queue.push(() => open && card.onData(f));
      }
    };
    this.#queue.push(() => card.onConnect());
    return {
      write: (bytes: Uint8Array) => {
        this.bytes += bytes.length;
        this.wire.update(UP).update(bytes);
        this.#queue.push(() => {
          if (!open) return;
          const out = session.receive(bytes);
          toCard(out.send);
          for (const e of out.events) {
            if (e.type === 'established') this.#hub.learn(session.info?.secret);
            if (e.type === 'message') for (const reply of this.#hub.answer(e.message)) toCard([session.send(reply)]);
          }
        });
      },
      close: () => {
        if (!open) return;
        open = false;
        this.#queue.push(() => card.onClose());
      },
    };
  }
  run(): void {
    for (let i = 0; i < this.#queue.length; i++) this.#queue[i]();
    this.#queue.length = 0;
  }
}

export interface LoopbackCard {
  card: Card;
  add(count: number): void;
  /** One hub.sync, run to its end; returns the card's status and what the hub holds. */
  sync(): { status: string; notes: number; bytesUp: number; wire: string };
}

export function loopbackCard(): LoopbackCard {
  const base = deterministicHost(3);
  const hub = new LoopbackHub(base.random);
  const net = new QueueNet(hub);
  const card = new Card({ ...base, net }, { hubHost: 'loopback:1' });
  const req = (r: string) => card.request(r).text!;
  req('{"req":"hub.set","product":"com.example:xs","mode":"minimum"}');
  let n = 0;
  return {
    card,
    add(count) {
      for (let i = 0; i < count; i++, n++) req(`{"req":"note.add","file":"sensors.qo","body":{"temp":${20 + (n % 50) / 10},"humidity":${30 + (n % 40)},"seq":${n}}}`);
    },
    sync() {
      net.bytes = 0;
      net.wire = new Sha256();
      req('{"req":"hub.sync"}');
      net.run();
      const wire = toHex(net.wire.digest());
      return { status: String(JSON.parse(req('{"req":"hub.sync.status"}')).status), notes: hub.notes, bytesUp: net.bytes, wire };
    },
  };
}
