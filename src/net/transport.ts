// card.transport: the links a host has (Wi-Fi, cellular) as one Net for the sync engine. A
// method names the links to use in order ('wifi-cell': Wi-Fi, then cellular); '-' is the host's
// own order. A connection that fails before it opens falls back to the next link; after a
// fallback the card stays on it for `seconds` before it tries the first link again.
import type { Clock, Link, LinkName, Net, NetHandlers, NetStream } from '../host';

/** Minutes on a fallback link before the first is tried again, when card.transport gives none. */
export const DEFAULT_FALLBACK_SECONDS = 3600;

export interface TransportChoice {
  method: string;
  seconds: number;
}

/** The links a method names, in the order they are tried. `ntn` (a Starnote satellite module)
 * names no link: no host has one, so as a fallback it adds nothing. */
export function linksFor(method: string, links: readonly Link[]): Link[] {
  if (method === '-') return [...links];
  const order: LinkName[] = [];
  for (const name of method.split('-')) if ((name === 'wifi' || name === 'cell') && !order.includes(name)) order.push(name);
  const out: Link[] = [];
  for (const name of order) for (const l of links) if (l.name === name) out.push(l);
  return out;
}

export class TransportNet implements Net {
  readonly #links: readonly Link[];
  readonly #clock: Clock;
  readonly #choice: () => TransportChoice;
  /** After a fallback: the link that worked, until when. */
  #stay: { name: LinkName; until: number } | undefined;
  /** The link of the last connection that opened. */
  current: LinkName | undefined;

  constructor(links: readonly Link[], clock: Clock, choice: () => TransportChoice) {
    this.#links = links;
    this.#clock = clock;
    this.#choice = choice;
  }

  connect(host: string, port: number, handlers: NetHandlers): NetStream {
    const choice = this.#choice();
    let order = linksFor(choice.method, this.#links);
    const stay = this.#stay;
    if (stay && this.#clock.now() < stay.until) {
      const i = order.findIndex((l) => l.name === stay.name);
      if (i > 0) order = order.slice(i);
    }
    let index = 0;
    let stream: NetStream | undefined;
    let closed = false;
    let opened = false;
    const errors: string[] = [];
    const attempt = (): void => {
      const link = order[index];
      if (!link) {
        closed = true;
        return handlers.onClose(errors.length ? errors.join('; ') : `card.transport ${choice.method}: no such link on this host {network}`);
      }
      const s = link.net.connect(host, port, {
        onConnect: () => {
          if (closed) return;
          opened = true;
          this.current = link.name;
          this.#stay = index > 0 ? { name: link.name, until: this.#clock.now() + choice.seconds * 1000 } : undefined;
          handlers.onConnect();
        },
        onData: (bytes) => {
          if (!closed) handlers.onData(bytes);
        },
        onClose: (error) => {
          if (closed) return;
          if (!opened && error !== undefined && index + 1 < order.length) {
            errors.push(`${link.name}: ${error}`);
            index++;
            return attempt();
          }
          closed = true;
          handlers.onClose(error === undefined ? undefined : errors.length ? `${errors.join('; ')}; ${link.name}: ${error}` : error);
        },
      });
      if (order[index] === link) stream = s; // unless it failed at once and the next link took over
    };
    if (order.length) attempt();
    else this.#clock.schedule(0, attempt);
    return {
      write: (bytes) => {
        if (!closed) stream?.write(bytes);
      },
      close: () => {
        if (closed) return;
        closed = true;
        stream?.close();
      },
    };
  }
}
