// Template codec under the XS engine: metered compute and allocation per record.
//   npx tsc -p tsconfig.json && node dist/bench/template-xs.js [notes]
// `compute` is XS's deterministic instruction-like count (REFERENCE.md section 6).

import { XsEngine, returnJson } from '../test/xs/xsnap';

const COUNT = Number(process.argv[2] ?? 2000);
const HINTS = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };

async function main(): Promise<void> {
  const xs = new XsEngine();
  try {
    await xs.loadCore();
    await xs.evaluate(`
      const t = load("src/template/index");
      globalThis.tpl = t.compileTemplate(${JSON.stringify(HINTS)});
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const r2 = (v) => Math.round(v * 100) / 100;
      globalThis.bodies = [];
      for (let i = 0; i < ${COUNT}; i++) bodies.push({ temp: r2(15 + random() * 15), humidity: Math.floor(random() * 101),
        pressure: r2(950 + random() * 100), battery: r2(3 + random() * 1.2), motion: random() < 0.5,
        status: ['ok', 'low', 'fault'][Math.floor(random() * 3)] });
      globalThis.records = bodies.map((b) => t.packNote(tpl, b, undefined, { time: 1763700000 }));
      globalThis.opts = { time: 1763700000 };
    `);
    const timed = async (script: string) => {
      const start = process.hrtime.bigint();
      const reply = await xs.evaluate(script);
      return { ...reply, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
    };
    const empty = await timed(`for (let i = 0; i < ${COUNT}; i++) { bodies[i]; opts; }`);
    const pack = await timed(`{ const t = load("src/template/index"); for (let i = 0; i < ${COUNT}; i++) t.packNote(tpl, bodies[i], undefined, opts); }`);
    const unpack = await timed(`{ const t = load("src/template/index"); for (let i = 0; i < ${COUNT}; i++) t.unpackNote(tpl, records[i]); }`);
    const json = await timed(`for (let i = 0; i < ${COUNT}; i++) JSON.parse(JSON.stringify({ body: bodies[i], time: 1763700000 }));`);
    const check = await xs.evaluate(returnJson('load("src/template/index").unpackNote(tpl, records[0])'));
    const per = (n: number) => Math.round((n - empty.compute) / COUNT).toLocaleString('en-US').padStart(8);
    const rate = (r: { seconds: number }) => Math.round(COUNT / r.seconds).toLocaleString('en-US').padStart(9);
    console.log(`XS (xsnap-worker), ${COUNT} sensor notes; first note read back: ${check.text}`);
    console.log(`                                   compute/record   records/s on this machine`);
    console.log(`packNote                           ${per(pack.compute)}        ${rate(pack)}`);
    console.log(`unpackNote                         ${per(unpack.compute)}        ${rate(unpack)}`);
    console.log(`JSON.stringify + parse (reference) ${per(json.compute)}        ${rate(json)}   (native code: few metered steps)`);
  } finally {
    xs.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
