// Argument checking at the edge: a wrong type is a clear error naming the argument.
import { fail } from '../errors';
import { Json, JsonObject, isObject } from '../json';

export class Args {
  readonly raw: JsonObject;
  constructor(raw: JsonObject) {
    this.raw = raw;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  value(name: string): Json | undefined {
    const v = this.raw[name];
    return v === null ? undefined : v;
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') fail(`${name}: must be a string`, 'bad-arg');
    return v;
  }

  bool(name: string, fallback = false): boolean {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') fail(`${name}: must be true or false`, 'bad-arg');
    return v;
  }

  number(name: string): number | undefined;
  number(name: string, fallback: number): number;
  number(name: string, fallback?: number): number | undefined {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name}: must be a number`, 'bad-arg');
    return v;
  }

  /** An integer within [min, max]. */
  int(name: string, min: number, max: number): number | undefined;
  int(name: string, min: number, max: number, fallback: number): number;
  int(name: string, min: number, max: number, fallback?: number): number | undefined {
    const v = this.number(name);
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || v < min || v > max) fail(`${name}: must be an integer from ${min} to ${max}`, 'bad-arg');
    return v;
  }

  object(name: string): JsonObject | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (!isObject(v)) fail(`${name}: must be a JSON object`, 'bad-arg');
    return v;
  }

  array(name: string): Json[] | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) fail(`${name}: must be an array`, 'bad-arg');
    return v;
  }

  /** An array of strings, also accepting one comma-separated string. */
  strings(name: string): string[] | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v === '' ? [] : v.split(',');
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    fail(`${name}: must be an array of strings`, 'bad-arg');
  }
}
