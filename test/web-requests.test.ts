// web.* and hub.signal on the card without a hub: argument checks, the documented errors when the
// card is not in continuous mode or not connected; the serial session holding input while a reply
// is outstanding; the WEB messages cut into frames and put back together.
import { Card } from '../src/card';
import { SerialSession, type LineCard, type Reply } from '../src/wire/session';
import { BinaryBuffer } from '../src/wire/binary';
import { Pieces, splitWeb, decodeWeb, encodeWeb, type WebReplyMessage } from '../src/sync/web';
import { ByteReader } from '../src/sync/varint-io';
import { maxContent } from '../src/sync/messages';
import { testHost } from './support/host';

function cardWithNet(): Card {
  const host = testHost();
  host.net = { connect: () => ({ write: () => undefined, close: () => undefined }) };
  return new Card(host);
}

const ask = (card: Card, req: object): Record<string, unknown> => JSON.parse(card.request(JSON.stringify(req)).text!) as Record<string, unknown>;

describe('web requests on the card', () => {
  it('say which mode they need, and that the card is offline', () => {
    const card = cardWithNet();
    expect(ask(card, { req: 'web.get', route: 'r', name: '/x' }).err).toContain('{hub-mode}');
    ask(card, { req: 'hub.set', mode: 'continuous', host: '127.0.0.1:1' });
    expect(ask(card, { req: 'web.post', route: 'r', body: { a: 1 } }).err).toContain('{network}');
    expect(ask(card, { req: 'hub.signal' })).toEqual({ connected: false });
  });

  it('check their arguments at the edge', () => {
    const card = cardWithNet();
    expect(ask(card, { req: 'web.get', name: '/x' }).err).toContain('route');
    expect(ask(card, { req: 'web', route: 'r', method: 'FETCH' }).err).toContain('method: must be one of');
    expect(ask(card, { req: 'web.post', route: 'r', body: { a: 1 }, payload: 'AQI=' }).err).toContain('not both');
    expect(ask(card, { req: 'web.post', route: 'r', payload: 'AQI=', status: '0'.repeat(32) }).err).toContain('{bad-bin}');
    expect(ask(card, { req: 'web.post', route: 'r', binary: true }).err).toContain('binary buffer is empty');
    expect(ask(card, { req: 'web.get', route: 'r', file: 'answers.db' }).err).toContain('.dbx');
  });

  it('without a network the card does not support them', () => {
    const card = new Card(testHost());
    expect(ask(card, { req: 'web.get', route: 'r' }).err).toContain('{not-supported}');
    expect(ask(card, { req: 'hub.signal' }).err).toContain('{not-supported}');
  });
});

describe('a reply that comes later', () => {
  /** A card whose "slow" request is answered when the test says so. */
  class SlowCard implements LineCard {
    readonly binary = new BinaryBuffer(64);
    readonly seen: string[] = [];
    answer: ((r: Reply) => void) | undefined;
    request(text: string): Reply {
      this.seen.push(text);
      if (text === 'slow') return { later: (send) => { this.answer = send; } };
      return { text: `{"echo":"${text}"}` };
    }
  }

  it('holds the input that arrives meanwhile and answers it in order after', () => {
    const card = new SlowCard();
    const out: string[] = [];
    const session = new SerialSession(card, (b) => out.push(Buffer.from(b).toString()));
    session.receive(Buffer.from('one\nslow\ntwo\n'));
    session.receive(Buffer.from('thr'));
    session.receive(Buffer.from('ee\n'));
    expect(card.seen).toEqual(['one', 'slow']);
    expect(out).toEqual(['{"echo":"one"}\r\n']);
    card.answer!({ text: '{"slow":true}' });
    expect(card.seen).toEqual(['one', 'slow', 'two', 'three']);
    expect(out.join('')).toBe('{"echo":"one"}\r\n{"slow":true}\r\n{"echo":"two"}\r\n{"echo":"three"}\r\n');
  });

  it('keeps at most a line of held input', () => {
    const card = new SlowCard();
    const out: string[] = [];
    const session = new SerialSession(card, (b) => out.push(Buffer.from(b).toString()), 8);
    session.receive(Buffer.from('slow\n'));
    session.receive(Buffer.from('a\n'.repeat(20)));
    card.answer!({ text: '{}' });
    expect(card.seen.length).toBe(1 + 5); // 10 held bytes: five "a" lines
  });
});

describe('WEB messages', () => {
  it('a long answer crosses in pieces that fit the frame and come back whole', () => {
    const body = Uint8Array.from({ length: 8192 }, (_, i) => i & 0xff);
    const room = maxContent(4096);
    const pieces = splitWeb<WebReplyMessage>({ type: 'webReply', id: 7, result: 200, content: 'application/octet-stream', error: false, more: false, body }, room);
    expect(pieces.length).toBe(3);
    const whole = new Pieces(8192);
    for (const [i, p] of pieces.entries()) {
      const content = encodeWeb(p);
      expect(content.length).toBeLessThanOrEqual(room);
      const back = decodeWeb('webReply', new ByteReader(content)) as WebReplyMessage;
      expect(back.more).toBe(i < pieces.length - 1);
      expect(whole.add(back.body)).toBe(true);
    }
    expect(Buffer.from(whole.bytes()).equals(Buffer.from(body))).toBe(true);
    expect(new Pieces(10).add(new Uint8Array(11))).toBe(false);
  });
});
