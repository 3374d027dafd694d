/**
 * The one way opencard's command lines (notehub-lite, notecard-sim, npm run moddable) read their
 * options: node:util parseArgs in strict mode, so an unknown option or a missing value is a
 * usage error (one line on stderr, exit 2), never silently ignored. It lives in hub/ because the
 * hub's CLI may not import hosts/, while hosts/node may import the hub.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake on the command line: the CLI says so in one line and exits 2. */
export class UsageError extends Error {}

/** parseArgs, strict, with its errors turned into short UsageErrors. */
export function parseCommandLine<T extends ParseArgsConfig & { strict: true }>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError(usageText(e));
  }
}

function usageText(e: unknown): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const arg = /'([^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${arg}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${arg}`;
  if (/argument missing|ambiguous/.test(message)) return `${arg} needs a value`;
  if (/does not take an argument/.test(message)) return `${arg} takes no value`;
  return message.split('\n')[0];
}

/** The value if it is one of the choices, else a UsageError naming them. */
export function oneOf<C extends string>(flag: string, value: string, choices: readonly C[]): C {
  if ((choices as readonly string[]).includes(value)) return value as C;
  throw new UsageError(`${flag} ${value}: use ${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`);
}

/** A whole number in 0..max, else a UsageError. */
export function wholeNumber(flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`${flag} needs a whole number${max < Number.MAX_SAFE_INTEGER ? ` in 0..${max}` : ''}, not "${value}"`);
  return n;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A port a CLI listens on: its number as configured, the flag that changes it, and what it is. */
export interface ListenPort { port: number | undefined; flag: string; what: string }

/**
 * A failed listen as one clear line: a port in use (or not allowed) names the flag that picks
 * another; any other error is returned unchanged.
 */
export function explainListenError(e: unknown, ports: readonly ListenPort[]): unknown {
  const err = e as { code?: string; port?: number };
  if (err?.code !== 'EADDRINUSE' && err?.code !== 'EACCES') return e;
  const p = ports.find((x) => x.port === err.port);
  if (!p) return e;
  const why = err.code === 'EADDRINUSE' ? 'is already in use (is another notecard-sim or notehub-lite running?)' : 'is not allowed for this user';
  return new Error(`${p.what} port ${err.port} ${why}; choose another with ${p.flag} N (0 picks a free one)`);
}
