// The UART to the host MCU through ECMA-419 `embedded:io/serial`. The hardware FIFO is small
// (128 bytes on ESP32) and write() throws when it is full, so output is queued and drained
// from onWritable; input is drained promptly from onReadable.
import Serial from 'embedded:io/serial';
import type { Serial as CardSerial } from '../../src/host';
import { OutputQueue } from './output-queue';

/** Board pins (port, receive, transmit) or, on the Linux simulator, a tty path (device). */
export interface UartOptions {
  baud: number;
  port?: number;
  receive?: number;
  transmit?: number;
  device?: string;
}

export function openUart(options: UartOptions): CardSerial {
  let receiver: (bytes: Uint8Array) => void = () => {};
  // Some platforms (lin) take only an ArrayBuffer: hand over exactly the chunk's bytes.
  const output = new OutputQueue((chunk) => uart.write(ownBuffer(chunk)));
  const uart = new Serial({
    ...options,
    format: 'buffer',
    onReadable(count: number) {
      const data = this.read(count);
      if (data) receiver(new Uint8Array(data));
    },
    onWritable(count: number) {
      output.writable(count);
    },
  } as ConstructorParameters<typeof Serial>[0]);
  return {
    onBytes(receive) {
      receiver = receive;
    },
    write: (bytes) => output.push(bytes),
  };
}

export function ownBuffer(chunk: Uint8Array): ArrayBuffer {
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  return (whole ? chunk : chunk.slice()).buffer as ArrayBuffer;
}
