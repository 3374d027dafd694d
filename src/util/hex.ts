// Hex text for bytes (ids, digests, secrets kept in settings).

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/** Lower- or upper-case hex to bytes; undefined when malformed. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX.indexOf(text[2 * i].toLowerCase());
    const lo = HEX.indexOf(text[2 * i + 1].toLowerCase());
    if (hi < 0 || lo < 0) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}
