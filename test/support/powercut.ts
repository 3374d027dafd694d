// Cut power at every write/erase of a scripted workload, step by step, without replaying the
// whole script for each cut: each step starts from a saved image of the flash.
import { PowerCut, RamFlash, RamFlashOptions } from '../../hosts/node/ram-flash';

export interface CutHarness<S> {
  /** Mount whatever runs on the flash (a Store, a Card...). */
  mount(flash: RamFlash): S;
  /** Run step i of the workload. */
  step(sys: S, i: number): void;
  /** The logical state, as a canonical string. */
  state(sys: S): string;
  /** Problems the system finds in itself (consistency check). */
  check(sys: S): string[];
}

/** Returns the number of distinct cut points exercised. Throws on the first inconsistency.
 * `maxCutsPerStep` spreads the cuts of a long step (a whole-log rotation) evenly over its
 * operations, first and last included, instead of cutting at every one. */
export function cutEverywhere<S>(geometry: RamFlashOptions, steps: number, h: CutHarness<S>, maxCutsPerStep = Infinity): { cuts: number; erases: number } {
  let flash = new RamFlash(geometry);
  let sys = h.mount(flash);
  let cuts = 0;
  for (let i = 0; i < steps; i++) {
    const image = flash.bytes.slice();
    const before = h.state(sys);
    // The reference: step i on a freshly mounted copy, as the cut runs will do it.
    const ref = new RamFlash({ ...geometry, image });
    const refSys = h.mount(ref);
    h.step(refSys, i);
    const after = h.state(refSys);
    const opsInStep = ref.ops;
    // The uninterrupted line checks clean after every step too (the store's reserve included).
    const refProblems = h.check(refSys);
    if (refProblems.length) throw new Error(`step ${i} (no cut): ${refProblems.join('; ')}`);
    const stride = opsInStep > maxCutsPerStep ? (opsInStep - 1) / (maxCutsPerStep - 1) : 1;
    for (let k = 0; k < Math.min(opsInStep, maxCutsPerStep); k++) {
      const cut = 1 + Math.round(k * stride);
      const f = new RamFlash({ ...geometry, image, seed: cut * 7919 + i });
      const s = h.mount(f);
      f.cutAfter(cut);
      try {
        h.step(s, i);
      } catch (e) {
        if (!(e instanceof PowerCut)) throw e;
      }
      // (A card turns the cut into an error reply instead of throwing: the flash says what happened.)
      if (f.powered) throw new Error(`step ${i} finished without reaching op ${cut}`);
      f.reboot();
      const back = h.mount(f);
      const got = h.state(back);
      if (got !== before && got !== after) {
        throw new Error(`cut at op ${cut} of step ${i}: recovered state is neither before nor after\n got ${got}\n before ${before}\n after ${after}`);
      }
      let problems = h.check(back);
      if (problems.length) throw new Error(`cut at op ${cut} of step ${i}: ${problems.join('; ')}`);
      // It keeps working: redo or continue the script for two steps.
      const resume = got === before ? i : i + 1;
      for (let j = resume; j < Math.min(steps, resume + 2); j++) h.step(back, j);
      problems = h.check(back);
      if (problems.length) throw new Error(`after a cut at op ${cut} of step ${i}, resumed: ${problems.join('; ')}`);
      cuts++;
    }
    // Advance the main line on the reference result (keeping the wear history).
    ref.eraseCounts.forEach((n, b) => (ref.eraseCounts[b] = n + flash.eraseCounts[b]));
    flash = ref;
    sys = refSys;
    if (h.state(sys) !== after) throw new Error('reference drifted');
  }
  let erases = 0;
  for (let i = 0; i < flash.eraseCounts.length; i++) erases += flash.eraseCounts[i];
  return { cuts, erases };
}
