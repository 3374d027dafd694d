// The simulator's world: the host-agnostic model (src/sensing/sim-world.ts) on Node's clocks.
import { SimWorld as Model, type WorldValues } from '../../src/sensing/sim-world';

export * from '../../src/sensing/sim-world';

export class SimWorld extends Model {
  /** `now`: monotonic real ms; `wall`: unix ms (GNSS time). */
  constructor(start: WorldValues = {}, now: () => number = () => performance.now(), wall: () => number = () => Date.now()) {
    super(start, now, wall);
  }
}
