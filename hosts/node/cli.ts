#!/usr/bin/env node
// notecard-sim: run an opencard on this machine and expose its serial line.
import * as fs from 'fs';
import * as path from 'path';
import { LOG_LEVELS, type LogLevel, UsageError, explainListenError, oneOf, parseCommandLine, wholeNumber } from '../../hub/cli-args';
import { Simulator } from './simulator';
import { OUTPUT_LIMIT, Transport, openPty, openSerialPort, openStdio, openTcp } from './transports';
import { ctlMain } from './ctl-cli';
import { serveWorld } from './world-ctl';
import { modemControl, modemOnPty, serialDevice, serveModem } from './modem-ctl';
import { ModemEmulator } from './modem-emulator';
import { ORIENTATIONS, type Scenario, SimWorld, type WorldValues } from './world-sim';

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
  --modem              sync over cellular: the AT modem driver talking to an emulated
                       Quectel BG95-class module (its sockets go out as TCP)
  --modem-baud N       the module's UART rate (default 115200)
  --modem-latency MS   one-way radio latency (default 0)
  --modem-loss P       probability a radio packet is lost and resent (default 0)
  --modem-dialect D    the module's AT family, and the driver's: quectel (BG95/BG96, default)
                       or simcom (SIM7500/SIM7600: AT+NETOPEN, AT+CIPOPEN)
  --modem-serial DEV   with --modem: the driver talks to the module on this serial device (a
                       real module, or \`notecard-sim modem\` on its pty) instead of an
                       emulator in this process
  --apn APN            the module's default APN (default iot.example)
  --log-level LEVEL    debug | info | warn | error | silent (default info)
  -h, --help           this text

The world the card senses (docs/WORLD.md):
  --voltage V          supply voltage (default 4.0)   --usb            on USB power
  --temperature C      (default 22)   --humidity %RH (40)   --pressure PA (101325)   --lux LUX (300)
  --lat DEG --lon DEG  a fixed position for the GNSS receiver (default: none, no fix);
                       negative values need '=': --lon=-70.87
  --orientation O      face-up (default), face-down, portrait-up, ...
  --no-signal          the GNSS receiver hears no satellites
  --scenario FILE      play a JSON timeline (battery, route, curves, events)
  --speed N            world seconds per real second (default: the scenario's, else 1)
  --ctl PORT           control channel on 127.0.0.1:PORT (default 0: a free port, written to
                       DATA/ctl.port); drive it with: notecard-sim ctl [--data DIR] COMMAND

  notecard-sim modem [--pty PATH] [--ctl PORT] [--data DIR] [--modem-baud N] [--modem-latency MS]
                   [--modem-loss P] [--modem-dialect D]
                       the modem emulator alone, its UART on a pty, faults through its own
                       control channel (DATA/modem-ctl.port; docs/WORLD.md)
  notecard-sim ctl get | set KEY=VALUE... | motion [COUNT] [ORIENTATION] | aux PIN LEVEL |
                   scenario FILE | speed N | watch

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
  logLevel: LogLevel;
  hubDir?: string;
  hubPort: number;
  hubDevicePort: number;
  hubHost?: string;
  start: WorldValues;
  scenario?: string;
  speed?: number;
  ctlPort: number;
  modem?: { baud: number; latencyMs: number; loss: number; apn: string; dialect: 'quectel' | 'simcom'; serialDevice?: string };
}

function parse(argv: string[]): Cli {
  const { values: v, tokens } = parseCommandLine({
    args: argv, strict: true, allowPositionals: true, tokens: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      pty: { type: 'boolean' }, serial: { type: 'string' }, baud: { type: 'string' }, tcp: { type: 'string' }, bind: { type: 'string' },
      stdio: { type: 'boolean' }, data: { type: 'string' }, 'flash-size': { type: 'string' }, 'binary-max': { type: 'string' },
      'trust-clock': { type: 'boolean' }, 'log-level': { type: 'string' }, 'with-hub': { type: 'string' },
      'hub-port': { type: 'string' }, 'hub-device-port': { type: 'string' }, 'hub-host': { type: 'string' },
      voltage: { type: 'string' }, usb: { type: 'boolean' }, temperature: { type: 'string' }, humidity: { type: 'string' },
      pressure: { type: 'string' }, lux: { type: 'string' }, lat: { type: 'string' }, lon: { type: 'string' },
      orientation: { type: 'string' }, 'no-signal': { type: 'boolean' }, scenario: { type: 'string' }, speed: { type: 'string' },
      ctl: { type: 'string' },
      modem: { type: 'boolean' }, 'modem-baud': { type: 'string' }, 'modem-latency': { type: 'string' }, 'modem-loss': { type: 'string' }, 'modem-dialect': { type: 'string' }, 'modem-serial': { type: 'string' },
      apn: { type: 'string' },
    },
  });
  if (v.help) { process.stdout.write(HELP); process.exit(0); }
  // --pty takes an optional PATH, which parseArgs cannot express: the one word right after it
  let ptyLink: string | undefined;
  tokens.forEach((t, i) => {
    if (t.kind !== 'positional') return;
    const before = tokens[i - 1];
    if (ptyLink !== undefined || before?.kind !== 'option' || before.name !== 'pty') throw new UsageError(`unexpected argument ${t.value}`);
    ptyLink = t.value;
  });
  const chosen = (['pty', 'serial', 'tcp', 'stdio'] as const).filter((k) => v[k] !== undefined);
  if (chosen.length > 1) throw new UsageError(`one transport: --${chosen.join(' or --')}`);
  const num = (flag: keyof typeof v, max?: number) => (v[flag] === undefined ? undefined : wholeNumber(`--${flag}`, v[flag] as string, max));
  const modemFlags = (['modem-baud', 'modem-latency', 'modem-loss', 'modem-dialect', 'modem-serial', 'apn'] as const).filter((k) => v[k] !== undefined);
  if (!v.modem && modemFlags.length) throw new UsageError(`--${modemFlags[0]} needs --modem`);
  const loss = v['modem-loss'] === undefined ? 0 : Number(v['modem-loss']);
  if (!(loss >= 0 && loss < 1)) throw new UsageError('--modem-loss: a probability from 0 to below 1');
  return {
    transport: chosen[0] ?? 'pty', ptyLink, serial: v.serial,
    baud: num('baud') ?? 9600, tcpPort: num('tcp', 65535) ?? 0, bind: v.bind ?? '127.0.0.1',
    dataDir: v.data ?? 'data/card', flashSize: num('flash-size'), binaryMax: num('binary-max'),
    trustClock: v['trust-clock'] ?? false,
    logLevel: v['log-level'] === undefined ? 'info' : oneOf('--log-level', v['log-level'], LOG_LEVELS),
    start: startValues(v), scenario: v.scenario, speed: v.speed === undefined ? undefined : decimal('--speed', v.speed),
    ctlPort: num('ctl', 65535) ?? 0,
    hubDir: v['with-hub'], hubPort: num('hub-port', 65535) ?? 8080, hubDevicePort: num('hub-device-port', 65535) ?? 8086, hubHost: v['hub-host'],
    modem: v.modem ? { baud: num('modem-baud') ?? 115_200, latencyMs: num('modem-latency', 60_000) ?? 0, loss, apn: v.apn ?? 'iot.example',
      dialect: v['modem-dialect'] === undefined ? 'quectel' : oneOf('--modem-dialect', v['modem-dialect'], ['quectel', 'simcom'] as const),
      serialDevice: v['modem-serial'] } : undefined,
  };
}

function decimal(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number, not "${value}"`);
  return n;
}

function startValues(v: Record<string, string | boolean | undefined>): WorldValues {
  const start: WorldValues = {};
  for (const k of ['voltage', 'temperature', 'humidity', 'pressure', 'lux', 'lat', 'lon'] as const) {
    if (typeof v[k] === 'string') start[k] = decimal(`--${k}`, v[k] as string);
  }
  if (v.usb) start.usb = true;
  if (v['no-signal']) start.signal = false;
  if (typeof v.orientation === 'string') start.orientation = oneOf('--orientation', v.orientation, ORIENTATIONS);
  if ((start.lat === undefined) !== (start.lon === undefined)) throw new UsageError('--lat and --lon go together');
  return start;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'ctl') return ctlMain(process.argv.slice(3));
  if (process.argv[2] === 'modem') return modemMain(process.argv.slice(3));
  let cli: Cli;
  try {
    cli = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`notecard-sim: ${(e as Error).message} (see --help)\n`);
    process.exit(2);
  }
  // The local hub first, so the card can reach it from its first request on.
  const hubServer = cli.hubDir ? await import('../../hub/server') : undefined;
  const hubLog = (line: string) => process.stderr.write(line + '\n');
  const ports = [
    { port: cli.hubPort, flag: '--hub-port', what: "the local hub's HTTP" },
    { port: cli.hubDevicePort, flag: '--hub-device-port', what: "the local hub's device" },
    { port: cli.transport === 'tcp' ? cli.tcpPort : undefined, flag: '--tcp', what: 'the card\'s TCP' },
  ];
  const hub = hubServer
    ? await hubServer.startHub({
        dataDir: path.resolve(cli.hubDir!),
        port: cli.hubPort,
        devicePort: cli.hubDevicePort,
        log: hubLog,
      }).catch((e: unknown) => { throw explainListenError(e, ports); })
    : undefined;
  hubServer?.keepServing(hubLog); // a device's connection must never take the simulator down
  if (hub) process.stderr.write(`notehub-lite: HTTP API on ${hub.url} (data ${path.resolve(cli.hubDir!)})\n`);

  let modemUart: Awaited<ReturnType<typeof serialDevice>> | undefined;
  const world = new SimWorld(cli.start);
  if (cli.scenario) world.play(JSON.parse(fs.readFileSync(cli.scenario, 'utf8')) as Scenario);
  if (cli.speed !== undefined) world.speed = cli.speed;
  const sim = new Simulator({
    world,
    dataDir: path.resolve(cli.dataDir),
    flashSize: cli.flashSize,
    binaryMax: cli.binaryMax,
    trustSystemClock: cli.trustClock,
    logLevel: cli.logLevel,
    hubHost: cli.hubHost ?? (hub?.devicePort ? `127.0.0.1:${hub.devicePort}` : undefined),
    modem: cli.modem && { ...cli.modem, serial: cli.modem.serialDevice ? (modemUart = await serialDevice(cli.modem.serialDevice, cli.modem.baud)).serial : undefined },
  });
  const receive = (bytes: Uint8Array) => sim.receive(bytes);
  // Output a host has not read is bounded; room for two of the largest replies (card.binary.get).
  const limit = Math.max(OUTPUT_LIMIT, 2 * sim.card.binary.max + 4096);
  let transport: Transport;
  switch (cli.transport) {
    case 'pty': transport = openPty(receive, cli.ptyLink && path.resolve(cli.ptyLink), limit); break;
    case 'serial': transport = await openSerialPort(receive, cli.serial!, cli.baud, limit); break;
    case 'tcp':
      transport = await openTcp(receive, cli.tcpPort, cli.bind, () => sim.session.reset(), limit)
        .catch(async (e: unknown) => { await hub?.close(); throw explainListenError(e, ports); });
      break;
    case 'stdio': transport = openStdio(receive, limit); break;
  }
  sim.output = (bytes) => transport.write(bytes);
  world.onEvent((e) => {
    if (e.event === 'attn') transport.attn?.(e.high);
  });
  sim.session.onResync = () => transport.resync?.();
  // the hub's web terminal reaches this card (by its device UID) through the same process
  hub?.hub.localCards.set(sim.card.deviceUID, { request: (line) => sim.requestLine(line), requests: sim.requestNames });

  // the in-process modem emulator's faults ride on the world's channel: {"op":"modem","fault":...}
  const modem = sim.modem;
  const ctl = await serveWorld(world, cli.ctlPort, path.join(path.resolve(cli.dataDir), 'ctl.port'), modem && ((req) => modemControl(modem, req)));

  // One machine-readable line tests can wait for, then a human hint.
  process.stderr.write(`notecard-sim ready: ${transport.where} device ${sim.card.deviceUID} data ${path.resolve(cli.dataDir)} ctl 127.0.0.1:${ctl.port}\n`);
  if (cli.transport !== 'stdio') {
    // the port as notecard-cli takes it: the pty's link (or device), or HOST:PORT
    const port = cli.transport === 'tcp' ? transport.where.replace(/^tcp /, '') : cli.transport === 'pty' ? (cli.ptyLink ?? transport.where) : undefined;
    process.stderr.write(`  connect a Notecard host library to ${transport.where}${port ? `, or type requests: npx notecard-cli -port ${port}` : ''}\n`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`notecard-sim: ${signal}, shutting down\n`);
    await transport.close();
    await ctl.close();
    sim.close();
    await modemUart?.close();
    await hub?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** `notecard-sim modem`: the emulator alone, on a pty, with its control channel. */
async function modemMain(argv: string[]): Promise<void> {
  let o: { pty?: string; ctl: number; data: string; baud: number; latencyMs: number; loss: number; dialect: 'quectel' | 'simcom' };
  try {
    const { values: v } = parseCommandLine({
      args: argv, strict: true, allowPositionals: false,
      options: {
        pty: { type: 'string' }, ctl: { type: 'string' }, data: { type: 'string' }, 'modem-baud': { type: 'string' },
        'modem-latency': { type: 'string' }, 'modem-loss': { type: 'string' }, 'modem-dialect': { type: 'string' },
      },
    });
    const loss = v['modem-loss'] === undefined ? 0 : Number(v['modem-loss']);
    if (!(loss >= 0 && loss < 1)) throw new UsageError('--modem-loss: a probability from 0 to below 1');
    o = {
      pty: v.pty, ctl: v.ctl === undefined ? 0 : wholeNumber('--ctl', v.ctl, 65535), data: v.data ?? 'data/modem',
      baud: v['modem-baud'] === undefined ? 115_200 : wholeNumber('--modem-baud', v['modem-baud']),
      latencyMs: v['modem-latency'] === undefined ? 0 : wholeNumber('--modem-latency', v['modem-latency'], 60_000), loss,
      dialect: v['modem-dialect'] === undefined ? 'quectel' : oneOf('--modem-dialect', v['modem-dialect'], ['quectel', 'simcom'] as const),
    };
  } catch (e) {
    process.stderr.write(`notecard-sim modem: ${(e as Error).message} (see --help)\n`);
    process.exit(2);
  }
  fs.mkdirSync(o.data, { recursive: true, mode: 0o700 });
  const modem = new ModemEmulator({ baud: o.baud, latencyMs: o.latencyMs, loss: o.loss, dialect: o.dialect });
  const pty = modemOnPty(modem, o.pty && path.resolve(o.pty));
  const ctl = await serveModem(modem, o.ctl, path.join(path.resolve(o.data), 'modem-ctl.port'));
  process.stderr.write(`notecard-sim modem ready: ${pty.where} dialect ${o.dialect} ctl 127.0.0.1:${ctl.port}\n`);
  const stop = async () => {
    await ctl.close();
    await pty.close();
    modem.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  // e.g. a port already in use: one clear line, not a stack trace.
  process.stderr.write(`notecard-sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});

