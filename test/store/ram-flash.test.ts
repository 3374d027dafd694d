import { PowerCut, RamFlash } from '../../hosts/node/ram-flash';

describe('RamFlash', () => {
  it('erases to 0xFF, only clears bits, enforces alignment and counts erases', () => {
    const f = new RamFlash({ size: 4 * 4096, writeAlign: 4 });
    expect(Array.from(f.read(0, 4))).toEqual([255, 255, 255, 255]);
    f.write(4, Uint8Array.of(0xf0, 0x0f, 0x00, 0xff));
    expect(Array.from(f.read(4, 4))).toEqual([0xf0, 0x0f, 0x00, 0xff]);
    f.write(4, Uint8Array.of(0x30, 0x0f, 0x00, 0x7f)); // clearing more bits is fine
    expect(() => f.write(4, Uint8Array.of(0xff, 0, 0, 0))).toThrow(/cleared bit/);
    expect(() => f.write(2, Uint8Array.of(0, 0, 0, 0))).toThrow(/aligned/);
    expect(() => f.write(4, Uint8Array.of(0, 0))).toThrow(/aligned/);
    f.erase(0);
    expect(Array.from(f.read(4, 4))).toEqual([255, 255, 255, 255]);
    expect(f.eraseCounts[0]).toBe(1);
    expect(f.ops).toBe(3);
    expect(() => f.erase(4)).toThrow(/no flash block/);
  });

  it('cuts power at the chosen operation, tears it, and stays dead until reboot', () => {
    const f = new RamFlash({ size: 2 * 4096, writeAlign: 1, seed: 7 });
    f.cutAfter(2);
    f.write(0, new Uint8Array(8).fill(0));
    const data = new Uint8Array(64).fill(0);
    expect(() => f.write(100, data)).toThrow(PowerCut);
    expect(() => f.read(0, 1)).toThrow(PowerCut);
    f.reboot();
    const after = f.read(100, 64);
    // Torn: the write did not complete.
    expect(Array.from(after).some((b) => b !== 0)).toBe(true);
    f.erase(0);
    expect(f.read(100, 1)[0]).toBe(255);
  });

  it('a torn erase leaves part of the old contents', () => {
    let partial = false;
    for (let seed = 1; seed < 20 && !partial; seed++) {
      const f = new RamFlash({ size: 4096, writeAlign: 1, seed });
      f.write(0, new Uint8Array(4096).fill(0));
      f.cutAfter(1);
      expect(() => f.erase(0)).toThrow(PowerCut);
      f.reboot();
      const b = f.read(0, 4096);
      if (b.some((x) => x === 0)) partial = true;
    }
    expect(partial).toBe(true);
  });
});
