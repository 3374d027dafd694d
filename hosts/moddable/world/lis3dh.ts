// An LIS3DH accelerometer (the Notecard's own part) on I2C: polled at 10 Hz, a movement is a
// change of acceleration beyond a threshold between samples, the orientation is the axis
// gravity dominates. The bus is handed in (ECMA-419 `embedded:io/i2c` on a board), so the logic
// is tested on Node with a scripted bus.
import type { Accelerometer, MotionEvent, Orientation } from '../../../src/world';

/** What the driver needs of an I2C device at the part's address. */
export interface I2cDevice {
  write(bytes: Uint8Array, stop?: boolean): void;
  read(count: number): ArrayBuffer;
}

const WHO_AM_I = 0x0f;
const LIS3DH_ID = 0x33;
const CTRL_REG1 = 0x20; // 0x57: 100 Hz, normal mode, X/Y/Z on; 0x00: power down
const CTRL_REG4 = 0x23; // 0x88: block data update, +-2 g, high resolution
const OUT_X_L = 0x28;
const AUTO_INCREMENT = 0x80;
/** Poll period, ms. */
export const POLL_MS = 100;
/** A change of this much (g) between two samples is a movement. */
export const MOVE_G = 0.08;
/** Gravity must lie within this angle's cosine of an axis for a face orientation. */
const FACE_COS = 0.85;

export type Schedule = (ms: number, fire: () => void) => void;

export class Lis3dh implements Accelerometer {
  readonly #bus: I2cDevice;
  #listener: ((event: MotionEvent) => void) | undefined;
  #last: [number, number, number] | undefined;
  #orientation: Orientation = 'face-up';
  #on = true;

  /** Throws when no LIS3DH answers (the board has no accelerometer there). */
  constructor(bus: I2cDevice, schedule: Schedule) {
    this.#bus = bus;
    if (this.#register(WHO_AM_I) !== LIS3DH_ID) throw new Error('no LIS3DH at this address');
    this.#set(CTRL_REG4, 0x88);
    this.#set(CTRL_REG1, 0x57);
    const tick = () => {
      if (this.#on) this.sample();
      schedule(POLL_MS, tick);
    };
    schedule(POLL_MS, tick);
  }

  orientation(): Orientation {
    return this.#orientation;
  }

  onMotion(listener: (event: MotionEvent) => void): void {
    this.#listener = listener;
  }

  enable(on: boolean): void {
    this.#on = on;
    this.#last = undefined;
    this.#set(CTRL_REG1, on ? 0x57 : 0x00);
  }

  /** Read one sample; report a movement or an orientation change. */
  sample(): void {
    this.#bus.write(Uint8Array.of(OUT_X_L | AUTO_INCREMENT), false);
    const raw = new DataView(this.#bus.read(6));
    // High-resolution mode: 12-bit left-justified, 1 mg per digit at +-2 g.
    const g = [0, 2, 4].map((at) => (raw.getInt16(at, true) >> 4) / 1000) as [number, number, number];
    const last = this.#last;
    this.#last = g;
    const orientation = orientationOf(g);
    const turned = orientation !== this.#orientation;
    this.#orientation = orientation;
    const moved = last !== undefined && Math.hypot(g[0] - last[0], g[1] - last[1], g[2] - last[2]) > MOVE_G;
    const freefall = Math.hypot(g[0], g[1], g[2]) < 0.3;
    if (moved || turned) this.#listener?.({ count: moved ? 1 : 0, orientation, ...(freefall ? { freefall } : {}) });
  }

  #register(reg: number): number {
    this.#bus.write(Uint8Array.of(reg), false);
    return new Uint8Array(this.#bus.read(1))[0];
  }

  #set(reg: number, value: number): void {
    this.#bus.write(Uint8Array.of(reg, value));
  }
}

/** The face gravity points through (the card lying on its back is face-up), else angled. */
export function orientationOf([x, y, z]: [number, number, number]): Orientation {
  const n = Math.hypot(x, y, z);
  if (n < 0.5) return 'angled';
  const [ax, ay, az] = [x / n, y / n, z / n];
  if (az > FACE_COS) return 'face-up';
  if (az < -FACE_COS) return 'face-down';
  if (ay > FACE_COS) return 'portrait-up';
  if (ay < -FACE_COS) return 'portrait-down';
  if (ax > FACE_COS) return 'landscape-right';
  if (ax < -FACE_COS) return 'landscape-left';
  return 'angled';
}
