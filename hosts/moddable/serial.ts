// The UART to the host MCU through ECMA-419 `embedded:io/serial`. The hardware FIFO is small
// (128 bytes on ESP32) and write() throws when it is full, so output is queued and drained
// from onWritable; input is drained promptly from onReadable.
import Serial from 'embedded:io/serial';
import type { Serial as CardSerial } from '../../src/host';
import { OutputQueue } from './output-queue';

export interface UartPins {
  port: number;
  receive: number;
  transmit: number;
  baud: number;
}

export function openUart(pins: UartPins): CardSerial {
  let receiver: (bytes: Uint8Array) => void = () => {};
  const output = new OutputQueue((chunk) => uart.write(chunk));
  const uart = new Serial({
    ...pins,
    format: 'buffer',
    onReadable(count: number) {
      const data = this.read(count);
      if (data) receiver(new Uint8Array(data));
    },
    onWritable(count: number) {
      output.writable(count);
    },
  });
  return {
    onBytes(receive) {
      receiver = receive;
    },
    write: (bytes) => output.push(bytes),
  };
}
