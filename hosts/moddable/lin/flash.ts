// The store's NOR flash in a file, for the card under the Moddable simulator on Linux. The same
// rules as a chip (and as hosts/node/file-flash.ts, so either can open the other's image):
// erase sets a 4096-byte block to 0xFF; a write may only clear bits and must be aligned. Unlike
// the Node simulator it keeps no RAM mirror: the device's RAM budget could not hold one.
import * as filesModule from 'embedded:storage/files';
import type { Flash } from '../../../src/host';

interface FlashFile {
  read(byteLength: number, position: number): ArrayBuffer;
  write(buffer: ArrayBufferView, position: number): void;
  status(): { size: number };
}
/** The module's default export is the root directory (the manifest's `files` config); the
 * SDK's own typings omit it. */
export const root = (filesModule as unknown as { default: { openFile(o: { path: string; mode: string }): FlashFile; delete(path: string): boolean } })
  .default;

const BLOCK = 4096;
const ERASE_PIECE = 256;

export function openFileFlash(path: string, defaultSize: number, writeAlign = 4): Flash {
  let file: FlashFile;
  let size = 0;
  try {
    file = root.openFile({ path, mode: 'r+' });
    size = file.status().size;
  } catch {
    file = root.openFile({ path, mode: 'w+' });
  }
  if (!size) {
    size = defaultSize;
    const erased = new Uint8Array(ERASE_PIECE).fill(0xff);
    for (let at = 0; at < size; at += ERASE_PIECE) file.write(erased, at);
  }
  if (size % BLOCK) throw new Error(`${path}: ${size} bytes is not a whole number of ${BLOCK}-byte blocks`);
  const image = file;

  const check = (offset: number, length: number) => {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new Error(`flash access ${offset}+${length} outside 0..${size}`);
    }
  };
  return {
    size,
    blockSize: BLOCK,
    writeAlign,
    read(offset, length) {
      check(offset, length);
      return new Uint8Array(image.read(length, offset));
    },
    write(offset, data) {
      check(offset, data.length);
      if (offset % writeAlign || data.length % writeAlign) {
        throw new Error(`flash write at ${offset} of ${data.length} bytes is not ${writeAlign}-byte aligned`);
      }
      const now = new Uint8Array(image.read(data.length, offset));
      for (let i = 0; i < data.length; i++) {
        if (data[i] & ~now[i] & 0xff) throw new Error(`flash write at ${offset + i} would set a cleared bit`);
      }
      image.write(data, offset);
    },
    erase(block) {
      if (!Number.isInteger(block) || block < 0 || block >= size / BLOCK) throw new Error(`no flash block ${block}`);
      const erased = new Uint8Array(ERASE_PIECE).fill(0xff);
      for (let at = 0; at < BLOCK; at += ERASE_PIECE) image.write(erased, block * BLOCK + at);
    },
  };
}
