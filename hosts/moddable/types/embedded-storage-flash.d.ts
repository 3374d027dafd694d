// Our own declaration of the ECMA-419 flash storage module (not in @moddable/typings 5.6),
// written from the documented interface: open a partition by path, then read, write and
// erase blocks.
declare module 'embedded:storage/flash' {
  export interface FlashStatus {
    /** Partition size in bytes. */
    size: number;
    /** Erase block size in bytes. */
    blockLength: number;
  }
  export interface FlashPartition {
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    write(buffer: ArrayBuffer | Uint8Array, byteOffset: number): void;
    eraseBlock(first: number, end?: number): void;
    status(): FlashStatus;
    close(): void;
  }
  const flash: { open(options: { path: string; mode?: 'r' | 'r+' }): FlashPartition };
  export default flash;
}
