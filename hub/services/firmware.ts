/** Firmware images of a project and the DFU requests for its devices. */
import { createHash } from 'node:crypto';
import type { DfuRecord, FirmwareRecord } from '../store/types';
import { HubError, seconds, type ServiceContext } from './common';
import type { DeviceService } from './devices';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;

export type FirmwareType = 'host' | 'notecard';

export function firmwareType(v: string): FirmwareType {
  if (v !== 'host' && v !== 'notecard') throw new HubError(400, 'firmware type is host or notecard');
  return v;
}

export class FirmwareService {
  readonly #ctx: ServiceContext;
  readonly #devices: DeviceService;

  constructor(ctx: ServiceContext, devices: DeviceService) { this.#ctx = ctx; this.#devices = devices; }

  firmware(projectUID: string, filter: { type?: string; filename?: string; version?: string }): Promise<FirmwareRecord[]> {
    return this.#ctx.store.firmware(projectUID, filter);
  }

  async firmwareData(projectUID: string, type: FirmwareType, filename: string): Promise<Uint8Array> {
    const data = await this.#ctx.store.firmwareData(projectUID, type, filename);
    if (!data) throw new HubError(404, `firmware not found: ${filename}`);
    return data;
  }

  async putFirmware(projectUID: string, type: string, filename: string, data: Uint8Array, info: { version?: string; notes?: string }): Promise<FirmwareRecord> {
    const t = firmwareType(type);
    if (!FILE_NAME.test(filename) || filename.length > 128) throw new HubError(400, `invalid firmware filename: ${filename}`);
    const rec: FirmwareRecord = { projectUID, type: t, filename, version: info.version ?? '', notes: info.notes ?? '',
      md5: createHash('md5').update(data).digest('hex'), length: data.length, created: seconds(this.#ctx) };
    await this.#ctx.store.putFirmware(rec, data);
    return rec;
  }

  async requestDfu(projectUID: string, kind: string, deviceUIDs: string[], filename: string | null): Promise<DfuRecord[]> {
    const type = firmwareType(kind);
    const { store } = this.#ctx;
    if (filename !== null && !(await store.firmware(projectUID, { type, filename })).length) throw new HubError(404, `firmware not found: ${filename}`);
    const now = seconds(this.#ctx);
    const out: DfuRecord[] = [];
    for (const uid of deviceUIDs) {
      await this.#devices.deviceIn(projectUID, uid);
      const old = await store.dfu(uid, type);
      if (filename === null && !old) continue;
      const rec: DfuRecord = filename === null
        ? { ...old!, status: 'canceled', text: 'canceled by request', updated: now }
        : { deviceUID: uid, projectUID, type, filename, status: 'pending', text: 'requested', requested: now, updated: now };
      await store.putDfu(rec);
      out.push(rec);
    }
    return out;
  }

  /** requestDfu for the devices named, and those with any of the tags or in any of the fleets (400 if none). */
  async requestDfuFor(projectUID: string, type: FirmwareType, which: { deviceUIDs?: string[]; tags?: string[]; fleetUIDs?: string[] }, filename: string | null): Promise<DfuRecord[]> {
    const uids = new Set(which.deviceUIDs ?? []);
    if (which.tags || which.fleetUIDs) {
      const { devices } = await this.#devices.devices(projectUID, { tags: which.tags, fleetUIDs: which.fleetUIDs }, 100000, 1);
      for (const d of devices) uids.add(d.uid);
    }
    if (!uids.size) throw new HubError(400, 'name the devices: deviceUID, tag or fleetUID');
    return this.requestDfu(projectUID, type, [...uids], filename);
  }

  /** The device's DFU request of this type (null: none). */
  async dfuStatus(projectUID: string, deviceUID: string, type: FirmwareType): Promise<DfuRecord | null> {
    return this.#ctx.store.dfu((await this.#devices.deviceIn(projectUID, deviceUID)).uid, type);
  }
}
