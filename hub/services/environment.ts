/** Environment variables: project, fleet and device scopes, and what a device ends up with. */
import type { EnvScope } from '../store/types';
import { HubError, type ServiceContext } from './common';
import type { DeviceService } from './devices';

export class EnvironmentService {
  readonly #ctx: ServiceContext;
  readonly #devices: DeviceService;

  constructor(ctx: ServiceContext, devices: DeviceService) { this.#ctx = ctx; this.#devices = devices; }

  envGet(scope: EnvScope, ownerUID: string): Promise<{ [k: string]: string }> { return this.#ctx.store.envGet(scope, ownerUID); }

  async envPut(scope: EnvScope, ownerUID: string, vars: unknown, replace = false): Promise<{ [k: string]: string }> {
    if (!vars || typeof vars !== 'object' || Array.isArray(vars)) throw new HubError(400, 'environment_variables must be an object of strings');
    const clean: { [k: string]: string } = {};
    for (const [k, v] of Object.entries(vars)) {
      if (typeof v !== 'string') throw new HubError(400, `environment variable ${k} must be a string`);
      if (!k || k.length > 128) throw new HubError(400, 'environment variable names are 1-128 characters');
      // JSON.parse makes "__proto__" a plain key, but assigned to an object it sets the prototype
      // instead of storing a value (how it used to vanish): refuse it rather than lose it
      if (k === '__proto__') throw new HubError(400, 'environment variable name __proto__ is not allowed');
      clean[k] = v;
    }
    await this.#ctx.store.envPut(scope, ownerUID, clean, replace);
    this.#ctx.emit('env', { scope, ownerUID });
    return this.#ctx.store.envGet(scope, ownerUID);
  }

  async envDelete(scope: EnvScope, ownerUID: string, key: string): Promise<{ [k: string]: string }> {
    if (await this.#ctx.store.envDelete(scope, ownerUID, key)) this.#ctx.emit('env', { scope, ownerUID });
    return this.#ctx.store.envGet(scope, ownerUID);
  }

  /** When anything in the device's hub-side environment (project, fleets, device) last changed; 0 if never. */
  async envModified(deviceUID: string): Promise<number> {
    const { store } = this.#ctx;
    const d = await this.#devices.device(deviceUID);
    const times = await Promise.all([
      store.envModified('project', d.projectUID), store.envModified('device', d.uid),
      ...d.fleetUIDs.map((f) => store.envModified('fleet', f)),
    ]);
    return Math.max(0, ...times.map((t) => t ?? 0));
  }

  /** What the device sees: card defaults < project < fleets < device. */
  async effectiveEnv(deviceUID: string): Promise<{ [k: string]: string }> {
    const { store } = this.#ctx;
    const d = await this.#devices.device(deviceUID);
    const out = { ...(await store.envGet('device_default', d.uid)), ...(await store.envGet('project', d.projectUID)) };
    for (const f of d.fleetUIDs) Object.assign(out, await store.envGet('fleet', f));
    return Object.assign(out, await store.envGet('device', d.uid));
  }
}
