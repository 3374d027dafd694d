#!/usr/bin/env node
// notecard-sim: run an opencard on this machine and expose its serial line.
import * as path from 'path';
import { Simulator } from './simulator';
import { OUTPUT_LIMIT, Transport, openPty, openSerialPort, openStdio, openTcp } from './transports';

const HELP = `notecard-sim: a Notecard-compatible card on your desktop

Usage: notecard-sim [transport] [options]

Transport (one; default --pty):
  --pty [PATH]         create a pseudo-terminal; print its device, and keep a symlink at PATH
  --serial DEVICE      use a real serial port, e.g. /dev/ttyUSB0
  --baud N             serial baud rate (default 9600)
  --tcp PORT           listen on TCP (one host connection at a time; 0 picks a free port)
  --bind ADDR          TCP address to bind (default 127.0.0.1)
  --stdio              requests on stdin, replies on stdout (logs go to stderr)

Options:
  --data DIR           where the card's flash image lives, so notes and settings survive
                       restarts (default ./data/card)
  --flash-size BYTES   size of a new flash image (default 4194304)
  --binary-max BYTES   binary buffer size reported by card.binary (default 131072)
  --trust-clock        let the card use this machine's clock before its first hub sync
  --with-hub DIR       also run a local hub (notehub-lite) with its database in DIR
  --hub-port N         the local hub's HTTP port (default 8080)
  --hub-device-port N  the local hub's device (sync) port (default 8086)
  --hub-host HOST:PORT the hub the card syncs with until hub.set host says otherwise
                       (default with --with-hub: the local hub's device port)
  --log-level LEVEL    debug | info | warn | error | silent (default info)
  -h, --help           this text

Talk to it with any Notecard host library (note-c, note-python, note-arduino) on the device
path or port it prints, at any baud rate. Stop it with Ctrl-C (SIGINT) or SIGTERM.
`;

interface Cli {
  transport: 'pty' | 'serial' | 'tcp' | 'stdio';
  ptyLink?: string;
  serial?: string;
  baud: number;
  tcpPort: number;
  bind: string;
  dataDir: string;
  flashSize?: number;
  binaryMax?: number;
  trustClock: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  hubDir?: string;
  hubPort: number;
  hubDevicePort: number;
  hubHost?: string;
}

function parse(argv: string[]): Cli {
  const cli: Cli = { transport: 'pty', baud: 9600, tcpPort: 0, bind: '127.0.0.1', dataDir: 'data/card', trustClock: false, logLevel: 'info', hubPort: 8080, hubDevicePort: 8086 };
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const int = (i: number, flag: string) => {
    const n = Number(value(i, flag));
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0);
      case '--pty': cli.transport = 'pty'; if (argv[i + 1] && !argv[i + 1].startsWith('--')) cli.ptyLink = argv[++i]; break;
      case '--serial': cli.transport = 'serial'; cli.serial = value(i++, a); break;
      case '--baud': cli.baud = int(i++, a); break;
      case '--tcp': cli.transport = 'tcp'; cli.tcpPort = int(i++, a); break;
      case '--bind': cli.bind = value(i++, a); break;
      case '--stdio': cli.transport = 'stdio'; break;
      case '--data': cli.dataDir = value(i++, a); break;
      case '--flash-size': cli.flashSize = int(i++, a); break;
      case '--binary-max': cli.binaryMax = int(i++, a); break;
      case '--trust-clock': cli.trustClock = true; break;
      case '--log-level': cli.logLevel = value(i++, a) as Cli['logLevel']; break;
      case '--with-hub': cli.hubDir = value(i++, a); break;
      case '--hub-port': cli.hubPort = int(i++, a); break;
      case '--hub-device-port': cli.hubDevicePort = int(i++, a); break;
      case '--hub-host': cli.hubHost = value(i++, a); break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  return cli;
}

async function main(): Promise<void> {
  let cli: Cli;
  try {
    cli = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`notecard-sim: ${(e as Error).message}\n`);
    process.exit(2);
  }
  // The local hub first, so the card can reach it from its first request on.
  const hubServer = cli.hubDir ? await import('../../hub/server') : undefined;
  const hubLog = (line: string) => process.stderr.write(line + '\n');
  const hub = hubServer
    ? await hubServer.startHub({
        dataDir: path.resolve(cli.hubDir!),
        port: cli.hubPort,
        devicePort: cli.hubDevicePort,
        log: hubLog,
      })
    : undefined;
  hubServer?.keepServing(hubLog); // a device's connection must never take the simulator down
  if (hub) process.stderr.write(`notehub-lite: HTTP API on ${hub.url} (data ${path.resolve(cli.hubDir!)})\n`);

  const sim = new Simulator({
    dataDir: path.resolve(cli.dataDir),
    flashSize: cli.flashSize,
    binaryMax: cli.binaryMax,
    trustSystemClock: cli.trustClock,
    logLevel: cli.logLevel,
    hubHost: cli.hubHost ?? (hub?.devicePort ? `127.0.0.1:${hub.devicePort}` : undefined),
  });
  const receive = (bytes: Uint8Array) => sim.receive(bytes);
  // Output a host has not read is bounded; room for two of the largest replies (card.binary.get).
  const limit = Math.max(OUTPUT_LIMIT, 2 * sim.card.binary.max + 4096);
  let transport: Transport;
  switch (cli.transport) {
    case 'pty': transport = openPty(receive, cli.ptyLink && path.resolve(cli.ptyLink), limit); break;
    case 'serial': transport = await openSerialPort(receive, cli.serial!, cli.baud, limit); break;
    case 'tcp': transport = await openTcp(receive, cli.tcpPort, cli.bind, () => sim.session.reset(), limit); break;
    case 'stdio': transport = openStdio(receive, limit); break;
  }
  sim.output = (bytes) => transport.write(bytes);
  sim.session.onResync = () => transport.resync?.();

  // One machine-readable line tests can wait for, then a human hint.
  process.stderr.write(`notecard-sim ready: ${transport.where} device ${sim.card.deviceUID} data ${path.resolve(cli.dataDir)}\n`);
  if (cli.transport !== 'stdio') {
    process.stderr.write(`  connect a Notecard host library to ${transport.where}; try: {"req":"card.version"}\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`notecard-sim: ${signal}, shutting down\n`);
    await transport.close();
    sim.close();
    await hub?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: unknown) => {
  // e.g. a port already in use: one clear line, not a stack trace.
  process.stderr.write(`notecard-sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

