// The modem driver against transcripts written from the Quectel BG95/BG96 and SIMCom SIM7600 AT
// manuals (test/xs/modem-harness.ts): the scripted module fails the run on any command it does not
// expect, so each transcript pins what the driver writes on the UART; the `**` lines are what
// its socket reported to the client, on a virtual clock.
import { fields, intField } from '../../src/net/at-dialect';
import { runModem, transcripts, type Outcome } from '../xs/modem-harness';

const T = transcripts();

function events(r: Outcome): string[] {
  return r.log.filter((l) => l.startsWith('**') || l.startsWith('!!'));
}

describe('modem driver transcripts', () => {
  it('brings the module up, opens, sends after the prompt, reads on "recv", closes', () => {
    const r = runModem(T.session);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100', '** received "hello card"']);
    // the data went after the prompt, on its own
    expect(r.log).toContain('-> hello hub');
    expect(r.facts).toEqual({
      state: 'attached', apn: 'iot.example', rssi: -73, bars: 4, rat: 'emtc', rsrp: -102, sinr: 112, rsrq: -11,
      network: '310410', band: 'LTE BAND 12', operator: 'AT&T',
    });
    expect(r.figures).toEqual({ uartTx: 223, uartRx: 325, payloadUp: 9, payloadDown: 10, radioOnMs: 1400, sessions: 1 });
  });

  it('reads the same when every byte from the module arrives alone', () => {
    const whole = runModem(T.session);
    const split = runModem(T.split);
    expect(split.left).toBe(0);
    expect(events(split)).toEqual(events(whole));
    expect(split.figures).toEqual(whole.figures);
  });

  it('tells URCs from answers: inside an answer, after a send result, after the prompt', () => {
    const r = runModem(T.interleaved);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100', '** received "hello card"']);
  });

  it('reads what the hub sent before it closed, then reports the close', () => {
    const r = runModem(T.peerClose);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100', '** closed at 1400 after "bye!"']);
  });

  it('sends more than one AT+QISEND carries in pieces, and closes only once all went', () => {
    const r = runModem(T.bigSend);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100']);
    expect(r.figures).toMatchObject({ payloadUp: 2000 });
  });

  it('waits out a module that is still booting (AT unanswered, then RDY)', () => {
    const r = runModem(T.boot);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 3100']);
  });

  it.each([
    ['noSim', 'no-sim', '** closed: no SIM card (+CME ERROR: 10) {registration-failure} at 0'],
    ['denied', 'denied', '** closed: registration denied by the network {registration-failure} at 0'],
    ['slowRegistration', 'searching', '** closed: not registered after 5 s {registration-failure} at 4000'],
    ['dead', 'failed', '** closed: the modem does not answer {network} at 10000'],
    ['activationError', 'registered', '** closed: data context not activated: +CME ERROR: 30 {network} at 0'],
  ])('%s: fails the connection with its tag', (name, state, line) => {
    const r = runModem(T[name]);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual([line]);
    expect(r.facts).toMatchObject({ state, error: line.substring('** closed: '.length, line.lastIndexOf(' at ')) });
  });

  it.each([
    ['sendError', '** closed: send failed: SEND FAIL {network} at 1100'],
    ['contextLost', '** closed: the data context was lost {network} at 1150'],
  ])('%s: a failure on an open socket closes it with {network}', (name, line) => {
    const r = runModem(T[name]);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100', line]);
  });

  it('a hub that cannot be reached is {connect-failure}; the next open needs no close', () => {
    const r = runModem(T.connectFailure);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** closed: the hub could not be reached (socket error 566) {connect-failure} at 1100', '** connected at 2400']);
  });

  it('a module restart (RDY) fails the socket; the next connect brings the module up again', () => {
    const r = runModem(T.reboot);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(['** connected at 1100', '** closed: the modem restarted {network} at 1200', '** connected at 3300', '** received "back"']);
  });

  it('fails a run that writes what the transcript does not expect', () => {
    const r = runModem({ script: [{ at: 'AT', reply: '\r\nOK\r\n' }, { at: 'AT+CMEE=1', reply: '\r\nOK\r\n' }] });
    expect(events(r)[0]).toMatch(/^!! unexpected "ATE0"/);
  });

  it('splits answer fields at commas outside quotes', () => {
    expect(fields('+COPS: 0,0,"AT&T, Inc",8', '+COPS:')).toEqual(['0', '0', 'AT&T, Inc', '8']);
    expect([intField('-102'), intField('12a'), intField(''), intField('-')]).toEqual([-102, undefined, undefined, undefined]);
  });
});

describe('modem driver transcripts, SIMCom SIM7600 family (AT+NETOPEN, AT+CIPOPEN)', () => {
  const quectel = Object.keys(T).filter((k) => !k.includes('.'));
  // what the family says differently, as the driver reports it
  const words = (line: string) => line.replace('socket error 566', 'socket error 1').replace('+CME ERROR: 30', '+NETOPEN: 1').replace('SEND FAIL', '+CIPERROR: 4');

  it('has every transcript of the Quectel family', () => {
    expect(Object.keys(T).filter((k) => k.startsWith('simcom.')).map((k) => k.substring(7))).toEqual(quectel);
  });

  it.each(quectel.filter((k) => k !== 'inUse'))('%s: the same socket events and state as the Quectel family', (name) => {
    const q = runModem(T[name]);
    const r = runModem(T[`simcom.${name}`]);
    expect(r.left).toBe(0);
    expect(events(r)).toEqual(events(q).map(words));
    expect((r.facts as { state: string }).state).toBe((q.facts as { state: string }).state);
  });

  it('brings the module up with its own commands and reads its facts', () => {
    const r = runModem(T['simcom.session']);
    expect(r.log).toContain('-> AT+NETOPEN\\r');
    expect(r.log).toContain('-> AT+CIPRXGET=2,0,1500\\r');
    expect(r.facts).toEqual({
      state: 'attached', apn: 'iot.example', rssi: -73, bars: 4, rat: 'lte', rsrp: -102, sinr: 11, rsrq: -11,
      network: '310410', band: 'EUTRAN-BAND12', operator: 'AT&T',
    });
  });

  it('a socket the module still holds is closed and opened again, in either family', () => {
    for (const name of ['inUse', 'simcom.inUse']) {
      const r = runModem(T[name]);
      expect(r.left).toBe(0);
      expect(events(r)).toEqual(['** connected at 1110']);
    }
  });
});
