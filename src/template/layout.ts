// Note templates: a body of type hints compiled into an immutable record layout.
// The hints and the record format are in docs/TEMPLATES.md.
import { fail } from '../errors';
import { Json, JsonObject, isObject } from '../json';
import { every, isDigit } from '../util/chars';
import { crc32 } from '../util/crc32';
import { utf8Encode } from '../util/utf8';

export type TemplateFormat = 'default' | 'compact';
/** Compact templates carry the note's time and location in these root fields. */
export type Special = 'time' | 'ltime' | 'lat' | 'lon';

export interface BoolField { readonly kind: 'bool' }
export interface IntField {
  readonly kind: 'int';
  readonly hint: number;
  readonly size: 1 | 2 | 3 | 4 | 8;
  readonly signed: boolean;
  readonly min: number;
  readonly max: number;
  readonly range: string;
}
export interface FloatField { readonly kind: 'float'; readonly hint: number; readonly size: 2 | 4 | 8 }
export interface StringField {
  readonly kind: 'string';
  /** Longest value in UTF-8 bytes (longer values are truncated); 0 = no limit. */
  readonly max: number;
  /** Compact format: a one-byte length prefix instead of a varint. */
  readonly short: boolean;
  /** Bytes counted for this string by templateBytes (its maximum, else the sample's length). */
  readonly estimate: number;
}
export interface ObjectField {
  readonly kind: 'object';
  readonly names: readonly string[];
  readonly fields: readonly Field[];
  readonly index: ReadonlyMap<string, number>;
  /** Root of a compact template only: which fields carry the note's time and location. */
  readonly specials: readonly (Special | undefined)[];
}
/** `[h1, h2, ...]`: a fixed number of positional values. */
export interface TupleField { readonly kind: 'tuple'; readonly items: readonly Field[] }
/** `[h]`: any number of values of one hint. */
export interface ListField { readonly kind: 'list'; readonly item: Field }

export type Field = BoolField | IntField | FloatField | StringField | ObjectField | TupleField | ListField;

export interface TemplateOptions {
  /** Payload bytes per note (0 or absent: no declared payload). */
  length?: number;
  format?: TemplateFormat;
}

/** Nesting deeper than this is refused: every level costs stack on the device. */
const MAX_DEPTH = 8;
/** Compact strings have a one-byte length. */
const COMPACT_STRING_MAX = 255;

function int(hint: number, size: 1 | 2 | 3 | 4 | 8, signed: boolean): IntField {
  const bits = size * 8;
  // The largest double below 2^63 is 2^63 - 1024: every integer double up to it fits in 8 bytes.
  const max = signed ? (bits === 64 ? 2 ** 63 - 1024 : 2 ** (bits - 1) - 1) : 2 ** bits - 1;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const range = bits === 64 ? '-2^63..2^63-1' : `${min}..${max}`;
  return Object.freeze({ kind: 'int', hint, size, signed, min, max, range });
}

const BOOL: BoolField = Object.freeze({ kind: 'bool' });

/** Every numeric hint; the field objects are immutable and shared by all templates. */
const NUMERIC: ReadonlyMap<number, IntField | FloatField> = new Map<number, IntField | FloatField>([
  [11, int(11, 1, true)], [12, int(12, 2, true)], [13, int(13, 3, true)], [14, int(14, 4, true)],
  [18, int(18, 8, true)],
  [21, int(21, 1, false)], [22, int(22, 2, false)], [23, int(23, 3, false)], [24, int(24, 4, false)],
  [12.1, Object.freeze({ kind: 'float', hint: 12.1, size: 2 })],
  [14.1, Object.freeze({ kind: 'float', hint: 14.1, size: 4 })],
  [18.1, Object.freeze({ kind: 'float', hint: 18.1, size: 8 })],
]);

const HINTS_HELP = 'use true, a string, 11 12 13 14 18, 21 22 23 24, 12.1 14.1 18.1, an object or an array';

/** Root fields of a compact template that carry note metadata, with the hints they accept. */
const SPECIALS: Readonly<Record<string, { special: Special; hints: readonly number[] }>> = Object.freeze({
  _time: Object.freeze({ special: 'time', hints: Object.freeze([14]) }),
  _ltime: Object.freeze({ special: 'ltime', hints: Object.freeze([14]) }),
  _lat: Object.freeze({ special: 'lat', hints: Object.freeze([12.1, 14.1, 18.1]) }),
  _lon: Object.freeze({ special: 'lon', hints: Object.freeze([12.1, 14.1, 18.1]) }),
});

/** Bytes of an unsigned LEB128 varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Header bytes counted by templateBytes: the flags byte. The card keeps a note's time outside
 * the record (in the store's note record, in the sync's note header), in both formats. */
export function headerEstimate(_format: TemplateFormat): number {
  return 1;
}

export class Template {
  /** The hints exactly as given (deep-frozen): what verify answers. */
  readonly body: JsonObject;
  readonly length: number;
  readonly format: TemplateFormat;
  readonly root: ObjectField;
  /** Every field has a fixed size (no strings, no variable arrays). */
  readonly fixed: boolean;
  /** Bytes per note before compression (see templateBytes in docs/TEMPLATES.md; the card stores exactly this for fixed templates). */
  readonly bytes: number;
  /** The stable serialization: equal keys, identical templates. */
  readonly key: string;

  constructor(body: JsonObject, length: number, format: TemplateFormat, root: ObjectField) {
    this.body = body;
    this.length = length;
    this.format = format;
    this.root = root;
    this.fixed = isFixed(root);
    // The payload is stored and sent beside the record, not inside it.
    this.bytes = headerEstimate(format) + estimate(root) + length;
    this.key = JSON.stringify(format === 'compact' ? { body, length, format } : { body, length });
    Object.freeze(this);
  }
}

function isFixed(f: Field): boolean {
  switch (f.kind) {
    case 'string':
    case 'list':
      return false;
    case 'object':
      return f.fields.every(isFixed);
    case 'tuple':
      return f.items.every(isFixed);
    default:
      return true;
  }
}

function estimate(f: Field): number {
  switch (f.kind) {
    case 'bool':
      return 1;
    case 'int':
    case 'float':
      return f.size;
    case 'string':
      return (f.short ? 1 : varintSize(f.estimate)) + f.estimate;
    case 'object':
      return f.fields.reduce((n, x) => n + estimate(x), 0);
    case 'tuple':
      return f.items.reduce((n, x) => n + estimate(x), 0);
    case 'list':
      return 1 + estimate(f.item); // counted as holding one value, like its hint
  }
}

function frozenCopy(v: Json): Json {
  if (Array.isArray(v)) return Object.freeze(v.map(frozenCopy)) as Json[];
  if (isObject(v)) {
    const o: JsonObject = {};
    for (const k of Object.keys(v)) o[k] = frozenCopy(v[k]);
    return Object.freeze(o);
  }
  return v;
}

function describe(v: Json): string {
  const s = JSON.stringify(v);
  return s.length > 24 ? `${s.slice(0, 21)}...` : s;
}

function compileField(hint: Json, path: string, compact: boolean, depth: number): Field {
  if (depth > MAX_DEPTH) fail(`${path}: templates nest at most ${MAX_DEPTH} levels`, 'bad-arg');
  if (hint === true) return BOOL;
  if (typeof hint === 'number') {
    const f = NUMERIC.get(hint);
    if (f === undefined) fail(`${path}: ${hint} is not a type hint (${HINTS_HELP})`, 'bad-arg');
    return f;
  }
  if (typeof hint === 'string') return compileString(hint, path, compact);
  if (Array.isArray(hint)) {
    if (hint.length === 0) fail(`${path}: an array hint needs at least one element hint`, 'bad-arg');
    const items = hint.map((h, i) => compileField(h, `${path}[${i}]`, compact, depth + 1));
    if (items.length === 1) return Object.freeze({ kind: 'list', item: items[0] });
    return Object.freeze({ kind: 'tuple', items: Object.freeze(items) });
  }
  if (isObject(hint)) return compileObject(hint, path, compact, depth, false);
  fail(`${path}: ${describe(hint)} is not a type hint (${HINTS_HELP})`, 'bad-arg');
}

function compileString(hint: string, path: string, compact: boolean): StringField {
  // A numeric string "N" is a maximum length in bytes; any other string is variable length.
  const numeric = hint.length >= 1 && hint.length <= 9 && hint[0] !== '0' && every(hint, isDigit);
  let max = numeric ? Number(hint) : 0;
  if (compact) {
    if (max > COMPACT_STRING_MAX) {
      fail(`${path}: compact templates hold strings of at most ${COMPACT_STRING_MAX} bytes`, 'bad-arg');
    }
    if (max === 0) max = COMPACT_STRING_MAX;
  }
  const sample = utf8Encode(hint).length;
  const est = numeric ? max : max > 0 ? Math.min(sample, max) : sample;
  return Object.freeze({ kind: 'string', max, short: compact, estimate: est });
}

function compileObject(hint: JsonObject, path: string, compact: boolean, depth: number, root: boolean): ObjectField {
  const names = Object.keys(hint);
  const fields: Field[] = [];
  const specials: (Special | undefined)[] = [];
  const index = new Map<string, number>();
  for (const name of names) {
    const where = path ? `${path}.${name}` : name;
    if (name === '__proto__') fail(`${where}: not allowed as a field name`, 'bad-arg');
    const special = root && compact ? SPECIALS[name] : undefined;
    if (special && !special.hints.includes(hint[name] as number)) {
      fail(`${where}: a compact template's ${name} takes hint ${special.hints.join(' or ')}`, 'bad-arg');
    }
    index.set(name, fields.length);
    fields.push(compileField(hint[name], where, compact, depth + 1));
    specials.push(special?.special);
  }
  return Object.freeze({
    kind: 'object',
    names: Object.freeze(names),
    fields: Object.freeze(fields),
    index,
    specials: Object.freeze(specials),
  });
}

/** Compile a note.template body into its record layout; bad hints fail with {bad-arg}. */
export function compileTemplate(body: JsonObject, options: TemplateOptions = {}): Template {
  if (!isObject(body)) fail('body: a template body must be a JSON object of type hints', 'bad-arg');
  const length = options.length ?? 0;
  if (!Number.isInteger(length) || length < 0) fail('length: must be a whole number of bytes', 'bad-arg');
  const format = options.format ?? 'default';
  if (format !== 'default' && format !== 'compact') fail('format: must be "compact" or absent', 'bad-arg');
  const root = compileObject(body, '', format === 'compact', 0, true);
  return new Template(frozenCopy(body) as JsonObject, length, format, root);
}

/** Bytes per note before compression: the note.template {bytes} reply. */
export function templateBytes(template: Template): number {
  return template.bytes;
}

/** A stable text for storing a template beside the notes packed with it. */
export function serializeTemplate(template: Template): string {
  return template.key;
}

/** Rebuild a template from serializeTemplate's text (e.g. read back from flash). */
export function parseTemplate(text: string): Template {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    fail('stored template is not JSON', 'io');
  }
  if (!isObject(v) || !isObject(v.body) || typeof v.length !== 'number') fail('stored template is malformed', 'io');
  return compileTemplate(v.body, { length: v.length, format: v.format === 'compact' ? 'compact' : 'default' });
}

/** True when re-setting `b` over `a` changes nothing (same hints, order, length, format). */
export function sameTemplate(a: Template | undefined, b: Template | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.key === b.key);
}

/** A 32-bit identity (CRC-32 of the serialization) to tag records with their template version. */
export function templateId(template: Template): number {
  return crc32(utf8Encode(template.key));
}
