// The card under the Moddable simulator on Linux (mcsim): the same core and host code as on a
// board, with the UART on a tty and the store on a file-backed NOR flash. `npm run moddable`
// starts it in the card's data directory, where `serial` links to the tty and `flash.bin` is the
// flash image (the same format as the Node simulator's). The host's network stands in for Wi-Fi;
// the simulated world (world.ts) stands in for the sensors.
import config from 'mc/config';
import Debug from 'debug';
import Instrumentation from 'instrumentation';
import { configNumber, type Board } from '../main';
import { tcpNet } from '../net';
import { openFileFlash, root } from './flash';
import { seededRandom } from './random';
import { openWorld } from './world';

/** The runner's fresh entropy (see random.ts), read once and removed so no run reuses it. */
function entropy(): Uint8Array | undefined {
  try {
    const file = root.openFile({ path: 'entropy', mode: 'r' });
    const seed = new Uint8Array(file.read(32, 0));
    root.delete('entropy');
    return seed.length === 32 ? seed : undefined;
  } catch {
    return undefined;
  }
}
const seed = entropy();

/** `npm run moddable -- --instrument` builds with memoryProbe: live bytes after a collection. */
function memory(): string {
  Debug.gc();
  const used = (name: 'XS Slot Heap Used' | 'XS Chunk Heap Used') => Instrumentation.get(Instrumentation.map(name));
  return `live: slots ${used('XS Slot Heap Used')} B, chunk ${used('XS Chunk Heap Used')} B`;
}

export const board: Board = Object.freeze({
  platform: 'moddable-lin',
  binaryMax: configNumber(config.binaryMax, 16 * 1024),
  uart: Object.freeze({ device: String(config.serialDevice ?? 'serial'), baud: configNumber(config.baud, 9600) }),
  openFlash: () => openFileFlash(String(config.flashFile ?? 'flash.bin'), configNumber(config.flashSize, 0x1f0000)),
  net: tcpNet,
  random: seed && seededRandom(seed),
  openWorld,
  memory: config.memoryProbe ? memory : undefined,
});
