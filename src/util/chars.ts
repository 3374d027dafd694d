// ASCII character classes, without RegExp: the XS engine's RegExp crashed the card under memory
// pressure (a preloaded RegExp's match data read after a collection: fx_RegExp_prototype_exec,
// seen under mcsim at 78 KB of chunks), so the device paths use these plain loops instead.

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isHex(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Every character of s[from, to) passes `ok`. */
export function every(s: string, ok: (c: number) => boolean, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

/** Horizontal and vertical JSON whitespace. */
export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}
