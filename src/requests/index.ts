// The one table that maps request names to handlers. Each family lives in its own module.
import { binaryRequests } from './binary';
import { auxRequests } from './aux';
import { cardRequests } from './card';
import { cardConfigRequests } from './card-config';
import { dfuRequests } from './dfu';
import type { HandlerTable } from './handler';
import { envRequests } from './env';
import { fileRequests } from './file';
import { hubRequests } from './hub';
import { noteRequests } from './note';
import { noteTemplate } from './note-template';
import { ntnRequests } from './ntn';
import { sensorRequests } from './sensors';
import { usageRequests } from './usage';
import { varRequests } from './var';
import { webRequests } from './web';
import { worldRequests } from './world';
import { wirelessRequests } from './wireless';

export const REQUESTS: HandlerTable = Object.freeze({
  ...cardRequests,
  ...binaryRequests,
  ...hubRequests,
  ...noteRequests,
  'note.template': (card, args) => noteTemplate(card.templates, args),
  ...fileRequests,
  ...varRequests,
  ...envRequests,
  ...cardConfigRequests,
  ...auxRequests,
  ...sensorRequests,
  ...usageRequests,
  ...ntnRequests,
  ...webRequests,
  ...dfuRequests,
  ...worldRequests,
  ...wirelessRequests,
  // note-c's NotePing: the reply carries back what the request carried (text, body, ...).
  echo: (_card, args) => ({ ...args.raw }),
});

/** Documented request families: their unimplemented members answer {not-supported}. */
const FAMILIES = Object.freeze(['card', 'note', 'file', 'hub', 'dfu', 'env', 'var', 'web', 'ntn']);

export function knownFamily(name: string): boolean {
  return FAMILIES.includes(name.split('.')[0]);
}
