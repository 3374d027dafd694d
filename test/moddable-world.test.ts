// The Moddable board's world drivers (hosts/moddable/world/) over scripted IO: the LIS3DH on a
// fake I2C bus (identity check, setup writes, movement and orientation), the AUX and ATTN pins,
// the supply voltage through an ADC.
import { Lis3dh, orientationOf } from '../hosts/moddable/world/lis3dh';
import { attnPin, auxPins, type DigitalPin } from '../hosts/moddable/world/pins';
import { supplySense } from '../hosts/moddable/world/supply';
import type { MotionEvent } from '../src/world';

function lis3dh(id = 0x33) {
  const writes: number[][] = [];
  let g: [number, number, number] = [0, 0, 1];
  let last = 0;
  const bus = {
    write(bytes: Uint8Array) {
      writes.push([...bytes]);
      last = bytes[0];
    },
    read(count: number): ArrayBuffer {
      if (last === 0x0f) return Uint8Array.of(id).buffer;
      const out = new DataView(new ArrayBuffer(count));
      g.forEach((v, i) => out.setInt16(i * 2, Math.round(v * 1000) << 4, true));
      return out.buffer;
    },
  };
  const ticks: (() => void)[] = [];
  return { bus, writes, ticks, set: (v: [number, number, number]) => (g = v), schedule: (_ms: number, fire: () => void) => void ticks.push(fire) };
}

describe('LIS3DH driver', () => {
  it('refuses a bus where no LIS3DH answers', () => {
    const t = lis3dh(0x44);
    expect(() => new Lis3dh(t.bus, t.schedule)).toThrow('no LIS3DH');
  });

  it('sets the part up, counts movements and reports orientation changes', () => {
    const t = lis3dh();
    const accel = new Lis3dh(t.bus, t.schedule);
    expect(t.writes.slice(0, 3)).toEqual([[0x0f], [0x23, 0x88], [0x20, 0x57]]);
    const events: MotionEvent[] = [];
    accel.onMotion((e) => events.push(e));
    accel.sample();
    accel.sample(); // still: nothing
    expect(events).toEqual([]);
    t.set([0.3, 0, 0.95]); // a jolt
    accel.sample();
    t.set([0, -1, 0]); // turned on its side
    accel.sample();
    expect(events).toEqual([{ count: 1, orientation: 'face-up' }, { count: 1, orientation: 'portrait-down' }]);
    expect(accel.orientation()).toBe('portrait-down');
    accel.enable(false);
    expect(t.writes[t.writes.length - 1]).toEqual([0x20, 0x00]);
    t.ticks.shift()!(); // the poll is off: no read
    expect(events.length).toBe(2);
  });

  it('names the face gravity points through', () => {
    expect(orientationOf([0, 0, -1])).toBe('face-down');
    expect(orientationOf([1, 0, 0])).toBe('landscape-right');
    expect(orientationOf([0.7, 0, 0.7])).toBe('angled');
    expect(orientationOf([0, 0, 0.1])).toBe('angled');
  });
});

describe('pins and supply', () => {
  it('AUX pins reopen in their mode, report input edges once, drive outputs; ATTN drives its pin', () => {
    const opened: { pin: number; mode: string; level: 0 | 1; closed: boolean; change?: () => void }[] = [];
    const open = (pin: number, mode: string, change?: () => void): DigitalPin => {
      const io = { pin, mode, level: 0 as 0 | 1, closed: false, change };
      opened.push(io);
      return { read: () => io.level, write: (v) => void (io.level = v), close: () => void (io.closed = true) };
    };
    const aux = auxPins(open, [12, 13]);
    const seen: [number, number][] = [];
    aux.onChange((pin, level) => seen.push([pin, level]));
    aux.configure(2, 'input-pullup');
    opened[0].level = 1;
    opened[0].change!();
    opened[0].change!(); // no change: no report
    expect(seen).toEqual([[2, 1]]);
    aux.configure(2, 'output');
    expect(opened[0].closed).toBe(true);
    aux.write(2, 1);
    expect([opened[1].pin, opened[1].mode, opened[1].level, aux.read(2)]).toEqual([13, 'output', 1, 1]);
    expect(() => aux.read(3)).toThrow('no AUX3');
    const attn = attnPin(open, 5);
    attn.set(true);
    expect([opened[2].pin, opened[2].level]).toEqual([5, 1]);
  });

  it('the supply voltage is the ADC average scaled to full range', () => {
    const readings = [2047, 2049];
    let i = 0;
    const power = supplySense({ resolution: 12, read: () => readings[i++ % 2] }, 6.6);
    expect(power.voltage()).toBe(3.301);
  });
});
