/** The hub's copy of a device's notefiles: inbound queue notes, database notes, note.changes. */
import { randomUUID } from 'node:crypto';
import type { JsonObject, NoteRecord } from '../store/types';
import { MAX_NOTE_ID, noteIdError } from '../../src/rules/names';
import { noteFrameError } from '../../src/sync/messages';
import { HubError, notefileKind, type ServiceContext } from './common';
import type { EventService } from './events';

/** A note the hub adds for a device must reach it: one NOTES frame, as the card's note.add checks. */
function checkDeliverable(file: string, body: JsonObject | undefined, payload: string | undefined): void {
  const error = noteFrameError(file, { id: MAX_NOTE_ID, body, payload: payload ? new Uint8Array(Buffer.from(payload, 'base64')) : undefined });
  if (error !== undefined) throw new HubError(400, `note: ${error}`);
}

function dbFile(file: string): void {
  if (notefileKind(file) !== 'db') throw new HubError(400, `this operation needs a database notefile (.db): ${file}`);
}

/** Notefiles' changes: in all, and per notefile. */
export interface FileChanges { changes: number; total: number; info: { [file: string]: { changes: number; total: number } } }

function trackerName(t: string | undefined): void {
  if (t !== undefined && (!t || t.length > 128)) throw new HubError(400, 'tracker names are 1-128 characters');
}

export class NoteService {
  readonly #ctx: ServiceContext;
  readonly #events: EventService;

  constructor(ctx: ServiceContext, events: EventService) { this.#ctx = ctx; this.#events = events; }

  /** The device's notefiles on the hub side, with their live note counts. */
  notefiles(deviceUID: string): Promise<{ file: string; total: number }[]> { return this.#ctx.store.notefiles(deviceUID); }

  /** A notefile's notes (tombstones too with `deleted`). */
  notes(deviceUID: string, file: string, deleted: boolean): Promise<NoteRecord[]> { return this.#ctx.store.notes(deviceUID, file, deleted); }

  /** Queue a note for the device's inbound queue (.qi); it also shows as an event. */
  async addInbound(deviceUID: string, file: string, body: JsonObject | undefined, payload: string | undefined): Promise<NoteRecord> {
    if (notefileKind(file) !== 'qi') throw new HubError(400, `notes can only be added to inbound queues (.qi): ${file}`);
    checkDeliverable(file, body, payload);
    const [rec] = await this.#ctx.store.addNotes(deviceUID, file, [{ id: randomUUID(), body: body ?? null, payload: payload ?? null }], 'hub');
    await this.#events.ingestNotes(deviceUID, file, [{ id: rec.id, body, payload }], { req: 'note.add', fromHub: true });
    this.#ctx.emit('notes', { deviceUID, file });
    return rec;
  }

  async dbPut(deviceUID: string, file: string, id: string, body: JsonObject | undefined, payload: string | undefined, mode: 'create' | 'update'): Promise<NoteRecord> {
    dbFile(file);
    const old = await this.#ctx.store.note(deviceUID, file, id);
    // a new note's ID is the application's choice (no reserved !, room for a conflict suffix)
    const idError = noteIdError(id, !old || old.deleted);
    if (idError !== undefined) throw new HubError(400, `invalid note ID: ${idError}`);
    checkDeliverable(file, body, payload);
    if (mode === 'create' && old && !old.deleted) throw new HubError(409, `note already exists: ${id}`);
    const [rec] = await this.#ctx.store.addNotes(deviceUID, file, [{ id, body: body ?? null, payload: payload ?? null }], 'hub');
    this.#ctx.emit('notes', { deviceUID, file });
    return rec;
  }

  async dbGet(deviceUID: string, file: string, id: string, opts: { deleted?: boolean; delete?: boolean } = {}): Promise<NoteRecord> {
    dbFile(file);
    const n = await this.#ctx.store.note(deviceUID, file, id);
    if (!n || (n.deleted && !opts.deleted)) throw new HubError(404, `note not found: ${id}`);
    if (opts.delete && !n.deleted) await this.dbDelete(deviceUID, file, id);
    return n;
  }

  /** Deleting leaves a tombstone with a new change number, so the device learns of it. */
  async dbDelete(deviceUID: string, file: string, id: string): Promise<void> {
    dbFile(file);
    const n = await this.#ctx.store.note(deviceUID, file, id);
    if (!n || n.deleted) throw new HubError(404, `note not found: ${id}`);
    await this.#ctx.store.addNotes(deviceUID, file, [{ id, deleted: true }], 'hub');
    this.#ctx.emit('notes', { deviceUID, file });
  }

  /**
   * file.changes for API clients: each notefile's live notes (`total`) and those a tracker has
   * not read (`changes`; with no tracker, every live note); `files` picks notefiles. Nothing
   * advances (note.changes does that).
   */
  async fileChanges(deviceUID: string, o: { tracker?: string; files?: string[] }): Promise<FileChanges> {
    const { store } = this.#ctx;
    trackerName(o.tracker);
    const out: FileChanges = { changes: 0, total: 0, info: {} };
    for (const f of await store.notefiles(deviceUID)) {
      if (o.files && !o.files.includes(f.file)) continue;
      const since = o.tracker === undefined ? 0 : (await store.tracker(deviceUID, f.file, o.tracker)) ?? 0;
      const changes = since >= f.change ? 0 : (await store.changesSince(deviceUID, since, { file: f.file })).filter((n) => !n.deleted).length;
      out.info[f.file] = { changes, total: f.total };
      out.changes += changes;
      out.total += f.total;
    }
    return out;
  }

  /** What waits for the device's next sync: notes added on the hub side it has not taken yet, by notefile. */
  async pendingChanges(deviceUID: string): Promise<FileChanges & { pending: boolean }> {
    const waiting = await this.#ctx.store.pendingInbound(deviceUID);
    const out = { pending: waiting.length > 0, changes: 0, total: 0, info: {} as FileChanges['info'] };
    for (const n of waiting) {
      const f = (out.info[n.file] ??= { changes: 0, total: 0 });
      f.changes++;
      f.total++;
      out.changes++;
      out.total++;
    }
    return out;
  }

  /**
   * note.changes for API clients, on the hub's copy of a device notefile. Without a tracker
   * nothing advances; `start` rewinds; `stop` forgets the tracker after this read; `delete`
   * deletes the notes returned; `deleted` includes tombstones; `max` bounds the batch.
   * `changes` counts the changes pending before this read, `total` the live notes.
   */
  async noteChanges(deviceUID: string, file: string, o: { tracker?: string; max?: number; start?: boolean; stop?: boolean; deleted?: boolean; delete?: boolean }): Promise<{ changes: number; total: number; notes: NoteRecord[] }> {
    const { store } = this.#ctx;
    notefileKind(file);
    trackerName(o.tracker);
    const since = o.tracker === undefined || o.start ? 0 : (await store.tracker(deviceUID, file, o.tracker)) ?? 0;
    const pending = await store.changesSince(deviceUID, since, { file });
    const notes: NoteRecord[] = [];
    let through = since;
    for (const n of pending) {
      if (o.max !== undefined && notes.length >= o.max) break;
      through = n.change; // tombstones left out of the answer are still passed
      if (o.deleted || !n.deleted) notes.push(n);
    }
    const changes = pending.filter((n) => o.deleted || !n.deleted).length;
    const total = (await store.notes(deviceUID, file, false)).length;
    if (o.tracker !== undefined) await store.setTracker(deviceUID, file, o.tracker, o.stop ? null : through);
    if (o.delete) {
      const live = notes.filter((n) => !n.deleted);
      if (notefileKind(file) === 'db') for (const n of live) await this.dbDelete(deviceUID, file, n.id);
      else await store.removeNotes(deviceUID, live.map((n) => ({ file, id: n.id })));
    }
    return { changes, total, notes };
  }
}
