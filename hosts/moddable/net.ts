// TCP to the hub: `net` resolves the hub's name, `embedded:io/socket/tcp` carries the stream.
// Output is queued and drained from onWritable, like the UART.
import TCP from 'embedded:io/socket/tcp';
import Net from 'net';
import type { Net as CardNet, NetHandlers, NetStream } from '../../src/host';
import { OutputQueue } from './output-queue';
import { ownBuffer } from './serial';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export const tcpNet: CardNet = Object.freeze({
  connect(host: string, port: number, handlers: NetHandlers): NetStream {
    let socket: TCP | undefined;
    let closed = false;
    const output = new OutputQueue((chunk) => socket?.write(ownBuffer(chunk)));
    const finish = (error?: string) => {
      if (closed) return;
      closed = true;
      socket?.close();
      handlers.onClose(error);
    };
    const open = (address: string) => {
      if (closed) return;
      let connected = false;
      socket = new TCP({
        address,
        port,
        nodelay: true,
        format: 'buffer',
        onWritable(count: number) {
          if (!connected) {
            connected = true;
            handlers.onConnect();
          }
          output.writable(count);
        },
        onReadable(count: number) {
          const data = this.read(count);
          if (data instanceof ArrayBuffer) handlers.onData(new Uint8Array(data));
        },
        onError() {
          finish('connection lost');
        },
      });
    };
    if (IPV4.test(host)) open(host);
    else if (host === 'localhost') open('127.0.0.1');
    else Net.resolve(host, (_name, address) => (address ? open(address) : finish(`cannot resolve ${host}`)));
    return {
      write: (bytes) => output.push(bytes),
      close: () => finish(),
    };
  },
});
