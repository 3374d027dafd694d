import type { JsonObject } from '../json';
import type { Args } from './args';
import type { Exchange, RequestContext } from './context';

/** A request handler: checked arguments in, reply members out; throws CardError on failure. */
export type Handler = (card: RequestContext, args: Args, exchange: Exchange) => JsonObject;
export type HandlerTable = Readonly<Record<string, Handler>>;
