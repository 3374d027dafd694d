// Requests per second through framing + envelope + dispatch on Node, and XS `compute` per
// request from the XS lane. Run: npm run build && node dist/bench/wire.js
import { base64Encode } from '../src/util/base64';

import { withCrc } from '../test/xs/corpus';
import { benchSession } from '../test/xs/harness';
import { XsEngine } from '../test/xs/xsnap';

const REQUESTS: Record<string, string> = {
  'card.version': '{"req":"card.version"}\n',
  'hub.get': '{"req":"hub.get"}\n',
  'hub.get + crc': withCrc('{"req":"hub.get"}', 1) + '\n',
  'bad JSON': '{"req":"hub.get"\n',
};

function nodeRate(line: string, n: number): number {
  const send = benchSession();
  const bytes = new Uint8Array(Buffer.from(line));
  for (let i = 0; i < 2000; i++) send(bytes); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) send(bytes);
  return n / ((performance.now() - t0) / 1000);
}

async function xsCompute(xs: XsEngine, line: string, n: number): Promise<number> {
  const b64 = base64Encode(Buffer.from(line));
  const run = (count: number) =>
    xs.evaluate(`{ const line = load('src/util/base64').base64Decode(${JSON.stringify(b64)});
      for (let i = 0; i < ${count}; i++) globalThis.__send(line); new ArrayBuffer(0); }`);
  const one = await run(1);
  const many = await run(n + 1);
  return (many.compute - one.compute) / n;
}

async function main(): Promise<void> {
  const xs = new XsEngine();
  await xs.loadCore();
  await xs.evaluate(`globalThis.__send = load('test/xs/harness').benchSession(); new ArrayBuffer(0)`);
  console.log('| request | Node requests/s | XS compute per request |');
  console.log('|---|---:|---:|');
  for (const [name, line] of Object.entries(REQUESTS)) {
    const rate = nodeRate(line, 100_000);
    const compute = await xsCompute(xs, line, 200);
    console.log(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${Math.round(compute).toLocaleString('en-US')} |`);
  }
  xs.close();
}

void main();
