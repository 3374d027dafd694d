// The card syncing with the real hub listener through the modem driver and the modem emulator
// (hosts/node/modem-emulator.ts), a fault at a time: hub.sync.status names the failure by its tag,
// the card recovers, and the next sync leaves every pending note on the hub exactly once; with a
// module of each AT family (Quectel, SIMCom).
import { Card } from '../../src/card';
import { ModemLink } from '../../src/net/modem';
import { DIALECTS } from '../../src/net/at-dialect';
import { RamFlash } from '../../hosts/node/ram-flash';
import { nodeClock, nodeHost } from '../../hosts/node/node-host';
import { ModemEmulator } from '../../hosts/node/modem-emulator';
import { startHub, type RunningHub } from '../../hub/server';
import { tempDir } from '../support/sim-process';
import { sleep } from '../support/wait';

describe.each(['quectel', 'simcom'] as const)('through a module of the %s family', (dialect) => {
  const q = dialect === 'quectel';
  let running: RunningHub;
  let modem: ModemEmulator;
  let link: ModemLink;
  let card: Card;
  let next = 0;

  function request(req: object): Record<string, unknown> {
    return JSON.parse(card.request(JSON.stringify(req)).text!);
  }

  /** hub.sync, then wait for the session to end and its socket to close (the CLOSE frame goes
   * out after the end: a fault armed before that would hit it); its hub.sync.status text. */
  async function syncOnce(): Promise<string> {
    request({ req: 'hub.sync' });
    for (let i = 0; i < 1500 && card.engine!.running; i++) await sleep(10);
    for (let i = 0; i < 1500 && !link.idle; i++) await sleep(10);
    return String(request({ req: 'hub.sync.status' }).status);
  }

  function addNotes(n = 3): void {
    for (let i = 0; i < n; i++) request({ req: 'note.add', file: 'up.qo', body: { n: next++ } });
  }

  async function hubNotes(): Promise<number[]> {
    const b = running.bootstrap!;
    const res = await fetch(`${running.url}/v1/projects/${b.projectUID}/events?pageSize=1000&files=up.qo`, { headers: { Authorization: `Bearer ${b.token}` } });
    const body = (await res.json()) as { events: { body: { n: number } }[] };
    return body.events.map((e) => e.body.n).sort((a, b) => a - b);
  }

  /** The fault fails a sync with `tag`; after `heal` the next sync delivers everything once. */
  async function recovers(tag: string, heal: () => void): Promise<void> {
    addNotes();
    const failed = await syncOnce();
    expect(failed).toContain(tag);
    expect(failed).toContain('{sync-error}');
    heal();
    const ok = await syncOnce();
    expect(ok).toContain('{sync-end}');
    expect(await hubNotes()).toEqual([...Array(next).keys()]);
  }

  beforeAll(async () => {
    running = await startHub({ dataDir: tempDir('opencard-modem-'), port: 0, devicePort: 0, log: () => {} });
    modem = new ModemEmulator({ baud: 921_600, latencyMs: 5, dialect });
    link = new ModemLink({ serial: modem.uart, clock: nodeClock(true), apn: 'iot.example', registrationMs: 3_000, pollMs: 200, dialect: DIALECTS[dialect] });
    const host = { ...nodeHost({ flash: new RamFlash({ size: 256 * 1024 }), logLevel: 'silent', trustSystemClock: true }), net: link };
    card = new Card(host, { hubHost: `127.0.0.1:${running.devicePort}` });
    request({ req: 'hub.set', product: running.bootstrap!.productUID, mode: 'minimum' });
  });

  afterAll(async () => {
    card?.shutdown();
    modem?.close();
    await running?.close();
  });

  /** Run `fault` once, after the k-th send from now (k = 1: a resumed sync's first flight, RESUME and its early data, docs/SYNC.md 3.1). */
  function atSend(k: number, fault: () => void): void {
    let n = 0;
    modem.onSend = () => {
      if (++n < k) return;
      modem.onSend = undefined;
      fault();
    };
  }

  afterEach(() => {
    modem.onSend = undefined;
  });

  it('syncs through the modem: bring-up, registration, APN, one socket', async () => {
    addNotes();
    expect(await syncOnce()).toContain('{sync-end}');
    expect(await hubNotes()).toEqual([0, 1, 2]);
    expect(modem.apn).toBe('iot.example');
    expect(link.facts()).toMatchObject({ state: 'attached', rat: q ? 'emtc' : 'lte', bars: 4, operator: 'Emulated Cellular' });
    expect(modem.commands.slice(0, 4)).toEqual(q ? ['AT', 'ATE0', 'AT+CMEE=1', 'AT+CPIN?'] : ['AT', 'ATE0', 'AT+CMEE=1', 'AT+CIPRXGET=1']);
    expect(modem.commands).toContain(q ? 'AT+QIACT=1' : 'AT+NETOPEN');
  }, 30_000);

  it('no SIM: {registration-failure}', async () => {
    modem.faults.sim = false;
    link.setApn('iot.example2'); // forces a fresh bring-up, where the SIM is checked
    await recovers('{registration-failure}', () => (modem.faults.sim = true));
    expect(modem.apn).toBe('iot.example2');
  }, 30_000);

  it('registration denied: {registration-failure}', async () => {
    await modem.reboot(10); // the driver has seen RDY
    modem.faults.registration = 'denied';
    await recovers('{registration-failure}', () => (modem.faults.registration = 'normal'));
  }, 30_000);

  it('registration that never comes: {registration-failure} after the timeout', async () => {
    await modem.reboot(10); // the driver has seen RDY
    modem.faults.registration = 'searching';
    await recovers('{registration-failure}', () => (modem.faults.registration = 'normal'));
  }, 30_000);

  it('slow registration: the driver polls until the network takes it, within one sync', async () => {
    await modem.reboot(10); // the driver has seen RDY
    modem.faults.registration = 'searching';
    setTimeout(() => (modem.faults.registration = 'normal'), 1_000);
    addNotes();
    expect(await syncOnce()).toContain('{sync-end}');
    expect(await hubNotes()).toEqual([...Array(next).keys()]);
    expect(modem.commands.filter((c) => c === 'AT+CEREG?').length).toBeGreaterThan(3);
  }, 30_000);

  it('an ERROR reply to the open: {network}', async () => {
    modem.failNext(q ? 'AT+QIOPEN' : 'AT+CIPOPEN');
    await recovers('{network}', () => {});
  }, 30_000);

  it('an ERROR reply to a send mid-session: {network}', async () => {
    atSend(1, () => modem.failNext(q ? 'AT+QISEND' : 'AT+CIPSEND'));
    await recovers('{network}', () => {});
  }, 30_000);

  it('the network closes the socket mid-session', async () => {
    atSend(1, () => modem.closeSockets());
    await recovers('hub closed the connection', () => {});
  }, 30_000);

  it('signal loss mid-session: the data context drops: {network}', async () => {
    atSend(1, () => modem.loseSignal(500));
    await recovers('{network}', () => {});
  }, 30_000);

  it('the module restarts mid-session (RDY): {network}', async () => {
    atSend(1, () => void modem.reboot(100));
    await recovers('{network}', () => {});
  }, 30_000);

  it('every byte from the module in its own delivery', async () => {
    modem.faults.split = true;
    addNotes(20);
    expect(await syncOnce()).toContain('{sync-end}');
    modem.faults.split = false;
    expect(await hubNotes()).toEqual([...Array(next).keys()]);
  }, 30_000);

  it('a lossy radio: slower, still exactly once', async () => {
    modem.options.loss = 0.3;
    addNotes(10);
    expect(await syncOnce()).toContain('{sync-end}');
    modem.options.loss = 0;
    expect(await hubNotes()).toEqual([...Array(next).keys()]);
  }, 30_000);

  it('a hub the module cannot reach: {connect-failure}', async () => {
    const hubHost = `127.0.0.1:${running.devicePort}`;
    request({ req: 'hub.set', host: '127.0.0.1:1' }); // nothing listens there
    addNotes();
    const failed = await syncOnce();
    expect(failed).toContain('{connect-failure}');
    expect(failed).toContain(q ? 'socket error 566' : 'socket error 1');
    request({ req: 'hub.set', host: hubHost });
    expect(await syncOnce()).toContain('{sync-end}');
    expect(await hubNotes()).toEqual([...Array(next).keys()]);
  }, 30_000);
});
