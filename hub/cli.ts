#!/usr/bin/env node
/** notehub-lite: run the hub, and manage its users, tokens, projects, products, clients and routes. */
import { Hub, HubError } from './hub';
import { DB_ENV, DEFAULT_DATA_DIR, keepServing, openDatabase, startHub } from './server';
import { NOTEHUB_RATE_LIMIT, type RateLimit } from './auth';
import { LOG_LEVELS, UsageError, explainListenError, oneOf, parseCommandLine, wholeNumber } from './cli-args';
import { TargetPolicy, type ProxyPolicy } from './proxy';

const HELP = `notehub-lite: a self-hosted Notehub-compatible hub

usage: notehub-lite <command> [options]        (every command takes --data DIR, default ${DEFAULT_DATA_DIR})
                                               (or --db postgres://... , default $${DB_ENV}: PostgreSQL instead)

  serve [--port 8080] [--host 127.0.0.1] [--rate-limit off|notehub|N/min[,M/day]] [--admin-password PW]
        [--device-port 8086|off] [--tls-cert FILE --tls-key FILE [--tls-port 8087]] [--tofu on|off]
        [--proxy-allow loopback|private|CIDR,...] [--proxy-deny CIDR,...] [--log-level debug|info|warn|error|silent]
        run the HTTP API and the device sync port; an empty database gets an admin user, project and product;
        with --tls-cert/--tls-key the API is HTTPS and devices also get a TLS port. The log is JSON
        lines on stdout (pino), one per request at info; the OpenAPI description is at /openapi.json.
        The cards' web requests (proxy routes) reach public addresses only, unless --proxy-allow says more
  user create --user NAME [--password PW]          (a random password is printed if none is given)
  token create --user NAME [--expires 30d|12h|never|ISO-DATE] [--name TEXT]
  token revoke --token TOKEN-OR-ID
  project create --user NAME --label TEXT          prints the project UID (app:...)
  product create --project app:... --uid com.example.user:product [--label TEXT]
  client create --project app:...                  OAuth2 client credentials for one project
  route create --project app:... --url URL [--label TEXT] [--files a.qo,b.qo]
        [--type proxy --alias NAME [--timeout SECONDS] [--fleets fleet:...,...]] [--headers NAME=VALUE,...]
  publisher create --pid PID [--label DESCRIPTION]   a NoteHub API publisher (/api/note); prints its PSK
  publisher revoke --pid PID
  --help
`;

type Flags = Record<string, string | undefined>;

/** Every command's options; each is a string but --help (commands check what they need). */
const OPTIONS = Object.fromEntries(
  ['data', 'db', 'port', 'host', 'rate-limit', 'admin-password', 'device-port', 'tls-cert', 'tls-key', 'tls-port', 'tofu', 'log-level',
    'user', 'password', 'expires', 'name', 'token', 'label', 'project', 'uid', 'url', 'files',
    'proxy-allow', 'proxy-deny', 'type', 'alias', 'timeout', 'fleets', 'headers', 'pid']
    .map((o) => [o, { type: 'string' as const }]),
);

function parse(argv: string[]): { words: string[]; flags: Flags; help: boolean } {
  const { values, positionals } = parseCommandLine({
    args: argv, strict: true, allowPositionals: true, options: { ...OPTIONS, help: { type: 'boolean', short: 'h' } },
  });
  const { help, ...flags } = values;
  return { words: positionals, flags: flags as Flags, help: help === true };
}

function need(flags: Flags, name: string): string {
  const v = flags[name];
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** "off", "notehub" (7/min, 10200/day) or "N/min[,M/day]". */
export function parseRateLimit(text: string | undefined): RateLimit | undefined {
  if (text === undefined || text === 'off') return undefined;
  if (text === 'notehub' || text === 'on') return NOTEHUB_RATE_LIMIT;
  const m = /^(\d+)\/min(?:,(\d+)\/day)?$/.exec(text);
  if (!m) throw new UsageError(`--rate-limit: use off, notehub or N/min[,M/day], not "${text}"`);
  return { perMinute: Number(m[1]), perDay: m[2] ? Number(m[2]) : Number.MAX_SAFE_INTEGER };
}

/** --proxy-allow (loopback, private, or ranges) and --proxy-deny (ranges). */
function proxyPolicy(flags: Flags): ProxyPolicy {
  const allow = (flags['proxy-allow'] ?? '').split(',').filter((x) => x);
  const deny = (flags['proxy-deny'] ?? '').split(',').filter((x) => x);
  const ranges = allow.filter((x) => x !== 'loopback' && x !== 'private');
  const policy: ProxyPolicy = { allowLoopback: allow.includes('loopback'), allowPrivate: allow.includes('private'), allow: ranges, deny };
  try { new TargetPolicy(policy); } catch (e) { throw new UsageError(`--proxy-allow/--proxy-deny: ${e instanceof Error ? e.message : String(e)}`); }
  return policy;
}

function portFlag(flags: Flags, name: string, dflt: number): number {
  const v = flags[name];
  return v === undefined ? dflt : wholeNumber(`--${name}`, v, 65535);
}

/** --db, else the environment's; a value that is not a postgres:// URL names the SQLite file. */
function database(flags: Flags): string | undefined {
  return flags.db ?? (process.env[DB_ENV] || undefined);
}

async function withHub<T>(flags: Flags, fn: (hub: Hub) => Promise<T>): Promise<T> {
  const hub = new Hub(await openDatabase(database(flags), flags.data ?? DEFAULT_DATA_DIR));
  try { return await fn(hub); } finally { await hub.close(); }
}

async function main(argv: string[]): Promise<number> {
  const { words, flags, help } = parse(argv);
  const cmd = words.join(' ');
  if (help || !cmd) { process.stdout.write(HELP); return help ? 0 : 2; }
  switch (cmd) {
    case 'serve': {
      const port = portFlag(flags, 'port', 8080);
      const devicePort = flags['device-port'] === 'off' ? undefined : portFlag(flags, 'device-port', 8086);
      if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
      const { readFileSync } = await import('node:fs');
      const tls = flags['tls-cert'] === undefined ? undefined : { cert: readFileSync(flags['tls-cert']), key: readFileSync(need(flags, 'tls-key')) };
      const deviceTls = tls && { ...tls, port: portFlag(flags, 'tls-port', 8087) };
      if (flags.tofu !== undefined) oneOf('--tofu', flags.tofu, ['on', 'off']);
      const logLevel = flags['log-level'] === undefined ? undefined : oneOf('--log-level', flags['log-level'], LOG_LEVELS);
      const running = await startHub({
        dataDir: flags.data ?? DEFAULT_DATA_DIR, db: database(flags), port, host: flags.host ?? '127.0.0.1',
        rateLimit: parseRateLimit(flags['rate-limit']), adminPassword: flags['admin-password'],
        devicePort, deviceTls, tls, tofu: flags.tofu !== 'off', logLevel, proxy: proxyPolicy(flags),
      }).catch((e: unknown) => {
        throw explainListenError(e, [
          { port, flag: '--port', what: 'the HTTP API' },
          { port: devicePort, flag: '--device-port', what: 'the device' },
          { port: deviceTls?.port, flag: '--tls-port', what: 'the device TLS' },
        ]);
      });
      keepServing((line) => running.logger.error(line));
      // tests and the simulator read this line to find the port
      console.log(`notehub-lite listening on ${running.url}`);
      const stop = (): void => { void running.close().then(() => process.exit(0)); };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return -1;
    }
    case 'user create': return withHub(flags, async (hub) => {
      const password = flags.password ?? (await import('node:crypto')).randomBytes(12).toString('base64url');
      const u = await hub.accounts.createUser(need(flags, 'user'), password);
      console.log(`user ${u.username} created${flags.password ? '' : `; password: ${password}`}`);
      return 0;
    });
    case 'token create': return withHub(flags, async (hub) => {
      const t = await hub.accounts.createToken(need(flags, 'user'), { expires: flags.expires, name: flags.name });
      console.log(t.token);
      console.error(`token id ${t.id}, ${t.expires === null ? 'never expires' : `expires ${new Date(t.expires * 1000).toISOString()}`}`);
      return 0;
    });
    case 'token revoke': return withHub(flags, async (hub) => {
      if (!(await hub.accounts.revokeToken(need(flags, 'token')))) throw new Error('no such token');
      console.log('revoked');
      return 0;
    });
    case 'project create': return withHub(flags, async (hub) => {
      console.log((await hub.projects.createProject(need(flags, 'user'), need(flags, 'label'))).uid);
      return 0;
    });
    case 'product create': return withHub(flags, async (hub) => {
      console.log((await hub.projects.createProduct(need(flags, 'project'), need(flags, 'uid'), flags.label)).uid);
      return 0;
    });
    case 'client create': return withHub(flags, async (hub) => {
      const c = await hub.accounts.createClient(need(flags, 'project'));
      console.log(`client_id=${c.clientId}\nclient_secret=${c.clientSecret}`);
      return 0;
    });
    case 'route create': return withHub(flags, async (hub) => {
      const type = flags.type === undefined ? undefined : oneOf('--type', flags.type, ['http', 'proxy']);
      const headers = flags.headers === undefined ? undefined : Object.fromEntries(flags.headers.split(',').map((h) => {
        const eq = h.indexOf('=');
        if (eq <= 0) throw new UsageError(`--headers: use NAME=VALUE, not "${h}"`);
        return [h.slice(0, eq), h.slice(eq + 1)];
      }));
      const r = await hub.routes.putRoute(need(flags, 'project'), {
        url: need(flags, 'url'), label: flags.label, files: flags.files ? flags.files.split(',') : undefined, headers,
        type, alias: type === 'proxy' ? need(flags, 'alias') : undefined, fleets: flags.fleets ? flags.fleets.split(',') : undefined,
        timeout: flags.timeout === undefined ? undefined : wholeNumber('--timeout', flags.timeout, 300),
      });
      console.log(r.uid);
      return 0;
    });
    case 'publisher create': return withHub(flags, async (hub) => {
      const p = await hub.publishing.createPublisher(need(flags, 'pid'), flags.label);
      console.log(`pid=${p.pid}\npsk=${p.psk}`);
      return 0;
    });
    case 'publisher revoke': return withHub(flags, async (hub) => {
      await hub.publishing.revokePublisher(need(flags, 'pid'));
      console.log('revoked');
      return 0;
    });
    default:
      process.stderr.write(`unknown command: ${cmd}\n\n${HELP}`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { if (code >= 0) process.exitCode = code; }, (e: unknown) => {
    // a usage mistake exits 2, as the other CLIs do; anything else (no such token, ...) 1
    console.error(`notehub-lite: ${e instanceof HubError || e instanceof Error ? e.message : String(e)}${e instanceof UsageError ? ' (see --help)' : ''}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
}

export { main };
