/** Users, tokens, OAuth clients: who may call the HTTP API, and how often. */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import {
  hashPassword, hashToken, LoginThrottle, newToken, parseExpiry, RateLimiter, shortId, verifyPassword, type RateLimit,
} from '../auth';
import type { TokenRecord, UserRecord } from '../store/types';
import { HubError, seconds, type Principal, type ServiceContext } from './common';
import type { ProjectService } from './projects';

export type { Principal } from './common';

/**
 * Failed logins and client-credential grants allowed per username (or client id) and per
 * address in a 15-minute window before further attempts get 429 (docs/HUB.md).
 */
export const LOGIN_FAILURES = Object.freeze({ perKey: 5, perAddress: 20, windowMs: 15 * 60_000 });

export const OAUTH_TTL = 1800;

export interface AccountOptions {
  /** Requests per billing account; undefined = no limit (the default for local use). */
  rateLimit?: RateLimit;
  /** Lifetime of /auth/login session tokens, seconds. */
  sessionTtl?: number;
}

export class AccountService {
  readonly #ctx: ServiceContext;
  readonly #projects: ProjectService;
  readonly #limiter: RateLimiter | null;
  readonly #sessionTtl: number;
  readonly #logins = new LoginThrottle({ perKey: LOGIN_FAILURES.perKey, windowMs: LOGIN_FAILURES.windowMs });
  readonly #addresses = new LoginThrottle({ perKey: LOGIN_FAILURES.perAddress, windowMs: LOGIN_FAILURES.windowMs });

  constructor(ctx: ServiceContext, projects: ProjectService, opts: AccountOptions = {}) {
    this.#ctx = ctx;
    this.#projects = projects;
    this.#limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : null;
    this.#sessionTtl = opts.sessionTtl ?? 86400;
  }

  async hasUsers(): Promise<boolean> { return (await this.#ctx.store.countUsers()) > 0; }

  async createUser(username: string, password: string): Promise<{ id: number; username: string }> {
    if (!/^[A-Za-z0-9_.@+-]{1,64}$/.test(username)) throw new HubError(400, 'username: 1-64 letters, digits or _ . @ + -');
    if (password.length < 8) throw new HubError(400, 'password: at least 8 characters');
    if (await this.#ctx.store.userByName(username)) throw new HubError(409, `user ${username} exists`);
    return this.#ctx.store.createUser(username, await hashPassword(password));
  }

  async userId(username: string): Promise<number> {
    const u = await this.#ctx.store.userByName(username);
    if (!u) throw new HubError(404, `no user ${username}`);
    return u.id;
  }

  /** A personal access token; the token text is returned once and only its hash is kept. */
  async createToken(username: string, opts: { expires?: string; name?: string } = {}): Promise<{ token: string; id: string; expires: number | null }> {
    const userId = await this.userId(username);
    const token = newToken('nhl');
    const now = seconds(this.#ctx);
    const expires = parseExpiry(opts.expires, now);
    const rec: TokenRecord = { id: shortId('tok'), kind: 'pat', userId, clientId: null, name: opts.name ?? '', created: now, expires, revoked: false };
    await this.#ctx.store.createToken(hashToken(token), rec);
    return { token, id: rec.id, expires };
  }

  /** Revoke by token id (tok_...) or by the token text itself. */
  async revokeToken(idOrToken: string): Promise<boolean> {
    return (await this.#ctx.store.revokeToken(idOrToken)) || this.#ctx.store.revokeToken(hashToken(idOrToken));
  }

  /**
   * Throttled guessing: past LOGIN_FAILURES for the account or the address (`from`, the peer's IP
   * when called over HTTP), every attempt gets 429 without its secret being checked; a success
   * clears the account's count and takes back only its own count from the address.
   */
  async #guarded<T>(account: string, from: string | undefined, attempt: () => Promise<T | null>): Promise<T | null> {
    const addr = from === undefined ? [] : [`addr:${from}`];
    const now = this.#ctx.now();
    const wait = Math.max(this.#logins.check([account], now), this.#addresses.check(addr, now));
    if (wait > 0) throw new HubError(429, `too many failed attempts; try again in ${wait} s`, wait);
    // counted before the check, so guesses sent in parallel cannot all slip through
    this.#logins.fail([account], now);
    this.#addresses.fail(addr, now);
    const ok = await attempt();
    if (ok !== null) {
      this.#logins.succeed([account]);
      this.#addresses.forgive(addr);
    }
    return ok;
  }

  async login(username: string, password: string, from?: string): Promise<string> {
    return (await this.session(username, password, from)).token;
  }

  /** A session token for a user's password (/auth/login, /auth/token), with its expiry (unix s) and user. */
  async session(username: string, password: string, from?: string): Promise<{ token: string; expires: number; user: UserRecord; now: number }> {
    const u = await this.#guarded(`user:${username}`, from, async () => {
      const u = await this.#ctx.store.userByName(username);
      // verify against a dummy hash when the user is unknown, so timing does not reveal which usernames exist
      const ok = await verifyPassword(password, u?.passwordHash ?? DUMMY_HASH);
      return u && ok ? u : null;
    });
    if (!u) throw new HubError(401, 'invalid username or password');
    const token = newToken('nhs');
    const now = seconds(this.#ctx);
    const expires = now + this.#sessionTtl;
    await this.#ctx.store.createToken(hashToken(token), { id: shortId('ses'), kind: 'session', userId: u.id, clientId: null, name: 'login', created: now, expires, revoked: false });
    return { token, expires, user: { id: u.id, username: u.username, created: u.created }, now };
  }

  async createClient(projectUID: string): Promise<{ clientId: string; clientSecret: string }> {
    const p = await this.#projects.project(projectUID);
    const clientId = randomUUID();
    const clientSecret = newToken('nhc');
    await this.#ctx.store.createClient({ clientId, projectUID: p.uid, created: seconds(this.#ctx), revoked: false }, hashToken(clientSecret));
    return { clientId, clientSecret };
  }

  /** OAuth2 client credentials grant: a bearer token for the client's project, 30 minutes. */
  async clientToken(clientId: string, clientSecret: string, from?: string): Promise<{ access_token: string; token_type: 'bearer'; expires_in: number; scope: string }> {
    const c = await this.#guarded(`client:${clientId}`, from, async () => {
      const c = await this.#ctx.store.clientById(clientId);
      const given = Buffer.from(hashToken(clientSecret));
      return !c || c.revoked || !timingEqual(given, Buffer.from(c.secretHash)) ? null : c;
    });
    if (!c) throw new HubError(401, 'invalid client credentials');
    const token = newToken('nho');
    const now = seconds(this.#ctx);
    await this.#ctx.store.createToken(hashToken(token), { id: shortId('oat'), kind: 'oauth', userId: null, clientId, name: 'oauth', created: now, expires: now + OAUTH_TTL, revoked: false });
    return { access_token: token, token_type: 'bearer', expires_in: OAUTH_TTL, scope: '' };
  }

  /** Who presents this token; 401 for unknown, expired or revoked tokens. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new HubError(401, 'authentication required');
    const { store } = this.#ctx;
    const t = await store.tokenByHash(hashToken(token));
    if (!t) throw new HubError(401, 'invalid token');
    if (t.revoked) throw new HubError(401, 'token revoked');
    if (t.expires !== null && t.expires <= seconds(this.#ctx)) throw new HubError(401, 'token expired');
    if (t.clientId !== null) {
      const c = await store.clientById(t.clientId);
      if (!c || c.revoked) throw new HubError(401, 'client revoked');
      const p = await store.project(c.projectUID);
      if (!p) throw new HubError(401, 'client project deleted');
      return { kind: 'client', clientId: c.clientId, projectUID: c.projectUID, account: `user:${p.ownerId}`, tokenId: t.id };
    }
    const u = t.userId === null ? null : await store.userById(t.userId);
    if (!u) throw new HubError(401, 'token user deleted');
    return { kind: 'user', userId: u.id, username: u.username, account: `user:${u.id}`, tokenId: t.id };
  }

  /** 0 when the principal's billing account may make another request, else seconds to wait. */
  rateLimit(p: Principal): number { return this.#limiter ? this.#limiter.take(p.account, this.#ctx.now()) : 0; }
}

const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function timingEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
