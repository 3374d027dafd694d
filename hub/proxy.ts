/**
 * Outbound web requests of proxy routes (the card's web.*): bounded in size and time, and only to
 * targets the operator's policy allows. By default loopback, private, link-local, carrier-grade
 * NAT, multicast and reserved addresses are refused (route URLs would otherwise reach the hub's own
 * network: SSRF). The check is made on the address a connection actually goes to (the resolver's
 * answer, inside the socket's lookup, so a name cannot resolve one way for the check and another
 * for the connection), and again on every redirect hop.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProxyPolicy {
  /** Allow loopback targets (127.0.0.0/8, ::1): tests and development. */
  allowLoopback?: boolean;
  /** Allow every private/reserved range (an operator whose targets live on the LAN). */
  allowPrivate?: boolean;
  /** Ranges (CIDR or single address) allowed even though the default policy refuses them. */
  allow?: string[];
  /** Ranges refused in addition to the default policy (they win over `allow`). */
  deny?: string[];
}

export interface ProxyLimits {
  /** Bytes of a request body sent out. */
  maxRequest: number;
  /** Bytes of an answer read (the rest is not read: the request fails with 'too-big'). */
  maxResponse: number;
  /** Hard cap on one request's time, ms (a route's timeout and the card's seconds only lower it). */
  maxMs: number;
  maxRedirects: number;
}

export const PROXY_LIMITS: ProxyLimits = Object.freeze({ maxRequest: 65536, maxResponse: 8192, maxMs: 90_000, maxRedirects: 5 });

export interface ProxyRequest {
  method: string;
  url: string;
  headers: { [k: string]: string };
  body?: Uint8Array;
  timeoutMs: number;
}

export type ProxyResult =
  | { ok: true; status: number; contentType: string; body: Uint8Array }
  | { ok: false; status: number; error: string };

/** The default deny list: everything that is not a public unicast address. */
const PRIVATE_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24',
  '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'];
const PRIVATE_V6 = ['::/128', '64:ff9b::/96', '100::/64', '2001::/23', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8'];
const LOOPBACK_V4 = '127.0.0.0/8';
const LOOPBACK_V6 = '::1/128';

function addRange(list: BlockList, range: string): void {
  const slash = range.indexOf('/');
  const address = slash < 0 ? range : range.slice(0, slash);
  const family = isIP(address);
  if (!family) throw new Error(`not an IP range: ${range}`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (slash < 0) list.addAddress(address, type);
  else list.addSubnet(address, Number(range.slice(slash + 1)), type);
}

/** Decides which addresses outbound requests may reach. */
export class TargetPolicy {
  readonly #deny = new BlockList();
  readonly #extraDeny = new BlockList();
  readonly #allow = new BlockList();

  constructor(p: ProxyPolicy = {}) {
    if (!p.allowPrivate) for (const r of [...PRIVATE_V4, ...PRIVATE_V6]) addRange(this.#deny, r);
    if (!p.allowLoopback && !p.allowPrivate) for (const r of [LOOPBACK_V4, LOOPBACK_V6]) addRange(this.#deny, r);
    for (const r of p.allow ?? []) addRange(this.#allow, r);
    for (const r of p.deny ?? []) addRange(this.#extraDeny, r);
  }

  /** Why `address` may not be reached (undefined: it may). */
  refuses(address: string): string | undefined {
    let a = address;
    let family = isIP(a);
    if (!family) return `${address} is not an IP address`;
    // an IPv4-mapped IPv6 address (::ffff:1.2.3.4, or ::ffff:102:304 as URLs write it) is the IPv4 address
    const v4 = family === 6 ? mappedV4(a) : undefined;
    if (v4 !== undefined) { a = v4; family = 4; }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.#extraDeny.check(a, type)) return `${address} is denied by the hub's proxy policy`;
    if (this.#allow.check(a, type)) return undefined;
    if (this.#deny.check(a, type)) return `${address} is a loopback, private or reserved address, which the hub's proxy policy refuses`;
    return undefined;
  }
}

function mappedV4(a: string): string | undefined {
  const lower = a.toLowerCase();
  if (!lower.startsWith('::ffff:')) return undefined;
  const rest = lower.slice(7);
  if (isIP(rest) === 4) return rest;
  const words = rest.split(':');
  if (words.length !== 2 || !words.every((w) => /^[0-9a-f]{1,4}$/.test(w))) return undefined;
  const [hi, lo] = words.map((w) => parseInt(w, 16));
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** An error of ours (the policy, a bound) rather than of the network. */
class Refused extends Error {
  readonly status: number;
  constructor(status: number, message: string) { super(message); this.status = status; }
}

/** One request through a proxy route: redirects followed (each hop checked), bounded answer. */
export async function proxyFetch(policy: TargetPolicy, req: ProxyRequest, limits: ProxyLimits = PROXY_LIMITS): Promise<ProxyResult> {
  const deadline = Date.now() + Math.min(req.timeoutMs, limits.maxMs);
  if (req.body && req.body.length > limits.maxRequest) return { ok: false, status: 413, error: `request body larger than ${limits.maxRequest} bytes {too-big}` };
  let url = req.url;
  let method = req.method;
  let body = req.body;
  for (let hop = 0; ; hop++) {
    let r: Hop;
    try {
      r = await oneHop(policy, { ...req, url, method, body }, deadline, limits.maxResponse);
    } catch (e) {
      if (e instanceof Refused) return { ok: false, status: e.status, error: e.message };
      const text = e instanceof Error ? e.message : String(e);
      return Date.now() >= deadline
        ? { ok: false, status: 504, error: 'the target did not answer in time {timeout}' }
        : { ok: false, status: 502, error: `the target could not be reached: ${text} {network}` };
    }
    const location = r.headers.location;
    if (r.status >= 300 && r.status < 400 && r.status !== 304 && location) {
      if (hop >= limits.maxRedirects) return { ok: false, status: 508, error: `more than ${limits.maxRedirects} redirects {network}` };
      url = new URL(location, url).toString();
      // 303 (and, as browsers do, 301/302 of a POST) go on as GET without a body
      if (r.status === 303 || ((r.status === 301 || r.status === 302) && method === 'POST')) { method = 'GET'; body = undefined; }
      continue;
    }
    if (r.tooBig) return { ok: false, status: r.status, error: `the answer is larger than the ${limits.maxResponse} bytes a reply carries {too-big}` };
    return { ok: true, status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: r.body };
  }
}

interface Hop { status: number; headers: IncomingHttpHeaders; body: Uint8Array; tooBig: boolean }

function oneHop(policy: TargetPolicy, req: ProxyRequest, deadline: number, maxResponse: number): Promise<Hop> {
  let u: URL;
  try { u = new URL(req.url); } catch { return Promise.reject(new Refused(400, 'the route URL and name do not make a URL')); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return Promise.reject(new Refused(400, `${u.protocol} targets are not allowed`));
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  // an address literal is connected to without a lookup: check it here
  if (isIP(host)) {
    const why = policy.refuses(host);
    if (why) return Promise.reject(new Refused(403, `${why} {forbidden}`));
  }
  const lookup = (hostname: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const why = policy.refuses(a.address);
        if (why) return cb(new Refused(403, `${hostname}: ${why} {forbidden}`), '');
      }
      if ((options as { all?: boolean }).all) cb(null, list);
      else cb(null, list[0].address, list[0].family);
    });
  };
  const ms = deadline - Date.now();
  if (ms <= 0) return Promise.reject(new Error('timeout'));
  return new Promise<Hop>((resolve, reject) => {
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: { [k: string]: string } = { ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    const r = send(u, { method: req.method, headers, lookup, timeout: ms, signal: AbortSignal.timeout(ms) }, (res) => {
      const parts: Buffer[] = [];
      let length = 0;
      let tooBig = false;
      res.on('data', (chunk: Buffer) => {
        if (tooBig) return;
        length += chunk.length;
        if (length > maxResponse) { tooBig = true; res.destroy(); finish(); return; }
        parts.push(chunk);
      });
      const finish = (): void => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: new Uint8Array(Buffer.concat(parts)), tooBig });
      res.on('end', finish);
      res.on('error', (e) => { if (!tooBig) reject(e); });
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => reject(e instanceof Refused ? e : (e as { cause?: unknown }).cause instanceof Refused ? (e as { cause: Refused }).cause : e));
    r.end(req.body ? Buffer.from(req.body) : undefined);
  });
}

/** The target URL of a proxy route for a card's `name` (path and query relative to the route URL), plus `query` parameters. */
export function targetURL(routeURL: string, name: string, query: [string, number][] = []): string {
  let url = routeURL;
  if (name.startsWith('/') && url.endsWith('/')) url += name.slice(1);
  else if (name && !name.startsWith('/') && !name.startsWith('?') && !url.endsWith('/')) url += `/${name}`;
  else url += name;
  if (query.length) url += (url.includes('?') ? '&' : '?') + query.map(([k, v]) => `${k}=${v}`).join('&');
  return url;
}
