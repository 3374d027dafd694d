// ntn.*: a Starnote (satellite) module paired with the card. This card has none attached, and says
// so as the Notecard does; the one setting of the card's own side (ntn.gps) is kept.
import { fail } from '../errors';
import type { JsonObject } from '../json';
import type { HandlerTable } from './handler';
import { configOf, setConfig } from './card-config';

export const ntnRequests: HandlerTable = Object.freeze({
  'ntn.gps': (card, args): JsonObject => {
    if (args.bool('on') && args.bool('off')) fail('on and off: one or the other', 'bad-arg');
    if (args.bool('on')) setConfig(card, 'ntn.gps', { on: true });
    if (args.bool('off')) setConfig(card, 'ntn.gps', {});
    return configOf(card, 'ntn.gps').on === true ? { on: true } : { off: true };
  },

  'ntn.status': () => fail('no NTN module is connected', 'no-ntn-module'),

  // Forgets the pairing with a Starnote: there is none to forget.
  'ntn.reset': () => ({}),
});
