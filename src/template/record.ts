// Templated notes as compact binary records: pack a JSON note, unpack it back to JSON.
//
//   flags u8                 FULL 1, TIME 2, LOCATION 4, LTIME 8, PAYLOAD 16
//   time u32                 if TIME      (never in compact records: _time carries it)
//   lat i32, lon i32         if LOCATION  (degrees x 1e7)
//   ltime u32                if LTIME
//   body                     every template field, in template order, no names
//   payload varint n, n bytes  if PAYLOAD
//
// All little-endian. Field encodings: docs/TEMPLATES.md.
import { fail } from '../errors';
import { Json, JsonObject, isObject } from '../json';
import { base64Encode } from '../util/base64';
import { Reader, Writer, corrupt } from './record-io';
import { HALF_MAX } from './float';
import type { Field, ObjectField, Special, Template } from './layout';

export const FULL = 1;
export const TIME = 2;
export const LOCATION = 4;
export const LTIME = 8;
export const PAYLOAD = 16;
const KNOWN_FLAGS = FULL | TIME | LOCATION | LTIME | PAYLOAD;

const TWO32 = 2 ** 32;

export interface PackOptions {
  /** Keep empty values (null, 0, false, "") when the note is read back. */
  full?: boolean;
  /** Note time, epoch seconds. */
  time?: number;
  lat?: number;
  lon?: number;
  /** Time of the location fix, epoch seconds. */
  ltime?: number;
}

/** A templated note read back as JSON (payload in base64, as the note requests show it). */
export type UnpackedNote = {
  body?: JsonObject;
  payload?: string;
  time?: number;
  lat?: number;
  lon?: number;
  ltime?: number;
};

// ---- packing ----

function incompatible(path: string, why: string): never {
  fail(`${path}: ${why}`, 'template-incompatible');
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  return `${v}`;
}

/** A field's path for error messages ("gps.lat", "samples[2]"), built only when failing. */
function pathOf(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** Write the zero value of a field: what an absent or null value is stored as. */
function packEmpty(w: Writer, f: Field): void {
  switch (f.kind) {
    case 'bool':
      return w.u8(0);
    case 'int':
      return w.int(0, f.size);
    case 'float':
      return w.float(0, f.size);
    case 'string':
    case 'list':
      return w.u8(0); // zero length (one byte as a varint and as a compact prefix)
    case 'object':
      for (const x of f.fields) packEmpty(w, x);
      return;
    case 'tuple':
      for (const x of f.items) packEmpty(w, x);
  }
}

function packField(w: Writer, f: Field, v: Json | undefined, parent: string, key: string | number): void {
  if (v === undefined || v === null) return packEmpty(w, f);
  switch (f.kind) {
    case 'bool':
      if (typeof v !== 'boolean') incompatible(pathOf(parent, key), `expected true or false, got ${typeName(v)}`);
      return w.u8(v ? 1 : 0);
    case 'int':
      if (typeof v !== 'number') incompatible(pathOf(parent, key), `expected an integer (hint ${f.hint}), got ${typeName(v)}`);
      if (!Number.isInteger(v)) incompatible(pathOf(parent, key), `${v} is not an integer (hint ${f.hint})`);
      if (v < f.min || v > f.max) incompatible(pathOf(parent, key), `${v} is outside ${f.range} (hint ${f.hint})`);
      return w.int(v, f.size);
    case 'float':
      if (typeof v !== 'number') incompatible(pathOf(parent, key), `expected a number (hint ${f.hint}), got ${typeName(v)}`);
      if ((f.size === 2 && Math.abs(v) >= 65520) || (f.size === 4 && !Number.isFinite(Math.fround(v)))) {
        incompatible(pathOf(parent, key), `${v} is too large for hint ${f.hint}${f.size === 2 ? ` (at most ${HALF_MAX})` : ''}`);
      }
      return w.float(v, f.size);
    case 'string':
      if (typeof v !== 'string') incompatible(pathOf(parent, key), `expected a string, got ${typeName(v)}`);
      return w.string(v, f.max, f.short);
    case 'object':
      if (!isObject(v)) incompatible(pathOf(parent, key), `expected an object, got ${typeName(v)}`);
      return packObject(w, f, v, pathOf(parent, key), undefined);
    case 'tuple':
      if (!Array.isArray(v)) incompatible(pathOf(parent, key), `expected an array, got ${typeName(v)}`);
      if (v.length > f.items.length) incompatible(pathOf(parent, key), `${v.length} values, the template holds ${f.items.length}`);
      for (let i = 0; i < f.items.length; i++) packField(w, f.items[i], v[i], pathOf(parent, key), i);
      return;
    case 'list':
      if (!Array.isArray(v)) incompatible(pathOf(parent, key), `expected an array, got ${typeName(v)}`);
      w.varint(v.length);
      if (v.length > 0) {
        const path = pathOf(parent, key);
        for (let i = 0; i < v.length; i++) packField(w, f.item, v[i], path, i);
      }
  }
}

function packObject(w: Writer, f: ObjectField, v: JsonObject, path: string, meta: PackOptions | undefined): void {
  const { names, fields, specials } = f;
  let present = 0;
  for (let i = 0; i < fields.length; i++) {
    const name = names[i];
    let value: Json | undefined;
    if (Object.hasOwn(v, name)) {
      value = v[name];
      present++;
    }
    const special = specials[i];
    if (special !== undefined && value === undefined && meta) value = meta[special];
    packField(w, fields[i], value, path, name);
  }
  // Counting beats looking up every key of the value (the same check, a third of the XS steps).
  if (present !== Object.keys(v).length) {
    for (const name of Object.keys(v)) {
      if (!f.index.has(name)) incompatible(pathOf(path, name), 'not in the template');
    }
  }
}

function checkEpoch(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= TWO32) fail(`${name}: must be epoch seconds`, 'bad-arg');
}

function checkDegrees(name: string, v: number, limit: number): void {
  if (!Number.isFinite(v) || Math.abs(v) > limit) fail(`${name}: must be degrees within ±${limit}`, 'bad-arg');
}

/**
 * Pack a note into a record. Fails with {template-incompatible} naming the field when the body
 * does not fit the template; nothing is produced then.
 */
export function packNote(
  template: Template,
  body: JsonObject | undefined,
  payload?: Uint8Array,
  options: PackOptions = {},
): Uint8Array {
  if (body !== undefined && !isObject(body)) incompatible('body', 'must be a JSON object');
  const compact = template.format === 'compact';
  let flags = options.full ? FULL : 0;
  const hasPayload = payload !== undefined && payload.length > 0;
  if (hasPayload) {
    if (template.length > 0 && payload.length > template.length) {
      incompatible('payload', `${payload.length} bytes, the template allows ${template.length}`);
    }
    flags |= PAYLOAD;
  }
  const { time, lat, lon, ltime } = options;
  if (!compact) {
    if (time !== undefined) {
      checkEpoch('time', time);
      flags |= TIME;
    }
    if (lat !== undefined && lon !== undefined) {
      checkDegrees('lat', lat, 90);
      checkDegrees('lon', lon, 180);
      flags |= LOCATION;
    }
    if (ltime !== undefined) {
      checkEpoch('ltime', ltime);
      flags |= LTIME;
    }
  }
  const w = new Writer(template.bytes + 16 + (hasPayload ? payload.length : 0));
  w.u8(flags);
  if (flags & TIME) w.int(time as number, 4);
  if (flags & LOCATION) {
    w.int(Math.round((lat as number) * 1e7), 4);
    w.int(Math.round((lon as number) * 1e7), 4);
  }
  if (flags & LTIME) w.int(ltime as number, 4);
  packObject(w, template.root, body ?? {}, '', compact ? options : undefined);
  if (hasPayload) {
    w.varint(payload.length);
    w.bytes(payload, payload.length);
  }
  return w.done();
}

// ---- unpacking ----

function emptyOf(f: Field): Json {
  switch (f.kind) {
    case 'bool':
      return false;
    case 'int':
    case 'float':
      return 0;
    case 'string':
      return '';
    case 'object':
      return {};
    case 'tuple':
      return f.items.map(emptyOf);
    case 'list':
      return [];
  }
}

function isEmpty(v: Json): boolean {
  if (v === 0 || v === false || v === '' || v === null) return true;
  if (Array.isArray(v)) return v.every(isEmpty);
  if (isObject(v)) {
    for (const k in v) if (!isEmpty(v[k])) return false;
    return true;
  }
  return false;
}

/** A field's value, or undefined when omitempty drops it. */
function readField(r: Reader, f: Field, full: boolean): Json | undefined {
  switch (f.kind) {
    case 'bool': {
      const b = r.u8() !== 0;
      return b || full ? b : undefined;
    }
    case 'int': {
      const n = r.int(f);
      return n !== 0 || full ? n : undefined;
    }
    case 'float': {
      const n = r.float(f.size);
      return n !== 0 || full ? n : undefined;
    }
    case 'string': {
      const s = r.string(f.short ? r.u8() : r.varint());
      return s !== '' || full ? s : undefined;
    }
    case 'object':
      return readObject(r, f, full, undefined);
    case 'tuple': {
      // Positions matter: items stay, as zero values if need be; all-empty drops the array.
      const items = f.items.map((x) => readItem(r, x, full));
      return full || !items.every(isEmpty) ? items : undefined;
    }
    case 'list': {
      const n = r.varint();
      if (n === 0) return full ? [] : undefined;
      const items: Json[] = [];
      for (let i = 0; i < n; i++) items.push(readItem(r, f.item, full));
      return items;
    }
  }
}

function readItem(r: Reader, f: Field, full: boolean): Json {
  const v = readField(r, f, full);
  return v === undefined ? emptyOf(f) : v;
}

function readObject(r: Reader, f: ObjectField, full: boolean, note: UnpackedNote | undefined): JsonObject | undefined {
  const out: JsonObject = {};
  let any = false;
  const { names, fields, specials } = f;
  for (let i = 0; i < fields.length; i++) {
    const special: Special | undefined = note ? specials[i] : undefined;
    const v = readField(r, fields[i], full && special === undefined);
    if (v === undefined) continue;
    if (special !== undefined) {
      if (v !== 0) note![special] = v as number;
    } else {
      out[names[i]] = v;
      any = true;
    }
  }
  return any || full ? out : undefined;
}

/** Read a record back as a note. Fails with {io} when the record does not match the template. */
export function unpackNote(template: Template, record: Uint8Array): UnpackedNote {
  const r = new Reader(record);
  const flags = r.u8();
  if (flags & ~KNOWN_FLAGS) corrupt();
  const full = (flags & FULL) !== 0;
  const note: UnpackedNote = {};
  const meta: UnpackedNote = {};
  if (flags & TIME) meta.time = r.u32();
  if (flags & LOCATION) {
    meta.lat = r.i32() / 1e7;
    meta.lon = r.i32() / 1e7;
  }
  if (flags & LTIME) meta.ltime = r.u32();
  const hasFields = template.root.fields.length > 0;
  const body = readObject(r, template.root, full && hasFields, meta);
  if (body !== undefined && (hasFields || Object.keys(body).length > 0)) note.body = body;
  if (flags & PAYLOAD) note.payload = base64Encode(r.bytes(r.varint()));
  if (!r.done) corrupt();
  return Object.assign(note, meta);
}

/** Whether the note was added with full:true. */
export function recordIsFull(record: Uint8Array): boolean {
  return record.length > 0 && (record[0] & FULL) !== 0;
}
