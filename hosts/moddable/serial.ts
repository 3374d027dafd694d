// The UART to the host MCU through ECMA-419 `embedded:io/serial`. The hardware FIFO is small
// (128 bytes on ESP32) and write() throws when it is full, so output is queued and drained
// from onWritable; input is drained promptly from onReadable.
import Serial from 'embedded:io/serial';
import type { Serial as CardSerial } from '../../src/host';

export interface UartPins {
  port: number;
  receive: number;
  transmit: number;
  baud: number;
}

export function openUart(pins: UartPins): CardSerial {
  let receiver: (bytes: Uint8Array) => void = () => {};
  const queue: Uint8Array[] = [];
  let room = 0;
  const uart = new Serial({
    ...pins,
    format: 'buffer',
    onReadable(count: number) {
      const data = this.read(count);
      if (data) receiver(new Uint8Array(data));
    },
    onWritable(count: number) {
      room = count;
      drain();
    },
  });
  function drain(): void {
    while (queue.length && room > 0) {
      const head = queue[0];
      const n = Math.min(room, head.length);
      uart.write(head.subarray(0, n));
      room -= n;
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
    }
  }
  return {
    onBytes(receive) {
      receiver = receive;
    },
    write(bytes) {
      queue.push(bytes);
      drain();
    },
  };
}
