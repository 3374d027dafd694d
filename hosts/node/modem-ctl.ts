// The modem emulator as a process of its own and its control channel (docs/WORLD.md, "The modem
// emulator"): the module's UART on a pseudo-terminal, so any host that opens a serial device
// (the simulator's --modem-serial, a Moddable card's UART through a bridge, minicom) drives it,
// and faults on demand through line-delimited JSON on loopback, as world-ctl.ts: one reply line
// per request ({"ok":true,...} or {"ok":false,"err":...}, the request's "id" echoed).
import * as fs from 'fs';
import type { Serial } from '../../src/host';
import { serveJsonLines, type ControlServer, type Reply } from './json-lines';
import { ModemEmulator } from './modem-emulator';
import { openPty, openSerialPort } from './transports';


/** Answer one control request for `modem` (the in-process simulator's world channel forwards its `modem` op here). */
export async function modemControl(modem: ModemEmulator, req: Reply): Promise<Reply> {
  const state = () => ({ faults: { ...modem.faults }, latencyMs: modem.options.latencyMs, loss: modem.options.loss, dialect: modem.options.dialect, apn: modem.apn, stats: { ...modem.stats } });
  const ms = (v: unknown, fallback: number) => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 600_000) throw new Error('ms: a whole number of milliseconds up to 600000');
    return v;
  };
  switch (req.fault ?? req.op) {
    case 'get':
      return { modem: state() };
    case 'set': {
      // the faults that hold until cleared, and the radio
      const f = req.faults;
      if (f !== undefined) {
        if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new Error('set: "faults" is an object');
        const { sim, registration, split } = f as Reply;
        if (sim !== undefined && typeof sim !== 'boolean') throw new Error('faults.sim: true (a SIM) or false');
        if (registration !== undefined && registration !== 'normal' && registration !== 'denied' && registration !== 'searching') throw new Error('faults.registration: normal, denied or searching');
        if (split !== undefined && typeof split !== 'boolean') throw new Error('faults.split: true or false');
        if (sim !== undefined) modem.faults.sim = sim;
        if (registration !== undefined) modem.faults.registration = registration;
        if (split !== undefined) modem.faults.split = split;
      }
      if (req.latencyMs !== undefined) modem.options.latencyMs = ms(req.latencyMs, 0);
      if (req.loss !== undefined) {
        if (typeof req.loss !== 'number' || !(req.loss >= 0 && req.loss < 1)) throw new Error('loss: a probability from 0 to below 1');
        modem.options.loss = req.loss;
      }
      return { modem: state() };
    }
    case 'error': {
      // the next `count` commands starting with `command` answer ERROR
      if (typeof req.command !== 'string' || !req.command.startsWith('AT')) throw new Error('error: needs "command":"AT..." (a prefix)');
      const count = req.count ?? 1;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) throw new Error('error: count from 1 to 1000');
      modem.failNext(req.command, count);
      return {};
    }
    case 'close-sockets':
      modem.closeSockets();
      return {};
    case 'signal-loss':
      modem.loseSignal(ms(req.ms, 5_000));
      return {};
    case 'reboot':
      await modem.reboot(ms(req.ms, 200));
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(req.fault ?? req.op)}: get, set, error, close-sockets, signal-loss, reboot`);
  }
}

/** Listen on 127.0.0.1:`port` (0 picks one); `portFile` gets the port. */
export function serveModem(modem: ModemEmulator, port: number, portFile?: string): Promise<ControlServer> {
  return serveJsonLines(port, portFile, (req) => modemControl(modem, req));
}

/** The module's UART on a new pseudo-terminal (a symlink at `linkPath`): bytes a host writes
 * there reach the module, what the module says comes out there. */
export function modemOnPty(modem: ModemEmulator, linkPath?: string): { where: string; close(): Promise<void> } {
  const pty = openPty((bytes) => modem.uart.write(bytes), linkPath);
  modem.uart.onBytes((bytes) => pty.write(bytes));
  return { where: pty.where, close: () => pty.close() };
}

/** A serial device (a module's, or an emulator's pty) as the driver's Serial. */
export async function serialDevice(device: string, baud: number): Promise<{ serial: Serial; close(): Promise<void> }> {
  let receive: (bytes: Uint8Array) => void = () => {};
  const port = await openSerialPort((bytes) => receive(bytes), device, baud);
  return {
    serial: { onBytes: (r) => { receive = r; }, write: (bytes) => port.write(bytes) },
    close: () => port.close(),
  };
}
