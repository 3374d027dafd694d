// The simulator's control channels (the world's, world-ctl.ts; the modem emulator's, modem-ctl.ts):
// line-delimited JSON over TCP on loopback (docs/WORLD.md). Each request line gets one reply line,
// in order: {"ok":true,...} or {"ok":false,"err":...}, with the request's "id" echoed.
import * as fs from 'fs';
import * as net from 'net';

export type Reply = Record<string, unknown>;

/** Longest request line; a connection that sends more is told so and closed. */
const MAX_LINE = 1 << 20;

export interface ControlServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listen on 127.0.0.1:`port` (0 picks one); `portFile` gets the port. `answer` serves a request;
 * `onConnection` may push lines of its own (events) and returns what undoes that when it closes. */
export function serveJsonLines(
  port: number,
  portFile: string | undefined,
  answer: (req: Reply) => Reply | Promise<Reply>,
  onConnection?: (send: (line: Reply) => void) => () => void,
): Promise<ControlServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const send = (obj: Reply) => {
      if (!socket.destroyed) socket.write(JSON.stringify(obj) + '\n');
    };
    const undo = onConnection?.(send);
    let buffered = '';
    // one request at a time, so replies keep the requests' order even when one takes a while
    let chain = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE) {
        send({ ok: false, err: 'line too long' });
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        chain = chain.then(async () => {
          let id: unknown;
          try {
            const req = JSON.parse(line) as unknown;
            if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('a request is a JSON object');
            id = (req as Reply).id;
            send({ ok: true, ...(id !== undefined ? { id } : {}), ...(await answer(req as Reply)) });
          } catch (e) {
            send({ ok: false, ...(id !== undefined ? { id } : {}), err: e instanceof Error ? e.message : String(e) });
          }
        });
      }
    });
    const gone = () => {
      undo?.();
      sockets.delete(socket);
    };
    socket.once('close', gone);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      if (portFile) fs.writeFileSync(portFile, `${bound}\n`);
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            if (portFile) fs.rmSync(portFile, { force: true });
            server.close(() => done());
          }),
      });
    });
  });
}
