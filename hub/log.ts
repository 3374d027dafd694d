/**
 * The hub's log: pino, one JSON object a line (an access line per HTTP request, failures with
 * their stack). A caller that wants text lines instead (tests, the simulator's --with-hub, which
 * writes them to stderr) gets the same records rendered as `msg[ key=value...][: stack]`.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel as Level } from './cli-args';

export type { Logger } from 'pino';
export type { Level };

/**
 * JSON lines on stdout, written asynchronously: a synchronous write per access line cost the
 * events API about half its throughput under load (bench/hub.ts). pino flushes on exit.
 */
export function jsonLogger(level: Level = 'info'): Logger {
  return pino({ level, base: { name: 'notehub-lite' } }, pino.destination({ dest: 1, sync: false }));
}

const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'err', 'name', 'reqId']);

/** The records as text lines through `line` (startHub's `log` option). */
export function lineLogger(line: (text: string) => void, level: Level = 'info'): Logger {
  return pino({ level, base: undefined, timestamp: false }, {
    write(json: string): void {
      const o = JSON.parse(json) as Record<string, unknown>;
      let text = String(o.msg ?? '');
      for (const [k, v] of Object.entries(o)) if (!SKIP.has(k)) text += ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
      const err = o.err as { stack?: string; message?: string } | undefined;
      if (err) text += `: ${err.stack ?? err.message}`;
      line(text);
    },
  });
}
