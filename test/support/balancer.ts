/**
 * A TCP load balancer on loopback for the tests of several hub processes: each new connection
 * goes to the next backend (round robin), or to the one `pin` names; connections are spliced
 * byte for byte. What a real balancer in front of the device port does.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Balancer {
  port: number;
  /** backend ports; a backend set to 0 is left out (as a balancer's health check would) */
  backends: number[];
  /** send every new connection to this backend (undefined: round robin) */
  pin: number | undefined;
  /** which backend each connection went to, in order */
  readonly chosen: number[];
  /**
   * Drop the card side of every open connection and leave the hub side open, as a NAT that
   * forgot the flow would: the hub learns nothing until its own timeouts.
   */
  strand(): void;
  close(): Promise<void>;
}

export async function startBalancer(backends: number[]): Promise<Balancer> {
  const open = new Set<Socket>();
  const cardSides = new Set<Socket>();
  const stranded = new WeakSet<Socket>();
  let next = 0;
  const b: Balancer = {
    port: 0, backends: [...backends], pin: undefined, chosen: [],
    strand: () => { for (const s of cardSides) { stranded.add(s); s.unpipe(); s.destroy(); } cardSides.clear(); },
    close: () => new Promise<void>((r) => { for (const s of open) s.destroy(); server.close(() => r()); }),
  };
  const server: Server = createServer((down) => {
    let i = b.pin;
    if (i === undefined) {
      for (let k = 0; k < b.backends.length && i === undefined; k++) {
        const j = (next + k) % b.backends.length;
        if (b.backends[j]) i = j;
      }
      next = ((i ?? 0) + 1) % b.backends.length;
    }
    const port = i === undefined ? 0 : b.backends[i];
    if (!port) { down.destroy(); return; }
    b.chosen.push(i!);
    const up = connect(port, '127.0.0.1');
    open.add(down).add(up);
    cardSides.add(down);
    down.pipe(up).pipe(down);
    const end = (): void => { down.destroy(); up.destroy(); open.delete(down); open.delete(up); cardSides.delete(down); };
    const downEnd = (): void => { if (stranded.has(down)) open.delete(down); else end(); };
    down.on('error', downEnd).on('close', downEnd);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  b.port = (server.address() as AddressInfo).port;
  return b;
}
