// UTF-8 without TextEncoder/TextDecoder (XS has neither as globals).

export function utf8Encode(text: string): Uint8Array {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        out[o++] = 0xf0 | (c >> 18);
        out[o++] = 0x80 | ((c >> 12) & 0x3f);
      } else {
        // Lone surrogates encode as U+FFFD (the WHATWG encoder does the same).
        if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
        out[o++] = 0xe0 | (c >> 12);
      }
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

/** Decode UTF-8; malformed sequences become U+FFFD, one per bad byte. */
/** Arguments per String.fromCharCode.apply: each is a stack slot, and the device's XS stack
 * has 512 (4096 overflowed it: a 600-byte request aborted the card under mcsim). */
const APPLY_CHUNK = 128;

export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = '';
  let chunk: number[] = [];
  for (let i = start; i < end; ) {
    const b = bytes[i];
    let cp = 0xfffd;
    let len = 1;
    if (b < 0x80) cp = b;
    else if (b >= 0xc2 && b < 0xe0) len = 2;
    else if (b >= 0xe0 && b < 0xf0) len = 3;
    else if (b >= 0xf0 && b < 0xf5) len = 4;
    if (len > 1) {
      if (i + len > end) len = 1;
      else {
        cp = b & (0xff >> (len + 1));
        for (let k = 1; k < len; k++) {
          const cb = bytes[i + k];
          if ((cb & 0xc0) !== 0x80) {
            cp = -1;
            break;
          }
          cp = (cp << 6) | (cb & 0x3f);
        }
        const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
          cp = 0xfffd;
          len = 1;
        }
      }
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else chunk.push(cp);
    if (chunk.length >= APPLY_CHUNK) {
      s += String.fromCharCode.apply(null, chunk);
      chunk = [];
    }
  }
  return s + String.fromCharCode.apply(null, chunk);
}
