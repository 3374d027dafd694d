// The binary buffer's line encoding: COBS (blocks of at most 254 data bytes), then every
// encoded byte XORed with 0x0A, so the stream never contains '\n' and can end with one.

export const COBS_XOR = 0x0a;

/** Worst-case encoded size of `length` raw bytes (without the terminating '\n'). */
export function cobsMaxEncodedLength(length: number): number {
  return length + Math.floor(length / 254) + 1;
}

export function cobsEncode(data: Uint8Array, xor = COBS_XOR): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) {
      out[codeAt] = code ^ xor;
      codeAt = o++;
      code = 1;
    } else {
      out[o++] = data[i] ^ xor;
      if (++code === 0xff) {
        out[codeAt] = code ^ xor;
        codeAt = o++;
        code = 1;
      }
    }
  }
  out[codeAt] = code ^ xor;
  return out.subarray(0, o);
}

/** Streaming decoder: push encoded bytes one at a time; decoded bytes go to `emit`. */
export class CobsDecoder {
  #remaining = 0; // data bytes left in the current block
  #zeroAfter = false; // the current block ends in an implicit zero
  #started = false;
  #xor: number;
  #emit: (byte: number) => void;
  /** Set when the stream held a zero byte (illegal in COBS). */
  malformed = false;

  constructor(emit: (byte: number) => void, xor = COBS_XOR) {
    this.#emit = emit;
    this.#xor = xor;
  }

  push(encoded: number): void {
    const b = encoded ^ this.#xor;
    if (b === 0) {
      this.malformed = true;
      return;
    }
    if (this.#remaining > 0) {
      this.#emit(b);
      this.#remaining--;
      return;
    }
    if (this.#started && this.#zeroAfter) this.#emit(0);
    this.#started = true;
    this.#remaining = b - 1;
    this.#zeroAfter = b !== 0xff;
  }

  /** True when the stream ended on a block boundary (a truncated block is an error). */
  get complete(): boolean {
    return this.#started && this.#remaining === 0 && !this.malformed;
  }
}

export function cobsDecode(encoded: Uint8Array, xor = COBS_XOR): Uint8Array | undefined {
  const out: number[] = [];
  const d = new CobsDecoder((b) => out.push(b), xor);
  for (let i = 0; i < encoded.length; i++) d.push(encoded[i]);
  return d.complete ? Uint8Array.from(out) : undefined;
}
