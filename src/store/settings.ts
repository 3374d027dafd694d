// Settings kept in the flash store: hub.set configuration and identity survive restarts.
import type { Json } from '../json';
import type { Settings } from '../settings';
import type { Store } from './store';

/** Key/value namespaces in the store. */
export const NS = Object.freeze({ SETTINGS: 1, ENV_LOCAL: 2, ENV_DEFAULT: 3, ENV_HUB: 4, ENV_META: 5, SYNC: 6 });

export class FlashSettings implements Settings {
  readonly #store: Store;
  constructor(store: Store) {
    this.#store = store;
  }
  get(key: string): Json | undefined {
    const text = this.#store.kv(NS.SETTINGS, key);
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }
  set(key: string, value: Json | undefined): void {
    const tx = this.#store.begin();
    tx.setKV(NS.SETTINGS, key, value === undefined ? undefined : JSON.stringify(value));
    this.#store.commit(tx);
  }
}
