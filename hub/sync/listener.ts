/**
 * The hub's device listener (docs/HUB.md "Device listener", protocol in docs/SYNC.md): a TCP port
 * and optionally a TLS port; one DeviceConnection per socket; hub events ('notes', 'env') reach
 * the connected device's session so continuous sessions get changes within a second.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { LIMITS } from '../../src/sync/messages';
import type { Hub } from '../hub';
import { DeviceConnection, type ConnectionContext, type ConnectionLimits } from './connection';
import type { SignalDelivery } from '../services/common';
import { PROXY_LIMITS, TargetPolicy, type ProxyLimits, type ProxyPolicy } from '../proxy';

export interface DeviceListenerOptions {
  /** TCP port (0 = any free port). */
  port: number;
  host?: string;
  /** A TLS port too, with this certificate and key (PEM). */
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** Trust on first use: unknown devices of a known product are provisioned (default true). */
  tofu?: boolean;
  /** Timeouts, default LIMITS (tests shorten them). */
  limits?: Partial<ConnectionLimits>;
  log?: (line: string) => void;
  /** Which targets the cards' web requests may reach (default: public addresses only), and bounds. */
  proxy?: ProxyPolicy & { limits?: Partial<ProxyLimits> };
}

export class DeviceListener {
  readonly #hub: Hub;
  readonly #servers: Server[] = [];
  readonly #open = new Map<Socket, DeviceConnection>();
  readonly #byDevice = new Map<string, DeviceConnection>();
  readonly #onNotes: (e: { deviceUID: string; file: string }) => void;
  readonly #onEnv: () => void;
  readonly #onSignal: (e: SignalDelivery) => void;
  readonly #onSession: (e: { deviceUID: string; at: number }) => void;
  /** when each open session registered (hub clock, ms) */
  readonly #since = new Map<DeviceConnection, number>();
  port = 0;
  tlsPort: number | undefined;

  private constructor(hub: Hub) {
    this.#hub = hub;
    this.#onNotes = (e) => this.#byDevice.get(e.deviceUID)?.notesChanged(e.file);
    this.#onEnv = () => { for (const c of this.#byDevice.values()) c.envChanged(); };
    this.#onSignal = (e) => {
      const c = this.#byDevice.get(e.deviceUID);
      if (!c) return;
      e.held = true;
      if (c.signal(e.text)) e.delivered = true;
    };
    // the device connected to another hub process on the same database: a session it opened
    // here before that is stale (one session per device across the processes too)
    this.#onSession = (e) => {
      const c = this.#byDevice.get(e.deviceUID);
      if (!c || (this.#since.get(c) ?? 0) > e.at) return;
      this.#byDevice.delete(e.deviceUID);
      void c.close('replaced by a newer connection to another hub process');
    };
  }

  static async start(hub: Hub, opts: DeviceListenerOptions): Promise<DeviceListener> {
    const l = new DeviceListener(hub);
    const log = opts.log ?? ((line: string) => console.log(line));
    const base = {
      hub, tofu: opts.tofu ?? true, log,
      proxy: { policy: new TargetPolicy(opts.proxy), limits: { ...PROXY_LIMITS, ...opts.proxy?.limits } },
      limits: { handshakeMs: LIMITS.handshakeMs, pingIdleMs: LIMITS.pingIdleMs, deadIdleMs: LIMITS.deadIdleMs, ...opts.limits },
      // one session per device: an older one (often a link that died unnoticed) ends first, so
      // two sessions never commit for the same device at once
      register: async (uid: string, c: DeviceConnection) => {
        const old = l.#byDevice.get(uid);
        l.#byDevice.set(uid, c);
        const at = hub.now();
        l.#since.set(c, at);
        hub.announce('session', { deviceUID: uid, at });
        if (old && old !== c) await old.close('replaced by a newer connection');
      },
      unregister: (uid: string, c: DeviceConnection) => {
        l.#since.delete(c);
        if (l.#byDevice.get(uid) === c) l.#byDevice.delete(uid);
      },
    };
    const accept = (tls: boolean) => (socket: Socket): void => {
      const ctx: ConnectionContext = { ...base, tls };
      l.#open.set(socket, new DeviceConnection(ctx, socket));
      socket.on('close', () => l.#open.delete(socket));
    };
    const host = opts.host ?? '127.0.0.1';
    l.port = await listen(createTcpServer(accept(false)), opts.port, host, l.#servers);
    if (opts.tls) {
      const server = createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, accept(true));
      l.tlsPort = await listen(server, opts.tls.port, host, l.#servers);
    }
    hub.on('notes', l.#onNotes);
    hub.on('env', l.#onEnv);
    hub.on('signal', l.#onSignal);
    hub.on('session', l.#onSession);
    return l;
  }

  /** Devices with a session open now. */
  get connected(): string[] { return [...this.#byDevice.keys()]; }

  async close(): Promise<void> {
    this.#hub.off('notes', this.#onNotes);
    this.#hub.off('env', this.#onEnv);
    this.#hub.off('signal', this.#onSignal);
    this.#hub.off('session', this.#onSession);
    const closing = this.#servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    const working = [...this.#open].map(([s, c]) => { s.destroy(); return c.idle; });
    await Promise.all([...closing, ...working]); // nothing may touch the database once startHub's close() closes it
  }
}

function listen(server: Server, port: number, host: string, into: Server[]): Promise<number> {
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      into.push(server);
      ok((server.address() as AddressInfo).port);
    });
  });
}
