// `notecard-sim ctl ...`: talk to a running simulator's world over its control channel.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { UsageError, parseCommandLine, wholeNumber } from '../../hub/cli-args';
import { ctlRequest } from './world-ctl';

const USAGE = 'notecard-sim ctl [--data DIR | --port N] get | set KEY=VALUE... | motion [COUNT] [ORIENTATION] | aux PIN LEVEL | scenario FILE | speed N | watch';

/** "3.3" -> 3.3, "true" -> true, anything else stays a string. */
function value(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

export function ctlRequestFor(words: string[]): Record<string, unknown> | 'watch' {
  const [cmd, ...rest] = words;
  switch (cmd) {
    case 'get':
      return { op: 'get' };
    case 'set': {
      if (rest.length === 0) throw new UsageError('set needs KEY=VALUE');
      const values: Record<string, unknown> = {};
      for (const kv of rest) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`set ${kv}: use KEY=VALUE`);
        values[kv.slice(0, eq)] = value(kv.slice(eq + 1));
      }
      return { op: 'set', values };
    }
    case 'motion': {
      const req: Record<string, unknown> = { op: 'motion', count: 1 };
      for (const w of rest) {
        if (/^\d+$/.test(w)) req.count = Number(w);
        else if (w === 'freefall') req.freefall = true;
        else req.orientation = w;
      }
      return req;
    }
    case 'aux':
      if (rest.length !== 2) throw new UsageError('aux PIN LEVEL');
      return { op: 'aux', pin: value(rest[0]), level: value(rest[1]) };
    case 'scenario':
      if (rest.length !== 1) throw new UsageError('scenario FILE');
      return { op: 'scenario', scenario: JSON.parse(fs.readFileSync(rest[0], 'utf8')) };
    case 'speed':
      if (rest.length !== 1) throw new UsageError('speed FACTOR');
      return { op: 'speed', factor: value(rest[0]) };
    case 'watch':
      return 'watch';
    default:
      throw new UsageError(cmd === undefined ? USAGE : `unknown command ${cmd}`);
  }
}

export async function ctlMain(argv: string[]): Promise<void> {
  let port: number;
  let req: Record<string, unknown> | 'watch';
  try {
    const { values: v, positionals } = parseCommandLine({
      args: argv, strict: true, allowPositionals: true,
      options: { data: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (v.help) {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (v.port !== undefined) port = wholeNumber('--port', v.port, 65535);
    else {
      const file = path.join(path.resolve(v.data ?? 'data/card'), 'ctl.port');
      if (!fs.existsSync(file)) throw new UsageError(`no simulator running on ${path.dirname(file)} (no ctl.port there); use --data DIR or --port N`);
      port = wholeNumber('ctl.port', fs.readFileSync(file, 'utf8').trim(), 65535);
    }
    req = ctlRequestFor(positionals);
  } catch (e) {
    process.stderr.write(`notecard-sim ctl: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (req === 'watch') {
    // Print every world event until interrupted.
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.pipe(process.stdout);
    socket.on('error', (e) => {
      process.stderr.write(`notecard-sim ctl: ${e.message}\n`);
      process.exit(1);
    });
    socket.on('close', () => process.exit(0));
    return;
  }
  const reply = await ctlRequest(port, req);
  process.stdout.write(JSON.stringify(reply) + '\n');
  process.exit(reply.ok === true ? 0 : 1);
}
