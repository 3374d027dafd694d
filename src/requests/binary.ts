// card.binary, card.binary.put, card.binary.get.
import { fail } from '../errors';
import { cobsEncode } from '../wire/cobs';
import { md5Hex } from '../util/md5';
import type { HandlerTable } from './handler';

export const binaryRequests: HandlerTable = Object.freeze({
  'card.binary': (card, args) => {
    const buf = card.binary;
    if (args.bool('delete') || args.bool('reset')) buf.clear();
    const data = buf.bytes();
    const reply = {
      max: buf.max,
      length: buf.length,
      cobs: buf.length ? cobsEncode(data).length : 0,
      status: md5Hex(data),
      connected: false,
    };
    if (buf.lastError) return { err: `${buf.lastError} {bad-bin}`, ...reply };
    return reply;
  },

  'card.binary.put': (card, args) => {
    const cobs = args.int('cobs', 1, 0x7fffffff);
    if (cobs === undefined) fail('cobs: the encoded length is required', 'bad-bin');
    const offset = args.int('offset', 0, 0x7fffffff, card.binary.length);
    card.binary.beginPut(cobs, offset, args.string('status'));
    return {};
  },

  'card.binary.get': (card, args, exchange) => {
    const buf = card.binary;
    // Nothing to send is a bad request, not a failed transfer: host libraries give up on {bad-bin}
    // without returning the reply (note-python raises "Failed to transact with Notecard").
    if (buf.length === 0) fail('binary buffer is empty: nothing to get', 'bad-arg');
    const offset = args.int('offset', 0, buf.length, 0);
    const length = args.int('length', 0, buf.length - offset, buf.length - offset);
    const chunk = buf.bytes(offset, length);
    const encoded = cobsEncode(chunk);
    const trailer = new Uint8Array(encoded.length + 1);
    trailer.set(encoded);
    trailer[encoded.length] = 10;
    exchange.trailer = trailer;
    return { status: md5Hex(chunk) };
  },
});
