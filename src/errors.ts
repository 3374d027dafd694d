// Card errors travel as {"err":"human text {tag}"}; programs match the {tags}, never the text.

export type ErrorTag =
  | 'io' | 'not-supported' | 'bad-bin' | 'heartbeat'
  | 'note-noexist' | 'note-exists' | 'notefile-noexist' | 'notefile-exists'
  | 'notefile-bad-name' | 'notefile-queue-disallowed' | 'tracker-noexist'
  | 'template-incompatible' | 'too-big' | 'not-json' | 'syntax' | 'timeout'
  | 'network' | 'connect-failure' | 'auth' | 'hub-mode' | 'dfu-not-ready'
  | 'dfu-in-progress' | 'sync-begin' | 'sync-end' | 'sync-error' | 'bad-arg' | 'storage-full' | 'env-noop'
  | 'no-time' | 'no-ntn-module';

/** Thrown inside a request handler; the dispatcher turns it into an {"err"} reply. */
export class CardError extends Error {
  // A class field, not `this.name = ...`: XS freezes built-ins after preload.
  override name = 'CardError';
  readonly tags: readonly ErrorTag[];
  constructor(text: string, ...tags: ErrorTag[]) {
    super(text);
    this.tags = tags;
  }
  /** The wire text: "human text {tag} {tag}". */
  get wireText(): string {
    return this.tags.length ? `${this.message} ${this.tags.map((t) => `{${t}}`).join(' ')}` : this.message;
  }
}

export function fail(text: string, ...tags: ErrorTag[]): never {
  throw new CardError(text, ...tags);
}
