/** Devices of a project: provisioning, admission at first contact, fleets, enable/disable. */
import type { DeviceFilter, DeviceRecord, SyncSessionRecord } from '../store/types';
import { deviceUidError } from '../../src/rules/names';
import { HubError, seconds, type ServiceContext } from './common';
import type { ProjectService } from './projects';

export class DeviceService {
  readonly #ctx: ServiceContext;
  readonly #projects: ProjectService;

  constructor(ctx: ServiceContext, projects: ProjectService) { this.#ctx = ctx; this.#projects = projects; }

  async device(deviceUID: string): Promise<DeviceRecord> {
    const d = await this.#ctx.store.device(deviceUID);
    if (!d) throw new HubError(404, `device not found: ${deviceUID}`);
    return d;
  }

  async deviceIn(projectUID: string, deviceUID: string): Promise<DeviceRecord> {
    const d = await this.#ctx.store.device(deviceUID);
    if (!d || d.projectUID !== projectUID) throw new HubError(404, `device not found: ${deviceUID}`);
    return d;
  }

  /** A device's sync sessions, newest first, a page at a time. */
  async sessions(projectUID: string, deviceUID: string, pageSize: number, pageNum: number): Promise<{ device: DeviceRecord; sessions: SyncSessionRecord[]; hasMore: boolean }> {
    const device = await this.deviceIn(projectUID, deviceUID);
    const rows = await this.#ctx.store.syncSessions(device.uid, pageSize + 1, (pageNum - 1) * pageSize);
    return { device, sessions: rows.slice(0, pageSize), hasMore: rows.length > pageSize };
  }

  devices(projectUID: string, filter: DeviceFilter, pageSize: number, pageNum: number): Promise<{ devices: DeviceRecord[]; hasMore: boolean }> {
    return this.#ctx.store.devices(projectUID, filter, pageSize, (pageNum - 1) * pageSize);
  }

  /**
   * A device admitted ahead of its first contact (API, CLI): created in the product's project
   * (with the product's default fleets), otherwise refreshed. Throws 404 for an unknown product,
   * 409 when the UID belongs to another project. A `secret` is recorded only with a new device.
   */
  async provisionDevice(productUID: string, deviceUID: string, info: { sn?: string; sku?: string; secret?: string } = {}): Promise<DeviceRecord> {
    const { store } = this.#ctx;
    const rec = await this.#newDevice(productUID, deviceUID, info);
    const existing = await store.device(deviceUID);
    if (existing) {
      if (existing.projectUID !== rec.projectUID) throw new HubError(409, 'device belongs to another project');
      await store.updateDevice(deviceUID, { sn: info.sn, sku: info.sku, lastActivity: rec.provisioned });
      return this.device(deviceUID);
    }
    if (info.secret === undefined) await store.createDevice(rec);
    else await store.admitDevice(rec, info.secret, false);
    return this.device(deviceUID);
  }

  /** provisionDevice through the API: the product must be this project's (404), the UID not another project's (409). */
  async provisionIn(projectUID: string, productUID: string, deviceUID: string, info: { sn?: string } = {}): Promise<DeviceRecord> {
    await this.#projects.productIn(projectUID, productUID);
    const existing = await this.#ctx.store.device(deviceUID);
    if (existing && existing.projectUID !== projectUID) throw new HubError(409, 'device belongs to another project');
    return this.provisionDevice(productUID, deviceUID, info);
  }

  async #newDevice(productUID: string, deviceUID: string, info: { sn?: string; sku?: string }): Promise<DeviceRecord> {
    const uidError = deviceUidError(deviceUID);
    if (uidError !== undefined) throw new HubError(400, uidError);
    const prod = await this.#projects.product(productUID);
    const now = seconds(this.#ctx);
    return {
      uid: deviceUID, projectUID: prod.projectUID, productUID: prod.uid, sn: info.sn ?? '', sku: info.sku ?? '', tags: [],
      fleetUIDs: prod.autoProvisionFleets, provisioned: now, lastActivity: now, disabled: prod.disableDevicesByDefault,
      lat: null, lon: null, locationWhen: null, voltage: null, temperature: null,
    };
  }

  /**
   * For the sync listener, once a first contact has authenticated: the device recorded with its
   * secret in one step (docs/SYNC.md 4.4 "Identity"). A device that has a secret keeps it (409);
   * deleted from the product's project: 403. A record without a secret in another project was no
   * claim on the device: it is replaced when `replaceForeign` (TOFU on), else 403.
   */
  async admitDevice(productUID: string, deviceUID: string, info: { sn?: string; secret: string; replaceForeign: boolean }): Promise<DeviceRecord> {
    const rec = await this.#newDevice(productUID, deviceUID, info);
    switch (await this.#ctx.store.admitDevice(rec, info.secret, info.replaceForeign)) {
      case 'taken': throw new HubError(409, 'device already provisioned');
      case 'deleted': throw new HubError(403, 'device deleted');
      case 'foreign': throw new HubError(403, 'device admitted by another project than its product\'s');
      default: return this.device(deviceUID);
    }
  }

  /**
   * For the sync listener: a known device announced `productUID`. A device belongs to the project
   * of its product, so a product of another project moves it there (its events stay where they were).
   */
  async followProduct(deviceUID: string, productUID: string): Promise<DeviceRecord> {
    const d = await this.#ctx.store.device(deviceUID);
    if (!d) throw new HubError(403, 'device deleted');
    if (d.productUID === productUID) return d;
    const prod = await this.#projects.product(productUID);
    await this.#ctx.store.moveDevice(deviceUID, prod.projectUID, prod.uid);
    return this.device(deviceUID);
  }

  /** For the sync listener: the secret recorded at first contact (null if none yet). */
  deviceSecret(deviceUID: string): Promise<string | null> { return this.#ctx.store.deviceSecret(deviceUID); }

  async deleteDevice(projectUID: string, deviceUID: string): Promise<void> {
    await this.#ctx.store.deleteDevice((await this.deviceIn(projectUID, deviceUID)).uid);
  }

  async setDisabled(projectUID: string, deviceUID: string, disabled: boolean): Promise<void> {
    await this.#ctx.store.updateDevice((await this.deviceIn(projectUID, deviceUID)).uid, { disabled });
  }

  /** Add (`add`) or remove fleets of this project from the device; returns its fleets after. */
  async changeFleets(projectUID: string, deviceUID: string, fleetUIDs: string[], add: boolean): Promise<string[]> {
    const d = await this.deviceIn(projectUID, deviceUID);
    for (const f of fleetUIDs) await this.#projects.fleetIn(projectUID, f);
    const next = add ? [...new Set([...d.fleetUIDs, ...fleetUIDs])] : d.fleetUIDs.filter((f) => !fleetUIDs.includes(f));
    await this.#ctx.store.setDeviceFleets(d.uid, next);
    return next;
  }
}
