/**
 * Several hub processes on one database: what one process's services emit ('notes', 'env',
 * 'events', and any event added later) is published on the store's bus after the local emit,
 * and re-emitted by the other processes, so a device connected to any of them hears of it.
 * 'events' travel as the records when they fit in a notification, else as references the
 * receiving process reads back from the store.
 */
import type { EventEmitter } from 'node:events';
import type { EventRecord, Json, Store, StoreBus } from './store/types';
import type { SignalDelivery } from './services/common';

/** Payload bytes per notification (PostgreSQL allows just under 8000 with the envelope). */
const MAX_PAYLOAD = 7000;
const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

type EventsMessage = { e: EventRecord[] } | { ref: { app: string; uid: string } };

/** Connects `hub` to the store's bus; returns the publish half (null without a bus) and the unsubscribe. */
export function relayHubEvents(hub: EventEmitter, store: Store): { publish: ((event: string, payload: unknown) => void) | null; stop: () => void } {
  const bus = store.bus;
  if (!bus) return { publish: null, stop: () => undefined };
  const stop = bus.subscribe((event, payload) => {
    if (event === 'signal') {
      // another process's signal: the process holding the device's session answers whether it took it
      const m = payload as { id: string; deviceUID: string; text: string };
      const e: SignalDelivery = { deviceUID: m.deviceUID, text: m.text, delivered: false };
      hub.emit('signal', e);
      if (e.held) bus.publish('signal-ack', { id: m.id, delivered: e.delivered });
      return;
    }
    if (event !== 'events') { hub.emit(event, payload); return; }
    const m = payload as EventsMessage;
    if ('e' in m) { hub.emit('events', m.e); return; }
    void store.events({ projectUID: m.ref.app, eventUIDs: [m.ref.uid], limit: 1 })
      .then((p) => { if (p.json.length) hub.emit('events', p.json.map((j) => JSON.parse(j) as EventRecord)); }, () => undefined);
  });
  return {
    publish: (event, payload) => {
      // signals go to the other processes from DeviceSyncService.signal, which waits for their answer
      if (event === 'signal') return;
      if (event === 'events') publishEvents(bus, payload as EventRecord[]);
      else bus.publish(event, payload as Json);
    },
    stop,
  };
}

/** Records in as few notifications as fit; one too large alone goes by reference. */
function publishEvents(bus: StoreBus, events: EventRecord[]): void {
  let batch: EventRecord[] = [];
  let bytes = 0;
  const flush = (): void => { if (batch.length) bus.publish('events', { e: batch } as unknown as Json); batch = []; bytes = 0; };
  for (const e of events) {
    const n = size(e) + 1;
    if (n > MAX_PAYLOAD) { bus.publish('events', { ref: { app: e.app, uid: e.event } }); continue; }
    if (bytes + n > MAX_PAYLOAD) flush();
    batch.push(e);
    bytes += n;
  }
  flush();
}
