// Templates on notefiles: the flash-backed TemplateRegistry behind note.template, and the
// BodyCodec that packs and unpacks templated notes (docs/STORAGE.md, "Templated notes").
//
// A notefile's templates live in its FILE record's info text, as JSON:
//   {"port":7,"versions":[{"v":1,"from":1,"to":9,"t":{"body":{...},"length":0}}, ...]}
// `v` (1..255) is the version id written in the format byte of every note packed with it.
// The version without `to` is the active one. Every note write (add, update, inbound) takes a
// new change number and packs with the version active at that moment, so version v's notes all
// have change numbers in [from, to): a version is kept while a live note sits in that range and
// dropped, in the same transaction as the removal of its last note, once none does. Decoding
// always uses the note's own format byte.
import { fail } from '../errors';
import { type JsonObject, isObject } from '../json';
import type { TemplateRegistry, TemplateSetting } from '../template/registry';
import { FORMAT_JSON, NF } from '../store/format';
import type { ReadonlyFileState as FileState, Txn } from '../store/store';
import { utf8Encode } from '../util/utf8';
import { MAX_TEMPLATE_DEFINITION } from '../rules/names';
import { Template, compileTemplate, packNote, recordIsFull, serializeTemplate, unpackNote } from '../template/index';
import type { BodyCodec, Notefiles } from './notefiles';

/** One template version of a notefile. */
export interface TemplateVersion {
  readonly v: number;
  readonly from: number;
  /** Undefined for the active version. */
  readonly to?: number;
  readonly template: Template;
}

interface FileTemplates {
  port?: number;
  versions: TemplateVersion[];
}

/** Version ids fit the note record's format byte; 0 is JSON. */
const MAX_VERSION = 255;
/** The longest template metadata per notefile (UTF-8 bytes). The FILE record holding it is
 * rewritten whenever compaction retires its block, so it must stay small beside a block. It holds
 * the active template's definition, so every template a notefile keeps fits a TEMPLATE frame. */
export const MAX_TEMPLATE_INFO = MAX_TEMPLATE_DEFINITION;

export class NoteTemplates implements TemplateRegistry, BodyCodec {
  readonly #notefiles: Notefiles;
  /** Parsed info per file, reused while the info text is unchanged. */
  readonly #cache = new Map<FileState, { info: string; parsed: FileTemplates }>();

  constructor(notefiles: Notefiles) {
    this.#notefiles = notefiles;
  }

  // ---- TemplateRegistry (note.template) ----

  get(file: string): TemplateSetting | undefined {
    const f = this.#notefiles.store.file(file);
    const t = f && this.#parsed(f);
    const active = t && activeOf(t);
    return active && { template: active.template, port: t.port };
  }

  set(file: string, template: Template, port: number | undefined): void {
    const f = this.#notefiles.store.file(file);
    const t: FileTemplates = f ? this.#parsed(f) : { versions: [] };
    const active = activeOf(t);
    let versions = t.versions;
    if (!active || active.template.key !== template.key) {
      const at = f ? f.counter : 1;
      versions = this.#retire(f, versions, at);
      versions.push({ v: newVersionId(versions), from: at, template });
    }
    const info = infoText({ port, versions });
    if (utf8Encode(info).length > MAX_TEMPLATE_INFO) {
      const why = versions.length > 1 ? `with the ${versions.length - 1} older versions its notes still use` : 'alone';
      fail(`body: this template ${why} needs more than the ${MAX_TEMPLATE_INFO} bytes a notefile keeps for templates; sync or delete older notes first`, 'too-big');
    }
    // names were checked by the caller (note.template refuses _ names; the card's own system files use them)
    this.#notefiles.setInfo(file, info, true);
  }

  delete(file: string): void {
    const f = this.#notefiles.store.file(file);
    const t = f && this.#parsed(f);
    if (!t || (!activeOf(t) && t.port === undefined)) return;
    this.#notefiles.setInfo(file, infoText({ versions: this.#retire(f, t.versions, f.counter) }));
  }

  portInUse(port: number, file: string): boolean {
    for (const f of this.#notefiles.store.files()) {
      if (f.name !== file && f.info && this.#parsed(f).port === port) return true;
    }
    return false;
  }

  // ---- for the notefiles and the sync ----

  /** The template version `v` of a file (what a note with format byte v was packed with). */
  version(f: FileState, v: number): TemplateVersion | undefined {
    return this.#parsed(f).versions.find((x) => x.v === v);
  }

  /** Every version the file keeps, oldest first. */
  versions(f: FileState): readonly TemplateVersion[] {
    return this.#parsed(f).versions;
  }

  // ---- BodyCodec ----

  encode(f: FileState | undefined, body: JsonObject | undefined, full: boolean, payload?: Uint8Array): { format: number; bytes?: Uint8Array } | undefined {
    const active = f && activeOf(this.#parsed(f));
    if (!active) return undefined;
    const t = active.template;
    if (payload && t.length > 0 && payload.length > t.length) {
      fail(`payload: ${payload.length} bytes, the template of ${f.name} allows ${t.length}`, 'template-incompatible');
    }
    if (!body) return { format: FORMAT_JSON };
    // No time or location in the record: the note record keeps the time, and compact
    // special fields are stored exactly as the body gives them.
    return { format: active.v, bytes: packNote(t, body, undefined, { full }) };
  }

  decode(f: FileState, format: number, bytes: Uint8Array): JsonObject {
    const version = this.version(f, format);
    if (!version) fail(`note in ${f.name} uses template version ${format}, which the notefile no longer has`, 'io');
    const t = version.template;
    const note = unpackNote(t, bytes);
    const full = recordIsFull(bytes);
    if (t.format !== 'compact' || !t.root.specials.some((s) => s !== undefined)) return note.body ?? {};
    // Put the compact special fields back where the body had them, in template order.
    const body: JsonObject = {};
    t.root.names.forEach((name, i) => {
      const special = t.root.specials[i];
      const v = special === undefined ? note.body?.[name] : note[special];
      if (v !== undefined) body[name] = v;
      else if (special !== undefined && full) body[name] = 0;
    });
    return body;
  }

  /** `tx` removes or replaces the notes with change numbers in `gone` ([lo, hi) pairs): add to it
   * the forgetting of versions no note will use any more. */
  prune(f: FileState, tx: Txn, gone: readonly number[]): void {
    const t = this.#parsed(f);
    const kept = t.versions.filter((x) => x.to === undefined || inUse(f, x, gone));
    if (kept.length === t.versions.length) return;
    // Shrinking the metadata frees space: keep a deletion able to use the full-store reserve.
    const freeing = tx.freeing;
    tx.setFileInfo(f, infoText({ port: t.port, versions: kept }));
    tx.freeing = freeing;
  }

  // ---- inside ----

  /** End the active version at change number `at`, dropping it at once when no note uses it. */
  #retire(f: FileState | undefined, versions: readonly TemplateVersion[], at: number): TemplateVersion[] {
    const out: TemplateVersion[] = [];
    for (const x of versions) {
      const ended = x.to === undefined ? { ...x, to: at } : x;
      if (f && inUse(f, ended, [])) out.push(ended);
    }
    return out;
  }

  #parsed(f: FileState): FileTemplates {
    const hit = this.#cache.get(f);
    if (hit && hit.info === f.info) return hit.parsed;
    const parsed = parseInfo(f.info);
    if (this.#cache.size > 32) this.#cache.clear();
    this.#cache.set(f, { info: f.info, parsed });
    return parsed;
  }
}

function activeOf(t: FileTemplates): TemplateVersion | undefined {
  return t.versions.find((x) => x.to === undefined);
}

/** Whether a live note not in `gone` may have been packed with this version (a change number in
 * its range). */
function inUse(f: FileState, x: TemplateVersion, gone: readonly number[]): boolean {
  const to = x.to ?? Infinity;
  for (let s = f.queued.next(x.from); s >= 0 && s < to; ) {
    const end = goneUntil(gone, s);
    if (end < 0) return true;
    s = f.queued.next(end);
  }
  for (const e of f.keyed.values()) {
    if (e.seq >= x.from && e.seq < to && !(e.flags & NF.DELETED) && goneUntil(gone, e.seq) < 0) return true;
  }
  return false;
}

/** The end of the [lo, hi) range of `gone` holding `seq`, or -1. */
function goneUntil(gone: readonly number[], seq: number): number {
  for (let i = 0; i < gone.length; i += 2) if (seq >= gone[i] && seq < gone[i + 1]) return gone[i + 1];
  return -1;
}

function newVersionId(versions: readonly TemplateVersion[]): number {
  if (versions.length >= MAX_VERSION) fail(`a notefile keeps at most ${MAX_VERSION} template versions with notes`, 'too-big');
  let v = versions.reduce((m, x) => Math.max(m, x.v), 0);
  do v = (v % MAX_VERSION) + 1;
  while (versions.some((x) => x.v === v));
  return v;
}

function infoText(t: FileTemplates): string {
  if (t.port === undefined && t.versions.length === 0) return '';
  const versions = t.versions.map((x) => {
    const o: JsonObject = { v: x.v, from: x.from };
    if (x.to !== undefined) o.to = x.to;
    o.t = JSON.parse(serializeTemplate(x.template)) as JsonObject;
    return o;
  });
  const o: JsonObject = {};
  if (t.port !== undefined) o.port = t.port;
  o.versions = versions;
  return JSON.stringify(o);
}

function parseInfo(info: string): FileTemplates {
  if (info === '') return { versions: [] };
  let o: unknown;
  try {
    o = JSON.parse(info);
  } catch {
    fail('notefile template information is not JSON', 'io');
  }
  if (!isObject(o) || !Array.isArray(o.versions)) fail('notefile template information is malformed', 'io');
  const versions: TemplateVersion[] = [];
  for (const x of o.versions) {
    if (!isObject(x) || typeof x.v !== 'number' || typeof x.from !== 'number' || !isObject(x.t) || !isObject(x.t.body)) {
      fail('notefile template version is malformed', 'io');
    }
    const t = x.t;
    const template = compileTemplate(t.body as JsonObject, {
      length: typeof t.length === 'number' ? t.length : 0,
      format: t.format === 'compact' ? 'compact' : 'default',
    });
    versions.push(typeof x.to === 'number' ? { v: x.v, from: x.from, to: x.to, template } : { v: x.v, from: x.from, template });
  }
  return { port: typeof o.port === 'number' ? o.port : undefined, versions };
}
