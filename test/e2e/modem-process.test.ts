// The modem emulator as its own process (`notecard-sim modem`): its UART on a pty, which the
// simulator's driver opens as a serial device (`--modem --modem-serial`), its faults driven through
// its JSON control channel on loopback; and the same faults through the simulator's own channel
// (op "modem") when the emulator runs inside it. Real processes: hub, modem, card.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { call, removeDir, spawnHub, tempDir as hubDir, type Spawned } from '../hub/helpers';
import type { HostClient } from '../support/host-client';
import { SIM_CLI, connectTcp, startSim, tempDir, type SimProcess } from '../support/sim-process';
import { ctlRequest } from '../../hosts/node/world-ctl';
import { sleep } from '../support/wait';

/** `notecard-sim modem` on a pty; resolves with its ready line's pty and control port. */
function startModem(args: string[]): Promise<{ proc: ChildProcess; ctl: number; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [SIM_CLI, 'modem', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`modem did not start: ${err}`)), 10_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /notecard-sim modem ready: .* ctl 127\.0\.0\.1:(\d+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      ok({
        proc, ctl: Number(m[1]),
        stop: () => new Promise((done) => {
          if (proc.exitCode !== null) return done();
          proc.once('exit', () => done());
          proc.kill('SIGTERM');
        }),
      });
    });
    proc.once('exit', (code) => fail(new Error(`modem exited ${code}: ${err}`)));
  });
}

let dir: string;
let hub: Spawned;
let next = 0;

beforeAll(async () => {
  dir = hubDir('e2e-modem-process');
  hub = await spawnHub(dir);
}, 30_000);

afterAll(async () => {
  await hub?.stop();
  removeDir(dir);
});

async function hubNotes(): Promise<number[]> {
  const r = await call(`${hub.url}/v1/projects/${hub.projectUID}/events?pageSize=1000&files=proc.qo`, hub.token);
  return (r.body.events as { body: { n: number } }[]).map((e) => e.body.n).sort((a, b) => a - b);
}

/** Through `ctl`, each fault fails a sync with its tag; cleared, the next sync delivers every note once. */
async function faults(card: HostClient, ctl: (req: Record<string, unknown>) => Promise<Record<string, unknown>>, open: string): Promise<void> {
  const sync = async (): Promise<string> => {
    for (let i = 0; i < 3; i++) expect((await card.transaction({ req: 'note.add', file: 'proc.qo', body: { n: next++ } })).err).toBeUndefined();
    expect(await card.transaction({ req: 'hub.sync' })).toEqual({});
    // the last sync's socket may still be closing: this one begins after it (wait to see it run,
    // or for a while, before reading its outcome)
    let began = false;
    for (let i = 0; i < 2000; i++) {
      const s = await card.transaction({ req: 'hub.sync.status' });
      if (s.sync) began = true;
      else if ((began || i >= 200) && /\{sync-(end|error)\}/.test(String(s.status))) return String(s.status);
      await sleep(began ? 25 : 2);
    }
    throw new Error('the sync did not end');
  };
  // cellular only: no falling back to the simulator's Wi-Fi (plain TCP) when the modem fails
  expect(await card.transaction({ req: 'card.transport', method: 'cell' })).toEqual({ method: 'cell' });
  expect(await sync()).toContain('{sync-end}');
  expect(await ctl({ op: 'get' })).toMatchObject({ ok: true, modem: { apn: 'proc.apn', faults: { sim: true, registration: 'normal' } } });

  // an ERROR reply to the socket open
  expect(await ctl({ op: 'error', command: open, id: 7 })).toEqual({ ok: true, id: 7 });
  expect(await sync()).toContain('{network}');
  // the module restarts without its SIM: the next bring-up finds none
  expect(await ctl({ op: 'set', faults: { sim: false } })).toMatchObject({ ok: true });
  expect(await ctl({ op: 'reboot', ms: 50 })).toEqual({ ok: true });
  expect(await sync()).toContain('{registration-failure}');
  expect(await ctl({ op: 'set', faults: { sim: true }, latencyMs: 10 })).toMatchObject({ ok: true, modem: { latencyMs: 10 } });
  expect(await sync()).toContain('{sync-end}');
  expect(await hubNotes()).toEqual([...Array(next).keys()]);
  // a request it cannot do is an error with the reason
  expect(await ctl({ op: 'set', faults: { registration: 'maybe' } })).toMatchObject({ ok: false, err: expect.stringContaining('registration') });
}

it('notecard-sim modem on a pty, driven by the simulator through --modem-serial, faults through its control channel', async () => {
  const data = tempDir('opencard-modem-proc-');
  const link = path.join(data, 'modem');
  const modem = await startModem(['--pty', link, '--data', data, '--modem-dialect', 'simcom', '--modem-latency', '5', '--modem-baud', '460800']);
  let sim: SimProcess | undefined;
  try {
    sim = await startSim(['--tcp', '0', '--modem', '--modem-serial', link, '--modem-dialect', 'simcom', '--apn', 'proc.apn', '--hub-host', `127.0.0.1:${hub.devicePort}`]);
    const { card, close } = await connectTcp(sim);
    expect(await card.transaction({ req: 'hub.set', product: hub.productUID, mode: 'minimum' })).toEqual({});
    await faults(card, (req) => ctlRequest(modem.ctl, req), 'AT+CIPOPEN');
    close();
  } finally {
    await sim?.stop();
    await modem.stop();
  }
}, 90_000);

it('the in-process emulator (notecard-sim --modem) takes the same faults through the simulator\'s channel', async () => {
  const sim = await startSim(['--tcp', '0', '--modem', '--modem-latency', '5', '--apn', 'proc.apn', '--hub-host', `127.0.0.1:${hub.devicePort}`]);
  try {
    const ctlPort = Number(/ctl 127\.0\.0\.1:(\d+)/.exec(sim.stderr())![1]);
    const { card, close } = await connectTcp(sim);
    expect(await card.transaction({ req: 'hub.set', product: hub.productUID, mode: 'minimum' })).toEqual({});
    await faults(card, (req) => ctlRequest(ctlPort, { ...req, op: 'modem', fault: req.op }), 'AT+QIOPEN');
    close();
  } finally {
    await sim.stop();
  }
}, 90_000);
