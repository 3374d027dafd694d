// Notefile semantics over the store: kinds, IDs, change counters, trackers, tombstones.
//
// Rules:
// - Every change (add, update, delete, inbound merge) stamps the note with the file's next
//   change number. A tracker holds the first change number it has not yet reported.
// - Queues: IDs are generated (the change number); a note leaves when it is consumed
//   (.qi read with delete) or acknowledged by the hub (.qo). No tombstones.
// - Databases: the caller names each note. Deleting leaves a tombstone (no body, new change
//   number) until every tracker and, for synced files, the hub has passed it; then it is purged.
// - The hub's own position is the tracker HUB_TRACKER: a database note is synced when its change
//   number is below it or when it came from the hub.
import { CardError, fail } from '../errors';
import type { JsonObject } from '../json';
import { FF, FORMAT_JSON, NF } from '../store/format';
import { NS } from '../store/settings';
import { PurgePolicy, ReadonlyFileState as FileState, Store, StoredNote } from '../store/store';
import { utf8Decode, utf8Encode } from '../util/utf8';
import { kindOf, storedKindOf, NotefileKind } from './kinds';
import { MAX_NOTE_ID, noteIdError } from '../rules/names';
import { noteFrameError } from '../sync/messages';
import type { Txn } from '../store/records';

/** The tracker the sync engine owns: notes below it have been sent to the hub. */
export const HUB_TRACKER = '\u0001hub';

/** Which tombstones a commit drops (the store applies it): those every tracker has passed and,
 * in a synced file, the hub too, unless the hub sent them. */
export const tombstonePurge: PurgePolicy = (f, trackers) => {
  let floor = Infinity;
  for (const [name, v] of trackers) if (name !== HUB_TRACKER) floor = Math.min(floor, v);
  const hub = f.flags & FF.SYNCED ? trackers.get(HUB_TRACKER) ?? 0 : Infinity;
  return (seq, flags) => seq < floor && (seq < hub || (flags & NF.FROM_HUB) !== 0);
};

/** A note as requests and the sync see it. */
export interface Note {
  id: string;
  /** Change number. */
  seq: number;
  /** Unix seconds when added (undefined when the clock was unknown). */
  time?: number;
  body?: JsonObject;
  payload?: Uint8Array;
  deleted: boolean;
  /** Sent to the hub already, or came from it. */
  synced: boolean;
  /** Templated notes: the template version (format byte) and the packed record as stored,
   * what the sync sends (NoteTemplates.version(file, format) is its template). */
  format?: number;
  record?: Uint8Array;
}

/** The hook for templates (src/notefile/templates.ts): packed binary records instead of JSON
 * text. A note's format byte is 0 for JSON; any other value is the codec's template version. */
export interface BodyCodec {
  /** Undefined when the file has no template; else the format and packed body (no bytes when
   * there is no body). Fails with {template-incompatible} when the note does not fit. */
  encode(file: FileState | undefined, body: JsonObject | undefined, full: boolean, payload?: Uint8Array): { format: number; bytes?: Uint8Array } | undefined;
  /** `tx` removes or replaces the notes with change numbers in `gone` ([lo, hi) pairs): add
   * to it whatever no note will need any more (template versions). */
  prune?(file: FileState, tx: Txn, gone: readonly number[]): void;
  /** The body ({} when omitempty left nothing). */
  decode(file: FileState, format: number, bytes: Uint8Array, full: boolean): JsonObject;
}

/** A note or edit as it comes from the hub. */
export interface InboundNote {
  id?: string;
  body?: JsonObject;
  payload?: Uint8Array;
  deleted?: boolean;
  time?: number;
  /** The card's own version, kept under a conflict id: a local change the hub must receive. */
  local?: boolean;
}

export interface AddInput {
  /** Database note ID ("?" generates one); undefined for queues. */
  id?: string;
  body?: JsonObject;
  payload?: Uint8Array;
  full?: boolean;
}

export interface ChangesOptions {
  tracker?: string;
  start?: boolean;
  stop?: boolean;
  delete?: boolean;
  deleted?: boolean;
  max?: number;
}

export interface ChangesResult {
  changes: number;
  total: number;
  notes: Note[];
}

export interface FileCounts {
  changes: number;
  total: number;
}

export class Notefiles {
  readonly store: Store;
  /** Unix seconds, or undefined while the time is unknown. */
  readonly #now: () => number | undefined;
  readonly #randomId: () => string;
  /** Told after notes were added or changed in a notefile (card.attn files); `fromHub` when the sync brought them. */
  onChange: ((name: string, fromHub: boolean) => void) | undefined;
  /** Packs and unpacks templated bodies; set at construction (the templates read this notefile set). */
  codec: BodyCodec | undefined;

  constructor(store: Store, now: () => number | undefined, randomId: () => string, codec?: (notefiles: Notefiles) => BodyCodec) {
    this.store = store;
    store.purgeWith(tombstonePurge);
    this.#now = now;
    this.#randomId = randomId;
    this.codec = codec?.(this);
  }

  /** The stored state of notefile `name` (read-only), if it exists. */
  state(name: string): Readonly<FileState> | undefined {
    return this.store.file(name);
  }

  /** Whether `id` names a live (not deleted) note of database `name`. */
  has(name: string, id: string): boolean {
    const e = this.store.file(name)?.keyed.get(id);
    return e !== undefined && !(e.flags & NF.DELETED);
  }

  /** Changes since `tracker` and totals of notefile `name`; undefined when it does not exist. */
  countsOf(name: string, tracker?: string): FileCounts | undefined {
    const f = this.store.file(name);
    return f && this.counts(f, tracker);
  }

  /** Notes waiting for the hub, and the total, of notefile `name` ({notefile-noexist} if none). */
  pendingOf(name: string): FileCounts {
    const f = this.existing(name);
    return { changes: this.pendingCount(f), total: f.total };
  }

  /** The kind of a notefile: by the name rules, or by extension alone for a file already stored. */
  kind(name: string, system = false): NotefileKind {
    return this.store.file(name) ? storedKindOf(name) : kindOf(name, system);
  }

  /** The file, or {notefile-noexist}. */
  existing(name: string): FileState {
    const f = this.store.file(name);
    if (!f) fail(`notefile ${name} does not exist`, 'notefile-noexist');
    return f;
  }

  /** Add a note, creating the file. Returns its ID and the file's new total. */
  add(name: string, input: AddInput, system = false): { id: string; total: number; templated: boolean } {
    const k = kindOf(name, system);
    const f = this.store.file(name);
    let id: string | undefined;
    if (k.queue) {
      if (input.id !== undefined) fail(`note: a queue notefile (${name}) names its own notes; use a .db file to choose an ID`, 'bad-arg');
    } else {
      if (input.id === undefined || input.id === '') fail(`note: a database notefile (${name}) needs a note ID`, 'bad-arg');
      id = input.id === '?' ? this.#newId(f) : checkId(input.id, true);
      const e = f?.keyed.get(id);
      if (e && !(e.flags & NF.DELETED)) fail(`note ${id} already exists in ${name}`, 'note-exists');
    }
    const tx = this.store.begin();
    const fileId = f ? f.id : tx.createFile(name, k.synced ? FF.SYNCED : 0);
    const enc = this.#encode(f, input.body, input.full ?? false, input.payload);
    if (k.synced) checkFrame(name, k, input.body, enc, input.payload);
    const seq = tx.addNote(fileId, {
      id, time: this.#now() ?? 0, format: enc.format, body: enc.bytes, payload: input.payload,
      flags: input.full ? NF.FULL : 0,
    });
    this.store.commit(tx);
    this.onChange?.(name, false);
    return { id: id ?? String(seq), total: this.store.file(name)!.total, templated: enc.templated };
  }

  /** Read a note: the oldest of a queue, or one database note by ID. */
  get(name: string, id: string | undefined, opts: { delete?: boolean; deleted?: boolean } = {}): Note {
    const f = this.store.file(name);
    // Hosts drain inbound queues until {note-noexist}: an absent notefile has no notes either.
    if (!f) fail(`notefile ${name} does not exist`, 'notefile-noexist', 'note-noexist');
    const k = storedKindOf(name);
    let note: Note | undefined;
    if (k.queue) {
      if (id !== undefined) fail(`note: notes in a queue (${name}) have no IDs to ask for`, 'bad-arg');
      const seq = f.queued.next(0);
      if (seq < 0) fail(`no notes available in ${name}`, 'note-noexist');
      note = this.#toNote(f, this.store.readQueued(f, seq)!);
    } else {
      if (id === undefined) fail(`note: a note ID is required for database notefile ${name}`, 'bad-arg');
      const stored = this.store.readKeyed(f, id);
      if (!stored || (stored.flags & NF.DELETED && !opts.deleted)) fail(`note ${id} does not exist in ${name}`, 'note-noexist');
      note = this.#toNote(f, stored);
    }
    if (opts.delete && !note.deleted) {
      const tx = this.store.begin();
      this.#remove(tx, f, k, note);
      this.#prune(tx, f, [note.seq, note.seq + 1]);
      this.store.commit(tx);
    }
    return note;
  }

  /** Replace a database note's body and/or payload (members not given are kept). */
  update(name: string, id: string | undefined, input: { body?: JsonObject; payload?: Uint8Array }): void {
    const f = this.existing(name);
    const k = storedKindOf(name);
    if (k.queue) fail(`note.update works on database notefiles; ${name} is a queue`, 'notefile-queue-disallowed');
    if (id === undefined) fail('note: the note ID is required', 'bad-arg');
    const old = this.store.readKeyed(f, id);
    if (!old || old.flags & NF.DELETED) fail(`note ${id} does not exist in ${name}`, 'note-noexist');
    const body = input.body ?? (old.body ? this.#toNote(f, old).body : undefined);
    const payload = input.payload ?? old.payload;
    const enc = this.#encode(f, body, (old.flags & NF.FULL) !== 0, payload);
    if (k.synced) checkFrame(name, k, body, enc, payload);
    const tx = this.store.begin();
    tx.addNote(f.id, {
      id, time: this.#now() ?? old.time, format: enc.format, body: enc.bytes, payload, flags: old.flags & NF.FULL,
    });
    this.#prune(tx, f, [old.seq, old.seq + 1]);
    this.store.commit(tx);
  }

  /** Delete a database note (leaves a tombstone). */
  delete(name: string, id: string | undefined): void {
    const f = this.existing(name);
    const k = storedKindOf(name);
    if (k.queue) fail(`note.delete works on database notefiles; read ${name} with delete:true instead`, 'notefile-queue-disallowed');
    if (id === undefined) fail('note: the note ID is required', 'bad-arg');
    const e = f.keyed.get(id);
    if (!e || e.flags & NF.DELETED) fail(`note ${id} does not exist in ${name}`, 'note-noexist');
    const tx = this.store.begin();
    tx.addNote(f.id, { id, time: this.#now() ?? 0, flags: NF.DELETED });
    this.#prune(tx, f, [e.seq, e.seq + 1]);
    this.store.commit(tx);
  }

  /** The notes changed since a tracker (or all, without one), oldest change first. */
  changes(name: string, opts: ChangesOptions): ChangesResult {
    const f = this.existing(name);
    const k = storedKindOf(name);
    if (opts.tracker !== undefined) checkTracker(opts.tracker);
    const from = opts.tracker === undefined || opts.start ? 0 : f.trackers.get(opts.tracker) ?? 0;
    const max = opts.max ?? Infinity;
    const changes = this.#countFrom(f, from, opts.deleted ?? false);
    const notes: Note[] = [];
    // Queued notes come from the change-number set; database notes from the (small) key index.
    const keyed = [...f.keyed.entries()]
      .filter(([, e]) => e.seq >= from && (opts.deleted || !(e.flags & NF.DELETED)))
      .sort((a, b) => a[1].seq - b[1].seq);
    let qs = f.queued.next(from);
    let ki = 0;
    while (notes.length < max && (qs >= 0 || ki < keyed.length)) {
      if (qs >= 0 && (ki >= keyed.length || qs < keyed[ki][1].seq)) {
        notes.push(this.#toNote(f, this.store.readQueued(f, qs)!));
        qs = f.queued.next(qs + 1);
      } else {
        notes.push(this.#toNote(f, this.store.readKeyed(f, keyed[ki++][0])!));
      }
    }
    const truncated = qs >= 0 || ki < keyed.length;
    const tx = this.store.begin();
    if (opts.delete) {
      const gone: number[] = [];
      for (const n of notes) {
        if (n.deleted) continue;
        this.#remove(tx, f, k, n);
        gone.push(n.seq, n.seq + 1);
      }
      this.#prune(tx, f, gone);
    }
    if (opts.tracker !== undefined) {
      if (opts.stop) tx.setTracker(f.id, opts.tracker, undefined);
      else tx.setTracker(f.id, opts.tracker, truncated ? notes[notes.length - 1].seq + 1 : tx.nextSeq(f.id));
    }
    this.store.commit(tx);
    return { changes, total: f.total, notes };
  }

  /** Per-file counts: changes since `tracker` (all notes without one) and totals. */
  counts(f: FileState, tracker?: string): FileCounts {
    const from = tracker === undefined ? 0 : f.trackers.get(tracker) ?? 0;
    return { changes: this.#countFrom(f, from, false), total: f.total };
  }

  /** Visible notefiles (system files only when asked). */
  names(system = false): string[] {
    return this.store.files().map((f) => f.name).filter((n) => system || !n.startsWith('_'));
  }

  deleteFiles(names: readonly string[]): void {
    const tx = this.store.begin();
    for (const name of names) {
      const f = this.store.file(name);
      if (!f) kindOf(name, true);
      if (f) tx.deleteFile(f.id);
    }
    this.store.commit(tx);
  }

  /** Remove every note of a file, keeping the file and its trackers. */
  clear(name: string): void {
    const f = this.existing(name);
    const tx = this.store.begin();
    tx.drop(f.id, [0, f.counter]);
    this.#prune(tx, f, [0, f.counter]);
    this.store.commit(tx);
  }

  /** Attach notefile-level metadata (a template definition, as JSON text), creating the file.
   * The template codec reads it back from `FileState.info`. */
  setInfo(name: string, info: string, system = false): void {
    const k = kindOf(name, system);
    const f = this.store.file(name);
    const tx = this.store.begin();
    if (f) tx.setFileInfo(f, info);
    else tx.createFile(name, k.synced ? FF.SYNCED : 0, info);
    this.store.commit(tx);
  }

  // ---- for the sync engine ----

  /** What the hub has not yet received from this file: unacknowledged outbound notes, and
   * database changes (tombstones included) made here since the hub's position. */
  pendingCount(f: FileState): number {
    const k = storedKindOf(f.name);
    if (!k.synced || k.inbound) return 0;
    if (k.queue) return f.queued.count;
    const hub = f.trackers.get(HUB_TRACKER) ?? 0;
    let n = 0;
    for (const e of f.keyed.values()) if (e.seq >= hub && !(e.flags & NF.FROM_HUB)) n++;
    return n;
  }

  /** The pending notes of a file, oldest change first, at most `max`. */
  /** Up to `max` notes the hub lacks, oldest first. Notes packed with template format `raw` come
   * with their record only (no decoded body): the sync sends records as they are, and a decoded
   * body costs the card's small heap a dozen objects per note. */
  pending(f: FileState, max: number, raw?: number, after = 0): Note[] {
    const k = storedKindOf(f.name);
    const out: Note[] = [];
    if (!k.synced || k.inbound) return out;
    if (k.queue) {
      for (let s = f.queued.next(after + 1); s >= 0 && out.length < max; s = f.queued.next(s + 1)) out.push(this.#toNote(f, this.store.readQueued(f, s)!, raw));
      return out;
    }
    const hub = Math.max(f.trackers.get(HUB_TRACKER) ?? 0, after + 1);
    const ids = [...f.keyed.entries()].filter(([, e]) => e.seq >= hub && !(e.flags & NF.FROM_HUB)).sort((a, b) => a[1].seq - b[1].seq);
    for (const [id] of ids.slice(0, max)) out.push(this.#toNote(f, this.store.readKeyed(f, id)!, raw));
    return out;
  }

  /** The highest change counter of this file the hub acknowledged, as far as the card knows
   * (it only advances on an ACK or a CATALOG_REPLY): where a pipelined first NOTES frame starts. */
  hubPosition(f: FileState): number {
    if (!storedKindOf(f.name).queue) return Math.max(0, (f.trackers.get(HUB_TRACKER) ?? 0) - 1);
    // acknowledged queue notes leave the card: the hub has what comes before the oldest one left
    const first = f.queued.next(0);
    return first >= 0 ? first - 1 : Math.max(0, f.counter - 1);
  }

  /** The hub has everything below change number `upTo`: outbound queue notes leave the card,
   * database notes become synced (and passed tombstones can be purged). */
  acknowledge(name: string, upTo: number): void {
    const f = this.existing(name);
    const tx = this.store.begin();
    if (storedKindOf(name).queue) {
      tx.drop(f.id, [0, upTo]);
      this.#prune(tx, f, [0, upTo]);
    } else tx.setTracker(f.id, HUB_TRACKER, Math.max(upTo, f.trackers.get(HUB_TRACKER) ?? 0));
    this.store.commit(tx);
  }

  /** Notes and edits from the hub, applied in one commit together with the hub position they
   * bring the file to (`downUntil`, the hub's change counter), so a power cut keeps both or
   * neither: the next sync resumes exactly after what was committed. */
  applyFromHub(name: string, inputs: readonly InboundNote[], downUntil?: number): void {
    const f = this.store.file(name);
    const k = f ? storedKindOf(name) : kindOf(name, true);
    const tx = this.store.begin();
    const fileId = f ? f.id : tx.createFile(name, k.synced ? FF.SYNCED : 0);
    for (const input of inputs) {
      const id = k.queue ? undefined : checkId(input.id ?? '', false);
      if (input.deleted) {
        if (id !== undefined && f?.keyed.get(id)) tx.addNote(fileId, { id, time: input.time ?? 0, flags: NF.DELETED | NF.FROM_HUB });
      } else {
        const enc = this.#encodeFromHub(f, input.body);
        const flags = input.local ? 0 : NF.FROM_HUB;
        tx.addNote(fileId, { id, time: input.time || (this.#now() ?? 0), format: enc.format, body: enc.bytes, payload: input.payload, flags });
      }
    }
    if (downUntil !== undefined) tx.setKV(NS.SYNC, name, String(downUntil));
    this.store.commit(tx);
    if (inputs.length > 0) this.onChange?.(name, true);
  }

  /** A database note changed here and not yet acknowledged by the hub, if `id` is one. */
  dirty(name: string, id: string): Note | undefined {
    const f = this.store.file(name);
    const e = f?.keyed.get(id);
    if (!f || !e || e.flags & NF.FROM_HUB || e.seq < (f.trackers.get(HUB_TRACKER) ?? 0)) return undefined;
    return this.#toNote(f, this.store.readKeyed(f, id)!);
  }

  /** The hub change counter this file has applied up to (0: nothing yet). */
  downUntil(name: string): number {
    return Number(this.store.kv(NS.SYNC, name) ?? 0);
  }

  /** The hub was reset: ask it for everything again, and offer it every database note. */
  forgetHubPositions(): void {
    const tx = this.store.begin();
    for (const key of this.store.kvKeys(NS.SYNC)) tx.setKV(NS.SYNC, key, undefined);
    for (const f of this.store.files()) if (f.trackers.has(HUB_TRACKER)) tx.setTracker(f.id, HUB_TRACKER, 0);
    this.store.commit(tx);
  }

  // ---- inside ----

  #remove(tx: Txn, f: FileState, k: NotefileKind, note: Note): void {
    if (k.queue) tx.drop(f.id, [note.seq, note.seq + 1]);
    else tx.addNote(f.id, { id: note.id, time: this.#now() ?? 0, flags: NF.DELETED });
  }

  #countFrom(f: FileState, from: number, deleted: boolean): number {
    let n = f.queued.countFrom(from);
    for (const e of f.keyed.values()) if (e.seq >= from && (deleted || !(e.flags & NF.DELETED))) n++;
    return n;
  }

  #newId(f: FileState | undefined): string {
    for (;;) {
      const id = this.#randomId();
      if (!f?.keyed.has(id)) return id;
    }
  }

  /** `tx` removes or replaces the notes with change numbers in `gone`: let the codec forget, in
   * the same transaction, what no note needs any more. */
  #prune(tx: Txn, f: FileState, gone: readonly number[]): void {
    if (f.info && gone.length) this.codec?.prune?.(f, tx, gone);
  }

  #encode(f: FileState | undefined, body: JsonObject | undefined, full: boolean, payload?: Uint8Array): { format: number; bytes?: Uint8Array; templated: boolean } {
    const packed = this.codec?.encode(f, body, full, payload);
    if (packed) return { ...packed, templated: true };
    return { format: FORMAT_JSON, bytes: body && utf8Encode(JSON.stringify(body)), templated: false };
  }

  /** A hub note goes in with the file's template when it fits it, else as JSON: the card must take
   * what the hub sends (templates only save the card's flash and bandwidth). */
  #encodeFromHub(f: FileState | undefined, body: JsonObject | undefined): { format: number; bytes?: Uint8Array } {
    try {
      return this.#encode(f, body, false);
    } catch (e) {
      if (!(e instanceof CardError) || !e.tags.includes('template-incompatible')) throw e;
      return { format: FORMAT_JSON, bytes: body && utf8Encode(JSON.stringify(body)) };
    }
  }

  #toNote(f: FileState, s: StoredNote, raw?: number): Note {
    const note: Note = {
      id: s.id ?? String(s.seq),
      seq: s.seq,
      deleted: (s.flags & NF.DELETED) !== 0,
      synced: (s.flags & NF.FROM_HUB) !== 0 || s.seq < (f.trackers.get(HUB_TRACKER) ?? 0),
    };
    if (s.time) note.time = s.time;
    if (s.body) {
      if (s.format === FORMAT_JSON) note.body = JSON.parse(utf8Decode(s.body)) as JsonObject;
      else if (s.format === raw) {
        note.format = s.format;
        note.record = s.body;
      } else if (this.codec) {
        const body = this.codec.decode(f, s.format, s.body, (s.flags & NF.FULL) !== 0);
        if (Object.keys(body).length > 0 || s.flags & NF.FULL) note.body = body;
        note.format = s.format;
        note.record = s.body;
      } else fail(`note ${note.id} in ${f.name} uses template format ${s.format}, which this build cannot read`, 'template-incompatible');
    }
    if (s.payload) note.payload = s.payload;
    return note;
  }
}

function checkId(id: string, chosen: boolean): string {
  const error = noteIdError(id, chosen);
  if (error !== undefined) fail(error, 'bad-arg');
  return id;
}

/** A note of a synced file must cross in one NOTES frame (version 1 has no fragmentation): as its
 * template record and, should the template change before it is sent, as JSON. */
function checkFrame(name: string, k: NotefileKind, body: JsonObject | undefined, enc: { bytes?: Uint8Array; templated: boolean }, payload: Uint8Array | undefined): void {
  const id = k.queue ? undefined : MAX_NOTE_ID;
  const error = noteFrameError(name, { id, body, payload }) ?? (enc.templated && enc.bytes ? noteFrameError(name, { id, record: enc.bytes, payload }) : undefined);
  if (error !== undefined) fail(`note: ${error}`, 'too-big');
}

function checkTracker(name: string): void {
  if (name === '' || name.length > 100 || name.charCodeAt(0) < 32) fail('tracker: must be a name of 1 to 100 characters', 'bad-arg');
}
