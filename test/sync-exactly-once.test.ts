// The exactly-once claim of docs/SYNC.md 4.1, checked on the real codec and handshake: a minimal
// card and hub (durable state + the receiver rules of src/sync/receiver.ts) run a scripted sync
// over a link cut after every possible byte count; after a reconnect every note has crossed once.
import * as nodeCrypto from 'node:crypto';
import { CardSession, HubSession, type SessionOutput } from '../src/sync/session';
import { acceptNotes } from '../src/sync/receiver';
import { conflictId, conflictWinner } from '../src/rules/conflict';
import type { SyncMessage } from '../src/sync/messages';
import type { WireNote } from '../src/sync/notes-block';

const random = { bytes: (n: number) => Uint8Array.from(nodeCrypto.randomBytes(n)) };
const SECRET = new Uint8Array(32).fill(3);
const EPOCH = new Uint8Array(8).fill(1);
const PER_FRAME = 4; // small batches: many frames, many cut points

/** What survives on the card (its flash). */
class CardStore {
  outbox = new Map<number, WireNote>(); // sensors.qo by counter
  counter = 0;
  inbox = new Map<string, WireNote>(); // data.qi by hub id
  applied: string[] = []; // every inbound note applied, to catch a duplicate even when the upsert hides it
  downUntil = 0;
  tracker = 0; // highest counter the hub acknowledged with an ACK
  add(body: { n: number }): void {
    this.counter++;
    this.outbox.set(this.counter, { counter: this.counter, time: 1000 + this.counter, body });
  }
  acked(until: number): void {
    for (const c of [...this.outbox.keys()]) if (c <= until) this.outbox.delete(c);
  }
}

/** What survives on the hub (its database). */
class HubStore {
  events: number[] = []; // body.n of every event, in arrival order
  upUntil = 0;
  qi: WireNote[] = [];
  delivered = 0; // highest qi counter the card has acknowledged
}

/**
 * One session's volatile logic on each side; returns frames to send. `lenient` senders ignore the
 * peer's catalogue and resend from their own ACK-based trackers, so a lost ACK makes frames
 * overlap what the receiver already committed: the receiver rule must drop the overlap.
 */
function cardLogic(store: CardStore, session: CardSession, lenient: boolean) {
  return (out: SessionOutput): Uint8Array[] => {
    const send: Uint8Array[] = [...out.send];
    const msg = (m: SyncMessage) => send.push(session.send(m));
    for (const e of out.events) {
      if (e.type === 'established') {
        msg({ type: 'catalog', more: false, envModified: 0, files: [
          { name: 'sensors.qo', template: 0, downUntil: 0, pending: store.outbox.size },
          { name: 'data.qi', template: 0, downUntil: store.downUntil, pending: 0 },
        ] });
      } else if (e.type === 'message') {
        const m = e.message;
        if (m.type === 'catalogReply') {
          const hubUp = m.files.find((f) => f.name === 'sensors.qo')!.upUntil;
          if (!lenient) store.acked(hubUp); // an ACK lost with the link is recovered here
          const up = lenient ? store.tracker : hubUp;
          const notes = [...store.outbox.values()].filter((n) => n.counter > up);
          let since = up;
          for (let i = 0; i < notes.length; i += PER_FRAME) {
            const batch = notes.slice(i, i + PER_FRAME);
            const until = i + PER_FRAME >= notes.length ? store.counter : batch[batch.length - 1].counter;
            msg({ type: 'notes', name: 'sensors.qo', since, until, notes: batch });
            since = until;
          }
          msg({ type: 'done' });
        } else if (m.type === 'ack') {
          store.acked(m.until);
          store.tracker = Math.max(store.tracker, m.until);
        } else if (m.type === 'notes') {
          const { apply, stored } = acceptNotes(store.downUntil, m);
          for (const n of apply) {
            store.inbox.set(n.id!, n); // upsert by the hub's id
            store.applied.push(n.id!);
          }
          store.downUntil = stored; // committed with the notes
          msg({ type: 'ack', name: m.name, until: stored });
        } else if (m.type === 'done') {
          const close = session.close();
          if (close) send.push(close);
        }
      }
    }
    return send;
  };
}

function hubLogic(store: HubStore, session: HubSession, lenient: boolean) {
  let cardDown = 0;
  return (out: SessionOutput): Uint8Array[] => {
    const send: Uint8Array[] = [...out.send];
    const msg = (m: SyncMessage) => send.push(session.send(m));
    for (const e of out.events) {
      if (e.type !== 'message') continue;
      const m = e.message;
      if (m.type === 'catalog') {
        const reported = m.files.find((f) => f.name === 'data.qi')!.downUntil;
        if (!lenient) store.delivered = Math.max(store.delivered, reported);
        cardDown = lenient ? store.delivered : reported;
        msg({ type: 'catalogReply', more: false, files: [
          { name: 'sensors.qo', upUntil: store.upUntil, needTemplate: false, pending: 0 },
          { name: 'data.qi', upUntil: 0, needTemplate: false, pending: store.qi.filter((n) => n.counter > cardDown).length },
        ] });
      } else if (m.type === 'notes') {
        const { apply, stored } = acceptNotes(store.upUntil, m);
        for (const n of apply) store.events.push((n.body as { n: number }).n);
        store.upUntil = stored; // one transaction with the events
        msg({ type: 'ack', name: m.name, until: stored });
      } else if (m.type === 'done') {
        const notes = store.qi.filter((n) => n.counter > cardDown);
        let since = cardDown;
        for (let i = 0; i < notes.length; i += PER_FRAME) {
          const batch = notes.slice(i, i + PER_FRAME);
          const until = batch[batch.length - 1].counter;
          msg({ type: 'notes', name: 'data.qi', since, until, notes: batch });
          since = until;
        }
        msg({ type: 'done' });
      } else if (m.type === 'ack') {
        store.delivered = Math.max(store.delivered, m.until);
      }
    }
    return send;
  };
}

/** Run one session over a link that carries at most `budget` bytes (Infinity = uncut). */
function runSession(card: CardStore, hub: HubStore, budget: number, lenient = false): { bytes: number; closed: boolean } {
  const cs = new CardSession({ uid: 'dev:1', sn: '', product: 'p', secret: SECRET, cardEpoch: EPOCH, random, mayProvision: false });
  const hs = new HubSession({ hubEpoch: EPOCH, random, now: () => 0, lookup: () => ({ status: 'known', secret: SECRET, project: 'app:1', cardEpoch: EPOCH }) });
  const onCard = cardLogic(card, cs, lenient);
  const onHub = hubLogic(hub, hs, lenient);
  const queue: { to: 'hub' | 'card'; bytes: Uint8Array }[] = [{ to: 'hub', bytes: cs.start() }];
  let carried = 0;
  while (queue.length) {
    const { to, bytes } = queue.shift()!;
    const room = budget - carried;
    const part = room < bytes.length ? bytes.subarray(0, room) : bytes;
    carried += part.length;
    // Chunks of 5 bytes: frames arrive split, like TCP segments.
    for (let at = 0; at < part.length; at += 5) {
      const chunk = part.subarray(at, at + 5);
      const frames = to === 'hub' ? onHub(hs.receive(chunk)) : onCard(cs.receive(chunk));
      for (const f of frames) queue.push({ to: to === 'hub' ? 'card' : 'hub', bytes: f });
    }
    if (part !== bytes) return { bytes: carried, closed: false }; // the link is cut
  }
  return { bytes: carried, closed: cs.state === 'closed' };
}

function scenario(): { card: CardStore; hub: HubStore } {
  const card = new CardStore();
  const hub = new HubStore();
  for (let i = 1; i <= 13; i++) card.add({ n: i });
  for (let i = 1; i <= 9; i++) hub.qi.push({ counter: i, time: 2000 + i, id: `q${i}`, body: { n: 100 + i } });
  return { card, hub };
}

describe('exactly-once delivery across link cuts', () => {
  it('an uncut session moves everything and closes', () => {
    const { card, hub } = scenario();
    expect(runSession(card, hub, Infinity).closed).toBe(true);
    expect(hub.events).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(card.outbox.size).toBe(0);
    expect([...card.inbox.keys()].sort()).toEqual(Array.from({ length: 9 }, (_, i) => `q${i + 1}`).sort());
    expect(hub.delivered).toBe(9);
  });

  const cutTest = (lenient: boolean, points: number) => () => {
    const total = runSession(...(Object.values(scenario()) as [CardStore, HubStore]), Infinity, lenient).bytes;
    expect(total).toBeGreaterThan(800);
    const step = Math.max(1, Math.floor(total / points)); // cut points spread over every phase
    let cuts = 0;
    for (let budget = 0; budget < total; budget += step) {
      const { card, hub } = scenario();
      runSession(card, hub, budget, lenient);
      // A new note is added while offline, then the card reconnects.
      card.add({ n: 14 });
      expect(runSession(card, hub, Infinity, lenient).closed).toBe(true);
      if (cuts % 10 === 0) expect(runSession(card, hub, Infinity, lenient).closed).toBe(true); // an idle resync changes nothing
      expect(hub.events).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
      expect(card.outbox.size).toBe(0);
      expect(card.applied.length).toBe(9);
      expect(card.inbox.size).toBe(9);
      expect(card.downUntil).toBe(9);
      cuts++;
    }
    expect(cuts).toBeGreaterThanOrEqual(points * 0.95);
  };

  it('cut at 200+ points of the exchange (senders resending from their own trackers, so frames overlap): exactly once',
    cutTest(true, 210));
  it('cut at 60 more points with senders resuming from the catalogue: exactly once', cutTest(false, 60));

  it('a hub restart mid-sync (volatile state lost, database kept) is survived the same way', () => {
    const total = runSession(...(Object.values(scenario()) as [CardStore, HubStore]), Infinity).bytes;
    for (const fraction of [0.2, 0.5, 0.8]) {
      const { card, hub } = scenario();
      runSession(card, hub, Math.floor(total * fraction)); // the hub process dies here
      const restarted = Object.assign(new HubStore(), JSON.parse(JSON.stringify(hub)) as HubStore); // reloaded from its database
      runSession(card, restarted, Infinity);
      expect(restarted.events).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
      expect(card.inbox.size).toBe(9);
    }
  });
});

describe('conflict rule', () => {
  it('later time wins, ties go to the hub, the loser id depends on the loser only', () => {
    expect(conflictWinner({ time: 10 }, { time: 11 })).toBe('card');
    expect(conflictWinner({ time: 11 }, { time: 10 })).toBe('hub');
    expect(conflictWinner({ time: 10 }, { time: 10 })).toBe('hub');
    expect(conflictId('cfg', 'card', 42)).toBe('cfg!c42');
    expect(conflictId('cfg', 'hub', 7)).toBe('cfg!h7');
    // a copy of a copy is named after the note, so it is no longer than a first copy
    expect(conflictId('cfg!c42', 'hub', 7)).toBe('cfg!h7');
  });
  it('acceptNotes refuses a gap and drops what was already stored', () => {
    const m = { type: 'notes' as const, name: 'a.db', since: 3, until: 8, notes: [{ counter: 4, time: 0 }, { counter: 7, time: 0 }] };
    expect(() => acceptNotes(2, m)).toThrow(/gap/);
    expect(acceptNotes(5, m)).toEqual({ apply: [{ counter: 7, time: 0 }], stored: 8 });
    expect(acceptNotes(9, m)).toEqual({ apply: [], stored: 9 });
  });
});
