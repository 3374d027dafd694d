// 100,000 random and mutated lines: exactly one reply per line (CRLF for an empty line,
// nothing for a cmd), no crash, and memory that does not grow with the input.
import { Card } from '../../src/card';
import { SerialSession } from '../../src/wire/session';
import { deterministicHost } from '../xs/harness';
import { corpusLines, withCrc } from '../xs/corpus';

const LINES = 100_000;

function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

/** What a host must see for one line: 'reply' (one JSON line), 'crlf' or 'none'. */
function expected(line: Buffer): 'reply' | 'crlf' | 'none' {
  if (line.length === 0) return 'crlf';
  const text = line.toString('utf8');
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v.cmd !== undefined && v.req === undefined ? 'none' : 'reply';
  } catch {
    /* judged by its text below */
  }
  return /"cmd"\s*:/.test(text) && !/"req"\s*:/.test(text) ? 'none' : 'reply';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function mutate(seed: Buffer, r: (n: number) => number): Buffer {
  const b = Buffer.from(seed);
  const kind = r(8);
  if (kind === 0) return b.subarray(0, r(b.length + 1)); // truncate
  if (kind === 1) for (let i = r(4) + 1; i > 0; i--) b[r(b.length || 1)] = r(256); // flip bytes
  if (kind === 2) return Buffer.concat([b, Buffer.from('{"a":' + '['.repeat(r(200)))]); // deep nesting
  if (kind === 3) return Buffer.from(`{"req":"card.random","count":${'9'.repeat(r(400))}}`); // huge number
  if (kind === 4) return Buffer.from(withCrc(seed.toString('latin1'), r(65536)).replace(/"crc":"(....):./, (_m, s) => `"crc":"${s}:${'g0123456789abcdef'[r(17)]}`));
  if (kind === 5) return Buffer.from(Array.from({ length: r(300) }, () => r(256))); // binary junk
  if (kind === 6) return Buffer.from(seed.toString('latin1').replace('req', r(2) ? 'cmd' : 'rq'));
  return b;
}

it(`answers each of ${LINES.toLocaleString()} hostile lines exactly once`, () => {
  const r = rng(12345);
  const seeds = corpusLines()
    .filter((l): l is string => typeof l === 'string' && !l.includes('binary.put'))
    .map((l) => Buffer.from(l));
  let out: number[] = [];
  const card = new Card(deterministicHost());
  const session = new SerialSession(card, (bytes) => {
    for (const b of bytes) out.push(b);
  });
  const failures: string[] = [];
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = 0;
  let prevCr = false;
  for (let i = 0; i < LINES; i++) {
    // Line content never holds '\n' or '\r' (either ends a line); 0x0A becomes 0x0B, 0x0D 0x0E.
    const line = Buffer.from(mutate(seeds[r(seeds.length)], r).map((b) => (b === 10 ? 11 : b === 13 ? 14 : b)));
    out = [];
    const ending = ['\n', '\r\n', '\r'][r(3)];
    session.receive(Buffer.concat([line, Buffer.from(ending)]));
    const got = Buffer.from(out).toString('utf8');
    // A lone '\n' right after a line ended by '\r' completes that CR LF: it is no line of its own.
    const want = prevCr && line.length === 0 && ending === '\n' ? 'none' : expected(line);
    prevCr = ending === '\r';
    const ok = want === 'crlf' ? got === '\r\n' : want === 'none' ? got === '' : /^\{[^\r\n]*\}\r\n$/.test(got) && isJson(got);
    if (!ok && failures.length < 5) failures.push(`${JSON.stringify(line.toString('latin1'))} -> ${JSON.stringify(got)}`);
    if (i % 10_000 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  expect(failures).toEqual([]);
  // Bounded memory: nothing accumulates per line (generous bound for GC timing).
  expect(heapPeak - heapBefore).toBeLessThan(64 * 1024 * 1024);
  // The card still answers normally afterwards.
  out = [];
  session.receive(Buffer.from('{"req":"card.version"}\n'));
  expect(Buffer.from(out).toString()).toContain('"version":"opencard-');
});
