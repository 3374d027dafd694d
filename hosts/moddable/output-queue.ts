// Output for ECMA-419 IO whose write() throws when the hardware buffer is full: bytes wait here
// and go out as onWritable reports room.
export class OutputQueue {
  readonly #write: (chunk: Uint8Array) => void;
  readonly #queue: Uint8Array[] = [];
  #room = 0;

  constructor(write: (chunk: Uint8Array) => void) {
    this.#write = write;
  }

  push(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    this.#drain();
  }

  /** onWritable: the device can take `room` more bytes. */
  writable(room: number): void {
    this.#room = room;
    this.#drain();
  }

  #drain(): void {
    while (this.#queue.length && this.#room > 0) {
      const head = this.#queue[0];
      const n = Math.min(this.#room, head.length);
      this.#write(head.subarray(0, n));
      this.#room -= n;
      if (n === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(n);
    }
  }
}
