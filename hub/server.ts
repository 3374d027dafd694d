/** startHub(): store + Hub service + HTTP API + route delivery, in this process. */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Hub, type HubOptions } from './hub';
import { apiRouter } from './api';
import { clientError } from './http';
import { RouteDelivery, type DeliveryOptions } from './routes';
import { SqliteStore, type SqliteStoreOptions } from './store/sqlite';
import type { Store } from './store/types';
import { DeviceListener, type DeviceListenerOptions } from './sync/listener';

export const DEFAULT_DATA_DIR = './data/hub';
export const DATABASE_FILE = 'hub.sqlite';

export interface HubStartOptions extends HubOptions {
  dataDir?: string;
  port?: number;
  host?: string;
  /** use this store instead of opening `<dataDir>/hub.sqlite` */
  store?: Store;
  delivery?: DeliveryOptions;
  /** create the default admin user, project and product when the database has no users (default true) */
  bootstrap?: boolean;
  /** password for the bootstrap admin (default: random, printed once) */
  adminPassword?: string;
  log?: (line: string) => void;
  /** The device sync port (docs/SYNC.md): undefined = no listener, 0 = any free port. */
  devicePort?: number;
  /** Also a TLS device port with this certificate and key (PEM). */
  deviceTls?: DeviceListenerOptions['tls'];
  /** Trust on first use for unknown devices of a known product (default true). */
  tofu?: boolean;
  /** Device session timeouts (tests shorten them). */
  deviceLimits?: DeviceListenerOptions['limits'];
}

export interface RunningHub {
  url: string;
  port: number;
  hub: Hub;
  server: Server;
  /** the device listener, when started (devicePort given) */
  listener?: DeviceListener;
  devicePort?: number;
  deviceTlsPort?: number;
  /** set when this start created the default admin account */
  bootstrap?: BootstrapInfo;
  close(): Promise<void>;
}

export interface BootstrapInfo { username: string; password: string; token: string; projectUID: string; productUID: string }

/** Opens the hub's database in its data directory (migrating it if needed). */
export function openStore(dataDir = DEFAULT_DATA_DIR, opts: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(join(resolve(dataDir), DATABASE_FILE), opts);
}

/** First start on an empty database: an admin, a project and a product, so there is something to log into. */
export async function bootstrap(hub: Hub, password?: string): Promise<BootstrapInfo | undefined> {
  if (await hub.accounts.hasUsers()) return undefined;
  const username = 'admin';
  const pw = password ?? randomBytes(12).toString('base64url');
  await hub.accounts.createUser(username, pw);
  const project = await hub.projects.createProject(username, 'Default project');
  const product = await hub.projects.createProduct(project.uid, 'com.opencard.admin:default', 'Default product');
  const { token } = await hub.accounts.createToken(username, { name: 'bootstrap' });
  return { username, password: pw, token, projectUID: project.uid, productUID: product.uid };
}

/** The command that makes a new admin token for the hub whose data is in dataDir (works while it runs). */
export function newTokenCommand(dataDir = DEFAULT_DATA_DIR): string {
  return `npx notehub-lite token create --user admin --data ${shellWord(resolve(dataDir))}`;
}

/** A word a POSIX shell reads back as it is. */
function shellWord(text: string): string {
  let plain = text !== '';
  for (const ch of text) if (!'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+='.includes(ch)) plain = false;
  return plain ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

let lastResort = false;

/**
 * For a process that serves devices (`notehub-lite serve`, the simulator with --with-hub): an
 * error nothing handled is logged and the process keeps serving. Each device connection already
 * ends only itself on failure; this is the last line behind that, not a way of handling errors.
 */
export function keepServing(log: (line: string) => void): void {
  if (lastResort) return;
  lastResort = true;
  const report = (what: string) => (e: unknown): void => {
    try { log(`notehub-lite: ${what} (still serving): ${e instanceof Error ? e.stack : String(e)}`); } catch { /* nowhere to log */ }
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled rejection'));
}

export async function startHub(opts: HubStartOptions = {}): Promise<RunningHub> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const store = opts.store ?? openStore(opts.dataDir, { now: opts.now });
  const hub = new Hub(store, opts);
  const boot = opts.bootstrap === false ? undefined : await bootstrap(hub, opts.adminPassword);
  const router = apiRouter();
  const server = createServer((req, res) => { void router.handle(hub, req, res, log); });
  server.on('clientError', clientError);
  server.keepAliveTimeout = 65_000;
  const delivery = new RouteDelivery(hub, opts.delivery ?? {}, log);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => { server.off('error', fail); ok(); });
  });
  delivery.start();
  const listener = opts.devicePort === undefined ? undefined : await DeviceListener.start(hub, {
    port: opts.devicePort, host: opts.host ?? '127.0.0.1', tls: opts.deviceTls, tofu: opts.tofu, limits: opts.deviceLimits, log,
  }).catch(async (e: unknown) => {
    // e.g. the device port in use: let go of what started, so the caller can exit
    await delivery.stop();
    await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
    await hub.close();
    throw e;
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  if (boot) {
    log('notehub-lite: new database: created user "admin" with a project and a product');
    log(`  username: ${boot.username}`);
    log(`  password: ${boot.password}`);
    log(`  project:  ${boot.projectUID}`);
    log(`  product:  ${boot.productUID}`);
    log(`  token:    ${boot.token}`);
    // copyable as printed: the real password, quoted for a POSIX shell
    log(`  log in:   curl -X POST ${url}/auth/login -d ${shellWord(JSON.stringify({ username: boot.username, password: boot.password }))}`);
    log(`  or send:  Authorization: Bearer <token>`);
    log(`  lost the token later? ${newTokenCommand(opts.dataDir)} prints a new one`);
  } else if (opts.store === undefined) {
    log(`notehub-lite: database ${resolve(opts.dataDir ?? DEFAULT_DATA_DIR)}; lost the admin token? ${newTokenCommand(opts.dataDir)} prints a new one`);
  }
  if (listener) log(`notehub-lite device port ${listener.port}`);
  if (listener?.tlsPort !== undefined) log(`notehub-lite device TLS port ${listener.tlsPort}`);
  let closed = false;
  return {
    url, port: addr.port, hub, server, bootstrap: boot, listener, devicePort: listener?.port, deviceTlsPort: listener?.tlsPort,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await listener?.close();
      await delivery.stop();
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
      await hub.close();
    },
  };
}
