/** Routes of a project and their delivery queue (hub/routes.ts does the sending). */
import { randomUUID } from 'node:crypto';
import type { DeliveryRecord, ProxySettings, RouteLogQuery, RouteLogRecord, RouteRecord } from '../store/types';
import { HubError, seconds, type ServiceContext } from './common';
import type { ProjectService } from './projects';

export interface RouteSpec {
  uid?: string; label?: string; url: string; headers?: { [k: string]: string }; files?: string[]; disabled?: boolean;
  /** 'proxy': a route the cards' web.* requests go through (alias required); default 'http' (event delivery). */
  type?: 'http' | 'proxy' | 'notehub'; alias?: string; timeout?: number; fleets?: string[];
  /** 'notehub': the publisher (PID and PSK) the events are published as */
  pid?: string; psk?: string;
}

/** Longest proxy route alias (what a card's web.* `route` can carry). */
export const MAX_ALIAS = 128;
/** Longest proxy route timeout, seconds. */
export const MAX_PROXY_TIMEOUT = 300;

export class RouteService {
  readonly #ctx: ServiceContext;
  readonly #projects: ProjectService;

  constructor(ctx: ServiceContext, projects: ProjectService) { this.#ctx = ctx; this.#projects = projects; }

  routesOf(projectUID: string): Promise<RouteRecord[]> { return this.#ctx.store.routesOf(projectUID); }

  async putRoute(projectUID: string, spec: RouteSpec): Promise<RouteRecord> {
    await this.#projects.project(projectUID);
    let u: URL;
    try { u = new URL(spec.url); } catch { throw new HubError(400, 'route url is not a URL'); }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HubError(400, 'route url must be http or https');
    const old = spec.uid ? await this.#ctx.store.route(spec.uid) : null;
    if (spec.uid && (!old || old.projectUID !== projectUID)) throw new HubError(404, `route not found: ${spec.uid}`);
    const type = spec.type ?? old?.type ?? 'http';
    if (old && old.type !== type) throw new HubError(400, `a route keeps its type (${old.type})`);
    const now = seconds(this.#ctx);
    const rec: RouteRecord = {
      uid: old?.uid ?? randomUUID(), projectUID, label: spec.label ?? old?.label ?? 'route', type, url: spec.url,
      headers: spec.headers ?? old?.headers ?? {}, files: spec.files ?? old?.files ?? [], disabled: spec.disabled ?? old?.disabled ?? false,
      created: old?.created ?? now, modified: now,
    };
    if (type === 'proxy') rec.proxy = await this.#proxySettings(projectUID, spec, old);
    if (type === 'notehub') {
      const pid = spec.pid ?? old?.publisher?.pid ?? '';
      const psk = spec.psk ?? old?.publisher?.psk ?? '';
      if (!pid || !psk) throw new HubError(400, 'a notehub route needs the publisher ID (pid) and key (psk)');
      rec.publisher = { pid, psk };
    }
    await this.#ctx.store.putRoute(rec);
    return rec;
  }

  async #proxySettings(projectUID: string, spec: RouteSpec, old: RouteRecord | null): Promise<ProxySettings> {
    const alias = spec.alias ?? old?.proxy?.alias ?? '';
    if (!alias) throw new HubError(400, 'a proxy route needs an alias');
    if (Buffer.byteLength(alias) > MAX_ALIAS) throw new HubError(400, `alias: at most ${MAX_ALIAS} bytes`);
    const timeout = spec.timeout ?? old?.proxy?.timeout ?? 0;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_PROXY_TIMEOUT) throw new HubError(400, `timeout: whole seconds from 0 (default) to ${MAX_PROXY_TIMEOUT}`);
    const fleets = spec.fleets ?? old?.proxy?.fleets ?? [];
    for (const f of fleets) await this.#projects.fleetIn(projectUID, f);
    const clash = (await this.routesOf(projectUID)).find((r) => r.type === 'proxy' && r.proxy?.alias === alias && r.uid !== old?.uid);
    if (clash) throw new HubError(409, `another proxy route of this project has the alias ${alias}`);
    return { alias, timeout, fleets };
  }

  /** The enabled proxy route `alias` of the project that serves a device of these fleets, or null. */
  async proxyRoute(projectUID: string, alias: string, deviceFleets: string[]): Promise<RouteRecord | null> {
    const r = (await this.routesOf(projectUID)).find((x) => x.type === 'proxy' && !x.disabled && x.proxy?.alias === alias);
    if (!r) return null;
    const fleets = r.proxy?.fleets ?? [];
    return fleets.length === 0 || fleets.some((f) => deviceFleets.includes(f)) ? r : null;
  }

  async routeIn(projectUID: string, uid: string): Promise<RouteRecord> {
    const r = await this.#ctx.store.route(uid);
    if (!r || r.projectUID !== projectUID) throw new HubError(404, `route not found: ${uid}`);
    return r;
  }

  async deleteRoute(projectUID: string, uid: string): Promise<void> {
    await this.#ctx.store.deleteRoute((await this.routeIn(projectUID, uid)).uid);
  }

  // ---------------------------------------------------------------- the delivery queue

  /** Routes with deliveries due at `now` (unix seconds; one pass uses one `now`). */
  dueRoutes(now: number): Promise<{ routeUID: string; projectUID: string }[]> { return this.#ctx.store.dueRoutes(now); }

  dueDeliveries(now: number, limit: number, routeUID?: string): Promise<DeliveryRecord[]> {
    return this.#ctx.store.dueDeliveries(now, limit, routeUID);
  }

  deliveryDone(id: number): Promise<void> { return this.#ctx.store.deliveryDone(id); }

  /** A failed attempt: due again `delayMs` from now, or kept as dead. */
  deliveryRetry(id: number, delayMs: number, error: string, dead: boolean): Promise<void> {
    return this.#ctx.store.deliveryRetry(id, (this.#ctx.now() + delayMs) / 1000, error, dead);
  }

  /** Log an attempt's outcome, and announce it (the dashboard's stream shows it). */
  async delivered(r: Omit<RouteLogRecord, 'when'>): Promise<void> {
    const rec = { ...r, when: seconds(this.#ctx) };
    await this.#ctx.store.addRouteLog(rec);
    this.#ctx.emit('delivery', rec);
  }

  /**
   * A route's logged attempts (404 for a route not of this project). A device may be named by
   * its serial number, `sn:NUMBER`, as on Notehub.
   */
  async routeLogs(projectUID: string, routeUID: string, q: Omit<RouteLogQuery, 'projectUID' | 'routeUID'>): Promise<RouteLogRecord[]> {
    await this.routeIn(projectUID, routeUID);
    let deviceUIDs = q.deviceUIDs;
    const sns = deviceUIDs?.filter((d) => d.startsWith('sn:')).map((d) => d.slice(3)) ?? [];
    if (sns.length) {
      const named = (await this.#ctx.store.devices(projectUID, { serialNumbers: sns }, 1000, 0)).devices.map((d) => d.uid);
      deviceUIDs = [...deviceUIDs!.filter((d) => !d.startsWith('sn:')), ...named];
      if (!deviceUIDs.length) return []; // no such serial number
    }
    return this.#ctx.store.routeLogs({ ...q, deviceUIDs, projectUID, routeUID });
  }

  /** The attempts to deliver one event, to any route, in the order made. */
  eventRouteLogs(projectUID: string, eventUID: string): Promise<RouteLogRecord[]> {
    return this.#ctx.store.routeLogs({ projectUID, eventUID, sortBy: 'date', descending: false, limit: 1000, offset: 0 });
  }
}
