// ESP32: the card's storage partition through ECMA-419 `embedded:storage/flash`.
import flashStorage from 'embedded:storage/flash';
import type { Flash } from '../../../src/host';

export function openFlash(path = 'storage', writeAlign = 4): Flash {
  const partition = flashStorage.open({ path, mode: 'r+' });
  const { size, blockLength } = partition.status();
  return {
    size,
    blockSize: blockLength,
    writeAlign,
    read: (offset, length) => new Uint8Array(partition.read(length, offset)),
    write: (offset, data) => partition.write(data, offset),
    erase: (block) => partition.eraseBlock(block),
  };
}
