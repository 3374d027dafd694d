/** startHub(): store + Hub service + HTTP API + route delivery, in this process. */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Hub, type HubOptions } from './hub';
import type { HubServer } from './http';
import { jsonLogger, lineLogger, type Level, type Logger } from './log';
import { RouteDelivery, type DeliveryOptions } from './routes';
import { SqliteStore, type SqliteStoreOptions } from './store/sqlite';
import { PostgresStore } from './store/postgres';
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
  /** a postgres:// URL: use that database instead of SQLite (several hub processes may share it) */
  db?: string;
  delivery?: DeliveryOptions;
  /** create the default admin user, project and product when the database has no users (default true) */
  bootstrap?: boolean;
  /** password for the bootstrap admin (default: random, printed once) */
  adminPassword?: string;
  /**
   * Text lines: the first-start banner, and the log rendered as text (unless `logger` is given).
   * Default: the banner on stdout, the log as pino JSON lines on stdout.
   */
  log?: (line: string) => void;
  /** The structured log (pino): one access line per request, failures, device sessions. */
  logger?: Logger;
  /** The level of the default logger (default info; warn drops the access lines). */
  logLevel?: Level;
  /** Serve the HTTP API over HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The device sync port (docs/SYNC.md): undefined = no listener, 0 = any free port. */
  devicePort?: number;
  /** Also a TLS device port with this certificate and key (PEM). */
  deviceTls?: DeviceListenerOptions['tls'];
  /** Trust on first use for unknown devices of a known product (default true). */
  tofu?: boolean;
  /** Device session timeouts (tests shorten them). */
  deviceLimits?: DeviceListenerOptions['limits'];
  /** Where the cards' web requests through proxy routes may go (default: public addresses only). */
  proxy?: DeviceListenerOptions['proxy'];
}

export interface RunningHub {
  url: string;
  port: number;
  hub: Hub;
  server: HubServer;
  /** the structured log (pino) */
  logger: Logger;
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

/** The environment variable naming the database when --db does not (a postgres:// URL). */
export const DB_ENV = 'OPENCARD_HUB_DB';

/** Whether `db` names a PostgreSQL database. */
export const isPostgresUrl = (db: string | undefined): db is string => db !== undefined && /^postgres(ql)?:\/\//.test(db);

/**
 * The hub's database: PostgreSQL when `db` is a postgres:// URL, else SQLite in the data directory
 * (`db` may also name the SQLite file). Migrates it if needed.
 */
export async function openDatabase(db: string | undefined, dataDir = DEFAULT_DATA_DIR, opts: SqliteStoreOptions & { log?: (line: string) => void } = {}): Promise<Store> {
  if (isPostgresUrl(db)) return PostgresStore.open(db, { now: opts.now, log: opts.log });
  return db ? new SqliteStore(resolve(db), opts) : openStore(dataDir, opts);
}

/** First start on an empty database: an admin, a project and a product, so there is something to log into. */
export async function bootstrap(hub: Hub, password?: string): Promise<BootstrapInfo | undefined> {
  if (await hub.accounts.hasUsers()) return undefined;
  const username = 'admin';
  const pw = password ?? randomBytes(12).toString('base64url');
  try {
    await hub.accounts.createUser(username, pw);
  } catch (e) {
    // another hub process on the same database made it first: it prints the banner, not us
    if (await hub.accounts.hasUsers()) return undefined;
    throw e;
  }
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
  const say = opts.log ?? ((l: string) => { process.stdout.write(`${l}\n`); });
  const logger = opts.logger ?? (opts.log ? lineLogger(opts.log, opts.logLevel) : jsonLogger(opts.logLevel));
  const store = opts.store ?? await openDatabase(opts.db, opts.dataDir, { now: opts.now, log: say });
  const hub = new Hub(store, opts);
  const boot = opts.bootstrap === false ? undefined : await bootstrap(hub, opts.adminPassword);
  // loaded here, not at the top: the CLI's management commands need neither Fastify nor the schemas
  const { apiRouter } = await import('./api');
  const app = await apiRouter().build(hub, { logger, tls: opts.tls });
  const server = app.server as HubServer;
  // route delivery only logs failures
  const delivery = new RouteDelivery(hub, opts.delivery ?? {}, (line) => logger.warn(line));
  try {
    await app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  } catch (e) {
    await app.close();
    throw e;
  }
  delivery.start();
  const listener = opts.devicePort === undefined ? undefined : await DeviceListener.start(hub, {
    port: opts.devicePort, host: opts.host ?? '127.0.0.1', tls: opts.deviceTls, tofu: opts.tofu, limits: opts.deviceLimits,
    log: (line) => logger.info(line), proxy: opts.proxy,
  }).catch(async (e: unknown) => {
    // e.g. the device port in use: let go of what started, so the caller can exit
    await delivery.stop();
    await app.close();
    await hub.close();
    throw e;
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${opts.tls ? 'https' : 'http'}://${host}:${addr.port}`;
  if (boot) {
    // the banner is for the operator's eyes, not the log: it holds the admin password
    const log = say;
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
    say(`notehub-lite: database ${resolve(opts.dataDir ?? DEFAULT_DATA_DIR)}; lost the admin token? ${newTokenCommand(opts.dataDir)} prints a new one`);
  }
  if (listener) say(`notehub-lite device port ${listener.port}`);
  if (listener?.tlsPort !== undefined) say(`notehub-lite device TLS port ${listener.tlsPort}`);
  let closed = false;
  return {
    url, port: addr.port, hub, server, logger, bootstrap: boot, listener, devicePort: listener?.port, deviceTlsPort: listener?.tlsPort,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await listener?.close();
      await delivery.stop();
      await app.close(); // forceCloseConnections: open connections end too
      await hub.close();
    },
  };
}
