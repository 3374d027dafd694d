// The simulator's live control channel: line-delimited JSON over TCP on loopback (docs/WORLD.md).
// Each request line gets one reply line ({"ok":true,...} or {"ok":false,"err":...}, with the
// request's "id" echoed); world events ({"event":...}) are pushed to every connection as they happen.
import * as net from 'net';
import type { Orientation } from '../../src/world';
import { serveJsonLines, type ControlServer, type Reply } from './json-lines';
import { ORIENTATIONS, type Scenario, SimWorld, type WorldValues } from './world-sim';

/** How often the model steps on its own (scenario events, motion while moving), real ms. */
export const STEP_MS = 50;


/** Answer one control request (exported for unit tests). */
export function control(world: SimWorld, req: Record<string, unknown>): Reply {
  const op = req.op;
  switch (op) {
    case 'get':
      return { world: world.snapshot() };
    case 'set': {
      const values = req.values;
      if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new Error('set: needs "values":{...}');
      world.set(values as WorldValues);
      return { world: world.snapshot() };
    }
    case 'motion': {
      const count = req.count ?? 1;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 10000) throw new Error('motion: count must be 0 to 10000');
      const o = req.orientation;
      if (o !== undefined && !ORIENTATIONS.includes(o as Orientation)) throw new Error(`orientation: one of ${ORIENTATIONS.join(', ')}`);
      world.motion(count, o as Orientation | undefined, req.freefall === true);
      return {};
    }
    case 'aux': {
      const level = req.level;
      if (level !== 0 && level !== 1) throw new Error('aux: level must be 0 or 1');
      world.drive(req.pin as number, level);
      return {};
    }
    case 'scenario': {
      const s = req.scenario;
      if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error('scenario: needs "scenario":{...}');
      world.play(s as Scenario);
      return { world: world.snapshot() };
    }
    case 'speed':
      world.speed = req.factor as number;
      return { speed: world.speed };
    default:
      throw new Error(`unknown op ${JSON.stringify(op)}: get, set, motion, aux, scenario, speed`);
  }
}

/** Listen on 127.0.0.1:`port` (0 picks one); `portFile` gets the port for `notecard-sim ctl`.
 * World events are pushed to every connection. `modem` answers the op "modem" (the simulator's
 * in-process modem emulator, modem-ctl.ts). */
export async function serveWorld(world: SimWorld, port: number, portFile?: string, modem?: (req: Reply) => Promise<Reply>): Promise<ControlServer> {
  const ticker = setInterval(() => world.step(), STEP_MS);
  ticker.unref();
  const answer = (req: Reply) => (req.op === 'modem' && modem ? modem(req) : control(world, req));
  try {
    const server = await serveJsonLines(port, portFile, answer, (send) => world.onEvent((e) => send(e)));
    return { port: server.port, close: () => (clearInterval(ticker), server.close()) };
  } catch (e) {
    clearInterval(ticker);
    throw e;
  }
}

/** Send one request to a control channel and resolve with its reply (events before it skipped). */
export function ctlRequest(port: number, req: Reply, host = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const reply = JSON.parse(buffered.slice(0, nl)) as Reply;
        buffered = buffered.slice(nl + 1);
        if (reply.event !== undefined) continue;
        socket.end();
        resolve(reply);
        return;
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('the control channel closed without a reply')));
  });
}
