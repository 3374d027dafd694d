/** Routes of a project and their delivery queue (hub/routes.ts does the sending). */
import { randomUUID } from 'node:crypto';
import type { DeliveryRecord, RouteRecord } from '../store/types';
import { HubError, seconds, type ServiceContext } from './common';
import type { ProjectService } from './projects';

export interface RouteSpec { uid?: string; label?: string; url: string; headers?: { [k: string]: string }; files?: string[]; disabled?: boolean }

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
    const now = seconds(this.#ctx);
    const rec: RouteRecord = {
      uid: old?.uid ?? randomUUID(), projectUID, label: spec.label ?? old?.label ?? 'route', type: 'http', url: spec.url,
      headers: spec.headers ?? old?.headers ?? {}, files: spec.files ?? old?.files ?? [], disabled: spec.disabled ?? old?.disabled ?? false,
      created: old?.created ?? now, modified: now,
    };
    await this.#ctx.store.putRoute(rec);
    return rec;
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
}
