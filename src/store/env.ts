// The card's environment variables: local values (env.set) override the hub's (set by the sync),
// which override the host's defaults (env.default). Names are case-insensitive.
import { NS } from './settings';
import type { Store } from './store';

export type EnvLayer = 'local' | 'hub' | 'default';
const LAYER_NS: Readonly<Record<EnvLayer, number>> = Object.freeze({ local: NS.ENV_LOCAL, hub: NS.ENV_HUB, default: NS.ENV_DEFAULT });
const MODIFIED = 'modified';

export class Environment {
  readonly #store: Store;
  readonly #now: () => number | undefined;
  /** Told after an effective value changed, with the layer written (card.attn env). */
  onChange: ((layer: EnvLayer) => void) | undefined;
  constructor(store: Store, now: () => number | undefined) {
    this.#store = store;
    this.#now = now;
  }

  /** The effective value of one variable. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    for (const layer of ['local', 'hub', 'default'] as const) {
      const v = this.#store.kv(LAYER_NS[layer], key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Every variable with its effective value. */
  all(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const layer of ['default', 'hub', 'local'] as const) {
      for (const key of this.#store.kvKeys(LAYER_NS[layer])) out[key] = this.#store.kv(LAYER_NS[layer], key)!;
    }
    return out;
  }

  /** Set (or, with undefined or "", delete) one variable in one layer. */
  set(layer: EnvLayer, name: string, value: string | undefined): void {
    this.replace(layer, { [name.toLowerCase()]: value === '' ? undefined : value }, false);
  }

  /** Write several values in one layer atomically; `whole` replaces the layer (the hub's full set).
   * The modification time moves, in the same transaction, only when an effective value changes. */
  replace(layer: EnvLayer, values: Record<string, string | undefined>, whole: boolean): void {
    const ns = LAYER_NS[layer];
    const wanted = new Map<string, string | undefined>();
    if (whole) for (const key of this.#store.kvKeys(ns)) wanted.set(key, undefined);
    for (const [name, value] of Object.entries(values)) wanted.set(name.toLowerCase(), value);
    const tx = this.#store.begin();
    let changed = false;
    for (const [key, value] of wanted) {
      if (this.#store.kv(ns, key) === value) continue;
      if (this.get(key) !== this.#effective(key, layer, value)) changed = true;
      tx.setKV(ns, key, value);
    }
    if (changed) tx.setKV(NS.ENV_META, MODIFIED, String(this.#now() ?? 0));
    this.#store.commit(tx);
    if (changed) this.onChange?.(layer);
  }

  #effective(key: string, layer: EnvLayer, value: string | undefined): string | undefined {
    for (const l of ['local', 'hub', 'default'] as const) {
      const v = l === layer ? value : this.#store.kv(LAYER_NS[l], key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Unix seconds of the last change to the effective variables (0 = never or clock unknown). */
  modified(): number {
    return Number(this.#store.kv(NS.ENV_META, MODIFIED) ?? 0);
  }
}
