// Small persistent key -> JSON settings (hub.set values, identity, wifi...).
import { Json } from './json';

export interface Settings {
  get(key: string): Json | undefined;
  /** Durable once it returns. `undefined` deletes. */
  set(key: string, value: Json | undefined): void;
}

/** Settings kept in RAM only (tests; lost when the card restarts). */
export class MemorySettings implements Settings {
  #values = new Map<string, Json>();
  get(key: string): Json | undefined {
    return this.#values.get(key);
  }
  set(key: string, value: Json | undefined): void {
    if (value === undefined) this.#values.delete(key);
    else this.#values.set(key, value);
  }
}
