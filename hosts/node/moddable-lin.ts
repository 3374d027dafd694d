#!/usr/bin/env node
// npm run moddable -- --pty PATH: the card built by the Moddable SDK's mcconfig for its Linux
// target (hosts/moddable/lin) and run in the Moddable simulator (mcsim), headless under Xvfb
// when there is no display. Its serial side appears at PATH exactly like notecard-sim --pty: a
// pty the card opens (DATA/serial) is bridged to a pty host libraries open (PATH).
//
// Needs MODDABLE pointing at a Moddable SDK whose Linux tools are built (see README.md).
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { LOG_LEVELS, UsageError, oneOf, parseCommandLine } from '../../hub/cli-args';
import { Transport, openPty } from './transports';

const HELP = `npm run moddable -- --pty PATH [options]: the Moddable-built card in the Moddable simulator

  --pty PATH         the card's serial side, for host libraries (like notecard-sim --pty)
  --data DIR         the card's flash image and tty link (default ./data/moddable)
  --build DIR        where mcconfig builds (default ./dist/moddable); rebuilt only when sources change
  --instrument       a debug build whose XS machine reports to this process: trace output, and
                     chunk, slot and stack use sampled each second (printed at exit); with
                     --log-level debug, each debug line carries the live heap after a collection
  --log-level LEVEL  debug | info | warn | error | silent (default info)
  -h, --help         this text

Environment: MODDABLE (the SDK), DISPLAY (else Xvfb through xvfb-run).
`;

const ROOT = path.resolve(__dirname, '../../..');

interface Options {
  pty: string;
  data: string;
  build: string;
  instrument: boolean;
  quiet: boolean;
}

function parse(): Options {
  const { values } = parseCommandLine({
    strict: true,
    options: {
      pty: { type: 'string' },
      data: { type: 'string', default: 'data/moddable' },
      build: { type: 'string', default: path.join(ROOT, 'dist/moddable') },
      instrument: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (!values.pty) throw new UsageError('--pty PATH is required');
  const level = oneOf('--log-level', values['log-level']!, LOG_LEVELS);
  return {
    pty: path.resolve(values.pty),
    data: path.resolve(values.data!),
    build: path.resolve(values.build!),
    instrument: values.instrument!,
    quiet: level === 'warn' || level === 'error' || level === 'silent',
  };
}

/** mcconfig + make for the lin target; make rebuilds only what changed. Returns mc.so. (mcconfig
 * names its build folders after the manifest's directory, the checkout's name.) */
function build(o: Options): string {
  const sdk = process.env.MODDABLE;
  const tools = sdk && path.join(sdk, 'build/bin/lin/release');
  if (!tools || !fs.existsSync(path.join(tools, 'mcconfig'))) {
    throw new Error('set MODDABLE to a Moddable SDK whose Linux tools are built (README.md, "On the Moddable runtime")');
  }
  const kind = o.instrument ? 'debug' : 'release';
  fs.mkdirSync(o.build, { recursive: true });
  const env = { ...process.env, PATH: [path.join(ROOT, 'node_modules/.bin'), tools, process.env.PATH].join(':') };
  const run = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const x = e as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`${cmd} failed:\n${x.stdout ?? ''}${x.stderr ?? ''}`);
    }
  };
  // make follows sources, not flags: a manifest newer than the last build (its C_FLAGS, say) builds everything again
  const so = path.join(o.build, `bin/lin/mc/${kind}/${path.basename(ROOT)}/mc.so`);
  if (fs.existsSync(so) && fs.statSync(path.join(ROOT, 'manifest.json')).mtimeMs > fs.statSync(so).mtimeMs) {
    fs.rmSync(path.join(o.build, `tmp/lin/mc/${kind}`), { recursive: true, force: true });
  }
  run('mcconfig', [...(o.instrument ? ['-d'] : []), '-p', 'lin', '-o', o.build, 'manifest.json', ...(o.instrument ? ['memoryProbe=1'] : [])]);
  run('make', ['-j2', '-f', path.join(o.build, `tmp/lin/mc/${kind}/${path.basename(ROOT)}/makefile`), 'build']);
  return so;
}

/** Peaks of the debug machine's instrumentation samples, by instrument name ("Chunk used"...). */
export type MemoryPeaks = Map<string, number>;

/**
 * Enough of the xsbug protocol to run a debug XS machine unattended: answer its login with no
 * breakpoints, resume it when it breaks, print its trace output, keep instrumentation peaks.
 */
function xsbugLogger(print: (line: string) => void): Promise<{ port: number; peaks: MemoryPeaks; server: net.Server }> {
  const peaks: MemoryPeaks = new Map();
  let names: string[] = [];
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      let end: number;
      while ((end = text.indexOf('</xsbug>')) >= 0) {
        const message = text.slice(0, end);
        text = text.slice(end + 8);
        if (message.includes('<login ')) socket.write('\r\n<set-all-breakpoints></set-all-breakpoints>\r\n');
        for (const m of message.matchAll(/<log[^>]*>([\s\S]*?)<\/log>/g)) print(unescapeXml(m[1]).replace(/\n$/, ''));
        if (message.includes('<instruments>')) names = [...message.matchAll(/<instrument name="([^"]*)"/g)].map((m) => m[1]);
        const samples = /<samples>([^<]*)<\/samples>/.exec(message);
        if (samples) {
          samples[1].split(',').forEach((v, i) => {
            const name = names[i] ?? String(i);
            peaks.set(name, Math.max(peaks.get(name) ?? 0, Number(v)));
          });
        }
        const broke = /<break[^>]*>([^<]*)<\/break>/.exec(message);
        if (broke) {
          print(`xs break: ${unescapeXml(broke[1])}`);
          socket.write('\r\n<go/>\r\n');
        }
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ port: (server.address() as net.AddressInfo).port, peaks, server })));
}

function unescapeXml(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Ask the freshly started card who it is, before any host is bridged in. */
function askVersion(card: Transport, replies: { take(): string }): Promise<string> {
  return new Promise((ok, fail) => {
    let tries = 0;
    const poll = setInterval(() => {
      const m = /"device":"(dev:\d+)"/.exec(replies.take());
      if (m) {
        // Probes sent while mcsim was still starting may be answered late: let them drain.
        clearInterval(poll);
        return void setTimeout(() => {
          replies.take();
          ok(m[1]);
        }, 500);
      }
      if (++tries > 300) {
        clearInterval(poll);
        return fail(new Error('the card did not answer card.version within 30 s'));
      }
      if (tries % 10 === 1) card.write(new TextEncoder().encode('\n{"req":"card.version"}\n'));
    }, 100);
  });
}

async function main(): Promise<void> {
  const o = parse();
  const log = (line: string) => {
    if (!o.quiet) process.stderr.write(line + '\n');
  };
  const mcso = build(o);
  fs.mkdirSync(o.data, { recursive: true, mode: 0o700 });
  // XS's Math.random is unseeded on Linux: the card seeds its random source from this (lin/random.ts).
  fs.writeFileSync(path.join(o.data, 'entropy'), randomBytes(32), { mode: 0o600 });

  // Card side first: until the card answers, its bytes go to the version probe.
  let toHost: ((bytes: Uint8Array) => void) | undefined;
  let early = '';
  const cardTty = openPty((bytes) => (toHost ? toHost(bytes) : (early += Buffer.from(bytes).toString('latin1'))), path.join(o.data, 'serial'));

  const logger = o.instrument
    ? await xsbugLogger((line) => {
        if (!line.startsWith('XS abort')) return log(`card: ${line}`);
        process.stderr.write(`card: ${line}\n`);
        void stop(line, 1);
      })
    : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, XSBUG_HOST: '127.0.0.1', XSBUG_PORT: String(logger?.port ?? 1) };
  const mcsim = path.join(process.env.MODDABLE!, 'build/bin/lin/release/mcsim');
  // OPENCARD_GDB=1: under gdb, printing a backtrace if mcsim crashes.
  const run = process.env.OPENCARD_GDB ? ['gdb', '-batch', '-ex', 'run', '-ex', 'bt', '--args', mcsim, mcso] : [mcsim, mcso];
  const [cmd, args] = process.env.DISPLAY ? [run[0], run.slice(1)] : ['xvfb-run', ['-a', ...run]];
  const child: ChildProcess = spawn(cmd, args, { cwd: o.data, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (d: Buffer) => log(`mcsim: ${d.toString().trimEnd()}`));
  child.stderr!.on('data', (d: Buffer) => log(`mcsim: ${d.toString().trimEnd()}`));

  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`moddable: ${why}, shutting down`);
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    await hostTty?.close();
    await cardTty.close();
    if (logger) {
      const p = logger.peaks;
      const of = (used: string, available: string) => `${p.get(used) ?? '?'} of ${p.get(available) ?? '?'} B`;
      process.stderr.write(
        `moddable memory peaks (sampled each second): chunk ${of('Chunk used', 'Chunk available')}, ` +
          `slots ${of('Slot used', 'Slot available')}, stack ${of('Stack used', 'Stack available')}, ` +
          `${p.get('Garbage collections') ?? '?'} collections\n`,
      );
      logger.server.close();
    }
    process.exit(code);
  };
  child.once('exit', (code, signal) => void stop(`mcsim exited (${signal ?? code})`, stopping ? 0 : 1));
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));

  let hostTty: Transport | undefined;
  const device = await askVersion(cardTty, {
    take: () => {
      const t = early;
      early = '';
      return t;
    },
  });
  hostTty = openPty((bytes) => cardTty.write(bytes), o.pty);
  toHost = (bytes) => hostTty!.write(bytes);

  // The same ready line as notecard-sim, so the project's tests can drive either card.
  process.stderr.write(`notecard-sim ready: ${hostTty.where} device ${device} data ${o.data}\n`);
  log(`  the Moddable-built card (${path.relative(ROOT, mcso)}); connect a Notecard host library to ${o.pty}, or type requests: npx notecard-cli -port ${o.pty}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`moddable: ${e instanceof Error ? e.message : String(e)}${e instanceof UsageError ? ' (see --help)' : ''}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
