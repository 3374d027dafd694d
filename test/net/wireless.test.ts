// card.wireless, card.wireless.penalty, card.transport; link fallback; the penalty box; how
// hub.sync.status names a link failure.
import type { Cellular, Link, Net, NetHandlers, PenaltyConfig } from '../../src/host';
import { PenaltyBox } from '../../src/net/penalty';
import { linksFor, TransportNet } from '../../src/net/transport';
import { testCard, testHost } from '../support/host';
import { runModem, BRING_UP, type Step } from '../xs/modem-harness';

class FakeCellular implements Cellular {
  configured: [string, string][] = [];
  penaltyConfig: PenaltyConfig | undefined;
  resets = 0;
  wireless() {
    return { status: 'registered {network-up}', count: 3, net: { rat: 'emtc', band: 'LTE BAND 12', rssi: -75, bars: 3, mcc: 310, mnc: 410 } };
  }
  configure(apn: string, mode: string) {
    this.configured.push([apn, mode]);
  }
  penalty() {
    return { minutes: 0, count: 0 };
  }
  setPenalty(c: PenaltyConfig) {
    this.penaltyConfig = c;
  }
  resetPenalty() {
    this.resets++;
  }
}

/** A Net whose connections the test opens, fails or closes by hand. */
class HandNet implements Net {
  calls: NetHandlers[] = [];
  connect(_host: string, _port: number, h: NetHandlers) {
    this.calls.push(h);
    return { write: () => {}, close: () => {} };
  }
}

describe('card.wireless', () => {
  it('answers {not-supported} on a card without a modem', () => {
    const { req } = testCard();
    expect(req({ req: 'card.wireless' }).err).toContain('{not-supported}');
    expect(req({ req: 'card.wireless.penalty' }).err).toContain('{not-supported}');
  });

  it('reports the modem; apn and mode are kept across a restart and handed to the modem', () => {
    const host = testHost();
    const cell = new FakeCellular();
    const { req } = testCard({ ...host, cellular: cell });
    expect(req({ req: 'card.wireless' })).toEqual(cell.wireless());
    expect(req({ req: 'card.wireless', apn: 'myapn.nb', mode: 'nb' }).status).toBe('registered {network-up}');
    expect(cell.configured.at(-1)).toEqual(['myapn.nb', 'nb']);
    expect(req({ req: 'card.wireless', mode: 'x' }).err).toContain('{bad-arg}');
    expect(req({ req: 'card.wireless', method: 'dual-primary-secondary' }).err).toContain('{not-supported}');
    const again = new FakeCellular();
    testCard({ ...host, cellular: again });
    expect(again.configured).toEqual([['myapn.nb', 'nb']]);
    const third = testCard({ ...host, cellular: again });
    third.req({ req: 'card.wireless', apn: '-', mode: '-' });
    expect(again.configured.at(-1)).toEqual(['', '']);
  });

  it('card.wireless.penalty: set keeps the figures, reset empties the box', () => {
    const host = testHost();
    const cell = new FakeCellular();
    const { req } = testCard({ ...host, cellular: cell });
    expect(req({ req: 'card.wireless.penalty' })).toEqual({ minutes: 0, count: 0 });
    req({ req: 'card.wireless.penalty', set: true, rate: 2.0, add: 10, max: 720, min: 5 });
    expect(cell.penaltyConfig).toEqual({ rate: 2, add: 10, max: 720, min: 5 });
    req({ req: 'card.wireless.penalty', reset: true });
    expect(cell.resets).toBe(1);
    const next = new FakeCellular();
    testCard({ ...host, cellular: next });
    expect(next.penaltyConfig).toEqual({ rate: 2, add: 10, max: 720, min: 5 });
  });
});

describe('penalty box', () => {
  it('grows from the second consecutive failure, up to max; success empties it', () => {
    const box = new PenaltyBox();
    box.configure({ min: 5, add: 10, max: 60, rate: 2 });
    box.failure(0);
    expect(box.remaining(0)).toBe(0);
    box.failure(0);
    expect(box.remaining(0)).toBe(5 * 60_000);
    box.failure(0);
    expect(box.remaining(0)).toBe((5 * 2 + 10) * 60_000);
    box.failure(0);
    expect(box.remaining(0)).toBe((5 * 4 + 20) * 60_000);
    box.failure(0);
    expect(box.remaining(0)).toBe(60 * 60_000); // 5*8 + 30 = 70, capped
    expect(box.report(120_000)).toMatchObject({ count: 5, minutes: 2, seconds: 58 * 60 });
    expect(String(box.report(0).status)).toContain('{registration-failure}');
    box.success();
    expect(box.report(0)).toEqual({ minutes: 0, count: 0 });
  });

  it('the modem stops trying while in the box: no AT command goes out', () => {
    const denied: Step[] = [...BRING_UP.slice(0, 4), { at: 'AT+CEREG?', reply: '\r\n+CEREG: 0,3\r\n\r\nOK\r\n' }];
    const r = runModem({ connects: 3, script: [...denied, ...denied] });
    expect(r.left).toBe(0);
    const closes = r.log.filter((l) => l.startsWith('**'));
    expect(closes).toHaveLength(3);
    expect(closes[2]).toMatch(/can't connect \(15 min remaining\) \{registration-failure\} \{network\} at 2000$/);
    expect(r.log.at(-1)).toBe(closes[2]); // nothing written after the second failure
  });
});

describe('card.transport', () => {
  it('defaults to the host order, takes a method, refuses links the host lacks', () => {
    const links: Link[] = [{ name: 'wifi', net: new HandNet() }];
    const { req } = testCard({ ...testHost(), links });
    expect(req({ req: 'card.transport' })).toEqual({ method: '-' });
    expect(req({ req: 'card.transport', method: 'wifi-cell', seconds: 600 })).toEqual({ method: 'wifi-cell', seconds: 600 });
    expect(req({ req: 'card.transport', method: 'cell' }).err).toContain('{bad-arg}');
    // No satellite (Starnote) module on this card: 'ntn' alone has no link; as a fallback it adds none.
    expect(req({ req: 'card.transport', method: 'ntn' }).err).toMatch(/no satellite.*\{bad-arg\}/);
    expect(req({ req: 'card.transport', method: 'wifi-ntn' })).toEqual({ method: 'wifi-ntn', seconds: 600 });
    expect(req({ req: 'card.transport', method: 'wifi-cell-ntn' })).toEqual({ method: 'wifi-cell-ntn', seconds: 600 });
    expect(req({ req: 'card.transport', method: 'cell-ntn' }).err).toContain('{bad-arg}');
    expect(req({ req: 'card.transport', method: 'wifi-cell', seconds: 600 })).toEqual({ method: 'wifi-cell', seconds: 600 });
    expect(req({ req: 'card.transport', allow: true, set: true })).toEqual({ method: 'wifi-cell', seconds: 600, allow: true });
    expect(req({ req: 'card.transport', method: '-' })).toEqual({ method: '-', seconds: 600, allow: true });
  });

  it('falls back to the next link when one cannot open, and stays there for `seconds`', () => {
    const host = testHost();
    const wifi = new HandNet();
    const cell = new HandNet();
    let method = 'wifi-cell';
    const t = new TransportNet([{ name: 'wifi', net: wifi }, { name: 'cell', net: cell }], host.clock, () => ({ method, seconds: 60 }));
    const seen: string[] = [];
    const h: NetHandlers = { onConnect: () => seen.push('connect'), onData: () => {}, onClose: (e) => seen.push(`close ${e}`) };
    t.connect('hub', 1, h);
    wifi.calls[0].onClose('no access point {network}');
    expect(cell.calls).toHaveLength(1);
    cell.calls[0].onConnect();
    expect(t.current).toBe('cell');
    cell.calls[0].onClose();
    // within `seconds`, straight to the fallback
    t.connect('hub', 1, h);
    expect([wifi.calls.length, cell.calls.length]).toEqual([1, 2]);
    host.ms += 61_000;
    t.connect('hub', 1, h);
    expect([wifi.calls.length, cell.calls.length]).toEqual([2, 2]);
    // both fail: the errors of each
    wifi.calls[1].onClose('down {network}');
    cell.calls[2].onClose('no SIM {registration-failure}');
    expect(seen.at(-1)).toBe('close wifi: down {network}; cell: no SIM {registration-failure}');
    method = 'cell';
    t.connect('hub', 1, h);
    expect([wifi.calls.length, cell.calls.length]).toEqual([2, 4]);
    // An NTN fallback adds no link here: wifi-cell-ntn tries what wifi-cell tries.
    expect(linksFor('wifi-cell-ntn', [{ name: 'wifi', net: wifi }, { name: 'cell', net: cell }]).map((l) => l.name)).toEqual(['wifi', 'cell']);
    expect(linksFor('ntn', [{ name: 'wifi', net: wifi }])).toEqual([]);
  });
});

describe('hub.sync.status names the failure', () => {
  function engineWith(net: HandNet) {
    const { req } = testCard({ ...testHost(), net }, { hubHost: '127.0.0.1:1' });
    req({ req: 'hub.set', product: 'com.example:p', mode: 'minimum' });
    req({ req: 'hub.sync' });
    return req;
  }

  it('a link that never opened: {connect-failure}', () => {
    const net = new HandNet();
    const req = engineWith(net);
    net.calls[0].onClose('connect ECONNREFUSED 127.0.0.1:1');
    expect(req({ req: 'hub.sync.status' }).status).toBe('connection lost: connect ECONNREFUSED 127.0.0.1:1 {connect-failure} {sync-error}');
  });

  it('a link that broke, or a hub that hung up: {network}', () => {
    const net = new HandNet();
    const req = engineWith(net);
    net.calls[0].onConnect();
    net.calls[0].onClose('read ECONNRESET');
    expect(req({ req: 'hub.sync.status' }).status).toBe('connection lost: read ECONNRESET {network} {sync-error}');
    req({ req: 'hub.sync' });
    net.calls[1].onConnect();
    net.calls[1].onClose();
    expect(req({ req: 'hub.sync.status' }).status).toBe('hub closed the connection {network} {sync-error}');
  });

  it("a modem's own tag is kept", () => {
    const net = new HandNet();
    const req = engineWith(net);
    net.calls[0].onClose('registration denied by the network {registration-failure}');
    expect(req({ req: 'hub.sync.status' }).status).toBe('connection lost: registration denied by the network {registration-failure} {sync-error}');
  });
});
