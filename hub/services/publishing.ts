/**
 * The NoteHub publishing API (version 1.3): publishers (a PID they choose, a PSK the hub draws)
 * publish Markdown notes as pages, read them back and update them; each request is signed with an
 * MD5 over the PSK. Pages are rendered by hub/pages.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HubError, seconds, type ServiceContext } from './common';
import type { PublishedNoteRecord, PublisherRecord } from '../store/types';

export const API_VERSIONS = ['1.0', '1.1', '1.2', '1.3'];
export const MAX_PID = 16;
/** A note's Markdown source, bytes (the route's body limit is larger). */
export const MAX_NOTE = 256 * 1024;
const SLUG_WORDS = 5;
const SLUG_CHARS = 60;
const SHORT_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const SHORT_LEN = 5;

export const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** Same text, compared in constant time (hex digests: case does not matter). */
function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase());
  const y = Buffer.from(b.toLowerCase());
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The title: the first non-empty line, without its Markdown heading marks. */
export function titleOf(note: string): string {
  for (const line of note.split('\n')) {
    const t = line.replace(/^\s*#+\s*/, '').replace(/\s*#*\s*$/, '').trim();
    if (t) return t.slice(0, 200);
  }
  return 'Untitled';
}

/** "Lorem Ipsum, dolor!" -> "lorem-ipsum-dolor": the first few words, letters and digits only. */
export function slugOf(title: string): string {
  const words = title.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .split(/[^\p{L}\p{N}]+/u).filter(Boolean).slice(0, SLUG_WORDS);
  const slug = words.join('-').slice(0, SLUG_CHARS).replace(/-+$/, '');
  return slug || 'note';
}

function shortId(): string {
  const b = randomBytes(SHORT_LEN);
  let s = '';
  for (const x of b) s += SHORT_ALPHABET[x % SHORT_ALPHABET.length];
  return s;
}

export const isShortId = (s: string): boolean => s.length === SHORT_LEN && [...s].every((ch) => SHORT_ALPHABET.includes(ch));

/** What POST/PUT /api/note read (every parameter a string when given). */
export type NoteParams = Record<string, string | undefined>;

export interface PublishedUrls { noteID: string; longURL: string; shortURL: string }

export class PublishingService {
  readonly #ctx: ServiceContext;
  constructor(ctx: ServiceContext) { this.#ctx = ctx; }

  /** A new publisher, or a new PSK for an existing one (which also lifts a revocation). */
  async createPublisher(pid: string, description = ''): Promise<PublisherRecord> {
    if (!pid || pid.length > MAX_PID || !/^[A-Za-z0-9_.-]+$/.test(pid)) {
      throw new HubError(400, `a PID is 1 to ${MAX_PID} letters, digits, '.', '_' or '-'`);
    }
    const old = await this.#ctx.store.publisher(pid);
    const rec: PublisherRecord = { pid, psk: randomBytes(24).toString('base64url'), description: description || old?.description || pid, created: old?.created ?? seconds(this.#ctx), revoked: false };
    await this.#ctx.store.putPublisher(rec);
    return rec;
  }

  async revokePublisher(pid: string): Promise<void> {
    const p = await this.#ctx.store.publisher(pid);
    if (!p) throw new HubError(404, `no publisher ${pid}`);
    await this.#ctx.store.putPublisher({ ...p, revoked: true });
  }

  async #publisher(pid: string | undefined): Promise<PublisherRecord> {
    const p = pid ? await this.#ctx.store.publisher(pid) : null;
    if (!p || p.revoked) throw new HubError(403, 'unknown or revoked publisher ID');
    return p;
  }

  static #version(v: string | undefined): void {
    if (!v) throw new HubError(400, 'the version parameter is required');
    if (!API_VERSIONS.includes(v)) throw new HubError(400, `unsupported API version ${v} (this server speaks ${API_VERSIONS.join(', ')})`);
  }

  static #note(n: string | undefined): string {
    if (n === undefined || !n.trim()) throw new HubError(400, 'the note parameter is required');
    if (Buffer.byteLength(n) > MAX_NOTE) throw new HubError(413, `a note may be at most ${MAX_NOTE} bytes`);
    return n;
  }

  static urls(base: string, n: PublishedNoteRecord, p: NoteParams = {}): PublishedUrls {
    // the theme and fonts only change the URLs handed back
    const q = new URLSearchParams();
    for (const k of ['theme', 'text-font', 'header-font']) if (p[k]) q.set(k, p[k]!);
    const tail = q.size ? `?${q}` : '';
    return { noteID: n.noteID, longURL: `${base}/${n.noteID}${tail}`, shortURL: `${base}/${n.shortID}${tail}` };
  }

  async get(p: NoteParams): Promise<{ rec: PublishedNoteRecord; publisher: string }> {
    PublishingService.#version(p.version);
    if (!p.noteID) throw new HubError(400, 'the noteID parameter is required');
    const rec = await this.#ctx.store.publishedNote(p.noteID);
    if (!rec || rec.noteID !== p.noteID) throw new HubError(404, `no note ${p.noteID}`);
    const pub = await this.#ctx.store.publisher(rec.pid);
    return { rec, publisher: pub?.description ?? rec.pid };
  }

  /** POST: signature = md5(pid + psk + note). */
  async publish(p: NoteParams): Promise<PublishedNoteRecord> {
    PublishingService.#version(p.version);
    const note = PublishingService.#note(p.note);
    const pub = await this.#publisher(p.pid);
    if (!p.signature || !sameHex(p.signature, md5(pub.pid + pub.psk + note))) throw new HubError(403, 'signature mismatch');
    if (p.password !== undefined && !/^[0-9a-fA-F]{32}$/.test(p.password)) throw new HubError(400, 'password must be the MD5 hash (32 hex digits) of the plain password');
    const now = seconds(this.#ctx);
    const d = new Date(now * 1000);
    const title = titleOf(note);
    const base = `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}/${slugOf(title)}`;
    for (let n = 1, tries = 0; tries < 1000; tries++) {
      const noteID = n === 1 ? base : `${base}-${n}`;
      if (await this.#ctx.store.publishedNote(noteID)) { n++; continue; }
      const rec: PublishedNoteRecord = {
        noteID, shortID: shortId(), pid: pub.pid, note, title, password: (p.password ?? '').toLowerCase(), theme: p.theme ?? '',
        published: now, edited: null, views: 0,
      };
      // false: a concurrent publish took the ID, or the short ID was drawn twice: try again
      if (await this.#ctx.store.createPublishedNote(rec)) return rec;
    }
    throw new HubError(503, 'could not allocate a note ID; try again');
  }

  /** PUT: signature = md5(pid + psk + noteID + note + password). */
  async update(p: NoteParams): Promise<PublishedNoteRecord> {
    PublishingService.#version(p.version);
    const note = PublishingService.#note(p.note);
    if (!p.noteID) throw new HubError(400, 'the noteID parameter is required');
    if (!p.password) throw new HubError(400, 'the password parameter is required');
    const pub = await this.#publisher(p.pid);
    if (!p.signature || !sameHex(p.signature, md5(pub.pid + pub.psk + p.noteID + note + p.password))) throw new HubError(403, 'signature mismatch');
    const rec = await this.#ctx.store.publishedNote(p.noteID);
    if (!rec || rec.noteID !== p.noteID) throw new HubError(404, `no note ${p.noteID}`);
    // a note published without a password cannot be edited
    if (!rec.password || !sameHex(rec.password, p.password)) throw new HubError(403, 'password mismatch');
    const title = titleOf(note);
    const edited = seconds(this.#ctx);
    await this.#ctx.store.updatePublishedNote(rec.noteID, note, title, edited);
    return { ...rec, note, title, edited };
  }

  /** A page view: the note (by its ID or short ID), counted. */
  async view(id: string): Promise<PublishedNoteRecord | null> {
    const rec = await this.#ctx.store.publishedNote(id);
    if (!rec) return null;
    await this.#ctx.store.countNoteView(rec.noteID);
    return { ...rec, views: rec.views + 1 };
  }
}

/** "2014-1-3", as the API's statistics give dates. */
export const statDate = (t: number | null): string | undefined => {
  if (t === null) return undefined;
  const d = new Date(t * 1000);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
};
