/** Firmware images of a project and the DFU requests for its devices. */
import { createHash } from 'node:crypto';
import { crc32 } from '../../src/util/crc32';
import type { JsonObject } from '../../src/json';
import type { DfuRecord, FirmwareRecord } from '../store/types';
import { HubError, seconds, type ServiceContext } from './common';
import type { DeviceService } from './devices';
import type { EnvironmentService } from './environment';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_\-.]*$/;
/** A stored (timestamped) name: the upload's name with `$YYYYMMDDhhmmss` before its extension. */
const STORED_NAME = /^[A-Za-z0-9][A-Za-z0-9_\-.]*\$\d{14}(\.[A-Za-z0-9]+)?$/;
/** Phases kept per device update. */
const HISTORY = 50;

export type FirmwareType = 'host' | 'notecard';

/** The environment variable that asks a device for an image, as on Notehub. */
export const DFU_ENV: Readonly<Record<FirmwareType, string>> = Object.freeze({ host: '_fw', notecard: '_fwc' });

export function firmwareType(v: string): FirmwareType {
  if (v !== 'host' && v !== 'notecard') throw new HubError(400, 'firmware type is host or notecard');
  return v;
}

/** `app.bin` uploaded at t -> `app$YYYYMMDDhhmmss.bin` (UTC), the name the Notecard reports. */
export function timestampedName(filename: string, t: number): string {
  const d = new Date(t * 1000).toISOString();
  const stamp = d.slice(0, 4) + d.slice(5, 7) + d.slice(8, 10) + d.slice(11, 13) + d.slice(14, 16) + d.slice(17, 19);
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? `${filename.slice(0, dot)}$${stamp}${filename.slice(dot)}` : `${filename}$${stamp}`;
}

/** The description a card gets of an image (dfu.status body). */
export function firmwareBody(f: FirmwareRecord): JsonObject {
  const body: JsonObject = {
    crc32: f.crc32, created: Math.floor(f.created), info: {}, length: f.length, md5: f.md5, modified: Math.floor(f.modified),
    name: f.filename, notes: f.notes, source: f.source, type: 'firmware',
  };
  if (f.version) body.version = f.version;
  return body;
}

export class FirmwareService {
  readonly #ctx: ServiceContext;
  readonly #devices: DeviceService;
  #env: EnvironmentService | undefined;

  constructor(ctx: ServiceContext, devices: DeviceService, env?: EnvironmentService) { this.#ctx = ctx; this.#devices = devices; this.#env = env; }

  firmware(projectUID: string, filter: { type?: string; filename?: string; version?: string }): Promise<FirmwareRecord[]> {
    return this.#ctx.store.firmware(projectUID, filter);
  }

  /** An image by its stored name, or the latest upload of that name (null: none). */
  async resolve(projectUID: string, type: FirmwareType, name: string): Promise<FirmwareRecord | null> {
    const all = await this.#ctx.store.firmware(projectUID, { type });
    const exact = all.find((f) => f.filename === name);
    if (exact) return exact;
    const latest = all.filter((f) => f.source === name);
    return latest.length ? latest[latest.length - 1] : null;
  }

  async firmwareData(projectUID: string, type: FirmwareType, filename: string): Promise<Uint8Array> {
    const f = await this.resolve(projectUID, type, filename);
    const data = f && await this.#ctx.store.firmwareData(projectUID, type, f.filename);
    if (!data) throw new HubError(404, `firmware not found: ${filename}`);
    return data;
  }

  async putFirmware(projectUID: string, type: string, filename: string, data: Uint8Array, info: { version?: string; notes?: string }): Promise<FirmwareRecord> {
    const t = firmwareType(type);
    if (!FILE_NAME.test(filename) || filename.length > 128) throw new HubError(400, `invalid firmware filename: ${filename}`);
    const now = seconds(this.#ctx);
    const rec: FirmwareRecord = { projectUID, type: t, filename: timestampedName(filename, now), version: info.version ?? '', notes: info.notes ?? '',
      md5: createHash('md5').update(data).digest('hex'), length: data.length, created: now,
      source: filename, crc32: crc32(data), modified: now };
    await this.#ctx.store.putFirmware(rec, data);
    return rec;
  }

  async requestDfu(projectUID: string, kind: string, deviceUIDs: string[], filename: string | null): Promise<DfuRecord[]> {
    const type = firmwareType(kind);
    const { store } = this.#ctx;
    const image = filename === null ? null : await this.resolve(projectUID, type, filename);
    if (filename !== null && !image) throw new HubError(404, `firmware not found: ${filename}`);
    const now = seconds(this.#ctx);
    const out: DfuRecord[] = [];
    for (const uid of deviceUIDs) {
      await this.#devices.deviceIn(projectUID, uid);
      const old = await store.dfu(uid, type);
      if (filename === null && !old) continue;
      // Notehub's way: the request is the device's _fw / _fwc environment variable (the card acts on it)
      if (image) await this.#env?.envPut('device', uid, { [DFU_ENV[type]]: image.filename });
      else await this.#env?.envDelete('device', uid, DFU_ENV[type]);
      const rec: DfuRecord = image === null
        ? phase({ ...old! }, 'canceled', 'canceled by request', now)
        : phase({ deviceUID: uid, projectUID, type, filename: image.filename, status: 'pending', text: 'requested', requested: now, updated: now, length: image.length }, 'pending', 'requested', now);
      await this.#put(rec);
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

  // ---- the device side (the sync listener)

  /** A card asks about the image its environment names: the image (and the update is under way), or why not. */
  async imageFor(deviceUID: string, type: FirmwareType, name: string): Promise<{ image: FirmwareRecord } | { error: string }> {
    const d = await this.#devices.device(deviceUID);
    const image = await this.resolve(d.projectUID, type, name);
    const now = seconds(this.#ctx);
    const old = await this.#ctx.store.dfu(d.uid, type);
    if (!image) {
      // also when set through the environment API: the card reports the error, the hub records it
      return { error: STORED_NAME.test(name) || FILE_NAME.test(name) ? `firmware not found: ${name}` : `invalid firmware name: ${name}` };
    }
    if (!old || old.filename !== image.filename || old.status === 'canceled') {
      await this.#put(phase({
        deviceUID: d.uid, projectUID: d.projectUID, type, filename: image.filename, status: 'pending', text: 'requested through the environment',
        requested: now, updated: now, length: image.length, history: old?.filename === image.filename ? old.history : [],
      }, 'pending', 'requested', now));
    }
    return { image };
  }

  /**
   * Bytes [offset, offset+length) of the image a device's update names (null: gone, canceled, or
   * not that device's image: a card reads no other build of its project, another product's say).
   */
  async imageChunk(deviceUID: string, type: FirmwareType, name: string, offset: number, length: number): Promise<Uint8Array | null> {
    const d = await this.#devices.device(deviceUID);
    const [update, chunk] = await Promise.all([this.#ctx.store.dfu(d.uid, type), this.#ctx.store.firmwareChunk(d.projectUID, type, name, offset, length)]);
    return update?.filename === name && update.status !== 'canceled' ? chunk : null;
  }

  /** A card reports a phase of an update (its dfu.status mode and text). */
  async report(deviceUID: string, type: FirmwareType, name: string, mode: string, text: string, version: string): Promise<void> {
    const { store } = this.#ctx;
    const d = await this.#devices.device(deviceUID);
    const now = seconds(this.#ctx);
    const old = await store.dfu(d.uid, type);
    const status = (['downloading', 'ready', 'error', 'completed', 'idle'] as const).find((m) => m === mode) ?? 'error';
    const base: DfuRecord = old && (old.filename === name || !name)
      ? { ...old }
      : { deviceUID: d.uid, projectUID: d.projectUID, type, filename: name, status: 'pending', text: '', requested: now, updated: now };
    if (version) base.version = version;
    const m = /\((\d+)\/(\d+)\)/.exec(text);
    if (m) { base.read = Number(m[1]); base.length = Number(m[2]); }
    if (status === 'ready' || status === 'completed') base.read = base.length;
    // a cancelled update stays cancelled (the card's last word goes to the history)
    if (old?.status === 'canceled' && old.filename === name && status !== 'completed' && status !== 'idle') {
      await this.#put({ ...phase(base, status, text, now), status: 'canceled', text: old.text });
      return;
    }
    await this.#put(status === 'idle' ? base : phase(base, status, text, now));
  }

  /** Store a phase and tell listeners (the dashboard's event stream shows progress as it comes). */
  async #put(rec: DfuRecord): Promise<void> {
    await this.#ctx.store.putDfu(rec);
    const { history: _, ...phaseOnly } = rec; // the history stays in the store: the message stays small enough for the bus
    this.#ctx.emit('dfu', phaseOnly);
  }
}

/** Record a phase (status + text) in the update's history. */
function phase(rec: DfuRecord, status: DfuRecord['status'], text: string, now: number): DfuRecord {
  const history = [...(rec.history ?? [])];
  history.push({ when: now, status, text });
  return { ...rec, status, text, updated: now, history: history.slice(-HISTORY) };
}
