/**
 * Notes between the wire (src/sync WireNote) and the hub (events, NoteRecord), and the database
 * conflict rule of docs/SYNC.md section 5 as the hub applies it during the up phase.
 */
import { resolveConflict, type NoteVersion } from '../../src/rules/conflict';
import type { WireNote } from '../../src/sync/notes-block';
import { unpackNote, type Template } from '../../src/template/index';
import type { IngestNote } from '../services/events';
import type { JsonObject, NoteInput, NoteRecord } from '../store/types';

/** A note received from the card, templated records expanded: what the hub stores of it. */
export interface CardNote {
  id?: string; deleted: boolean; body?: JsonObject; payload?: string;
  /** unix seconds, 0 = unknown */
  time: number; lat?: number; lon?: number; ltime?: number;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** Expands a wire note; `template` is the notefile's template of this session (needed for records). */
export function fromWire(n: WireNote, template: Template | undefined): CardNote {
  const out: CardNote = { id: n.id, deleted: !!n.deleted, time: n.time };
  if (n.record) {
    if (!template) throw new TemplateMissing();
    const u = unpackNote(template, n.record);
    out.body = u.body;
    out.payload = u.payload;
    if (u.time !== undefined) out.time = u.time;
    if (u.lat !== undefined && u.lon !== undefined) { out.lat = u.lat; out.lon = u.lon; out.ltime = u.ltime; }
  } else if (n.body) {
    out.body = n.body;
  }
  if (n.payload) out.payload = b64(n.payload);
  if (n.where) { out.lat = n.where.lat; out.lon = n.where.lon; out.ltime = n.where.time; }
  return out;
}

export class TemplateMissing extends Error {
  override name = 'TemplateMissing';
  constructor() { super('templated note without the template of its notefile (send TEMPLATE first)'); }
}

/** The event a card note becomes; `key` makes a re-sent note land once. */
export function toEvent(n: CardNote, key: string): IngestNote {
  const e: IngestNote = { key };
  if (n.id !== undefined) e.id = n.id;
  if (n.body !== undefined) e.body = n.body;
  if (n.payload !== undefined) e.payload = n.payload;
  if (n.time) e.when = n.time;
  if (n.lat !== undefined && n.lon !== undefined) { e.lat = n.lat; e.lon = n.lon; e.ltime = n.ltime; }
  return e;
}

/** A hub note as it goes down: counter = its per-device change number, time in whole seconds. */
export function toWire(r: NoteRecord): WireNote {
  const n: WireNote = { counter: r.change, time: Math.floor(r.time), id: r.id };
  if (r.deleted) n.deleted = true;
  else {
    if (r.body) n.body = r.body;
    if (r.payload) n.payload = new Uint8Array(Buffer.from(r.payload, 'base64'));
  }
  return n;
}

/**
 * The database writes for the card's change `c` (card counter `counter`) of note `id`, given the
 * hub's current version and `acked`, the highest hub change the card has acknowledged for the
 * notefile. The hub's version is dirty when it is a hub edit the card has not acknowledged; then
 * the one conflict rule (src/rules/conflict.ts) decides, and a loser kept as `id!c<n>` /
 * `id!h<n>` is written with origin 'hub', so that it goes down to the card (which may not have
 * seen the conflict).
 */
export function resolveDbChange(id: string, hub: NoteRecord | null, c: CardNote, counter: number, acked: number): { input: NoteInput; origin: 'hub' | 'device' }[] {
  const mine: NoteInput = c.deleted ? { id, deleted: true, time: c.time || undefined }
    : { id, body: c.body ?? null, payload: c.payload ?? null, time: c.time || undefined };
  const dirty = hub !== null && hub.origin === 'hub' && hub.change > acked;
  const ours: NoteVersion | undefined = dirty
    ? { side: 'hub', counter: hub.change, time: hub.time, deleted: hub.deleted, body: hub.body, payload: hub.payload }
    : undefined;
  const r = resolveConflict(id, ours, { side: 'card', counter, time: c.time, deleted: c.deleted, body: c.body, payload: c.payload });
  const out: { input: NoteInput; origin: 'hub' | 'device' }[] = [];
  if (r.winner === 'theirs') out.push({ input: mine, origin: 'device' });
  if (r.copy?.of === 'mine') out.push({ input: { id: r.copy.id, body: hub!.body, payload: hub!.payload, time: hub!.time }, origin: 'hub' });
  else if (r.copy) out.push({ input: { ...mine, id: r.copy.id }, origin: 'hub' });
  return out;
}
