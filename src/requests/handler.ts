import type { Card, Exchange } from '../card';
import type { JsonObject } from '../json';
import type { Args } from './args';

/** A request handler: checked arguments in, reply members out; throws CardError on failure. */
export type Handler = (card: Card, args: Args, exchange: Exchange) => JsonObject;
export type HandlerTable = Readonly<Record<string, Handler>>;
