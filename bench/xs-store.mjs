// The store on the XS engine (until the lead's XS lane takes over): a request smoke test, a
// restart, the consistency check, compute per note.add and heap slots for 10,000 queued notes.
// Run after a build: node bench/xs-store.mjs. Drives xsnap-worker directly (netstrings on fd 3/4)
// with the compiled CommonJS modules bundled into one script.
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { fileURLToPath } from 'url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../dist');
const mods = new Map();
function collect(file) {
  if (mods.has(file)) return;
  const src = fs.readFileSync(file, 'utf8');
  mods.set(file, src);
  for (const m of src.matchAll(/require\("(\.[^"]+)"\)/g)) {
    let p = path.resolve(path.dirname(file), m[1]);
    if (!p.endsWith('.js')) p = fs.existsSync(p + '.js') ? p + '.js' : p + '/index.js';
    collect(p);
  }
}
collect(root + '/bench/store-workload.js');
let bundle = 'const __defs = {};\nconst __cache = {};\n';
for (const [file, src] of mods) bundle += `__defs[${JSON.stringify(file)}] = function (module, exports, require) {\n${src}\n};\n`;
bundle += `
function __resolve(from, p) {
  const parts = from.split('/'); parts.pop();
  for (const seg of p.split('/')) { if (seg === '..') parts.pop(); else if (seg !== '.') parts.push(seg); }
  let f = parts.join('/');
  if (__defs[f + '.js']) return f + '.js';
  if (__defs[f]) return f;
  return f + '/index.js';
}
globalThis.__load = __load;
function __load(file) {
  if (__cache[file]) return __cache[file].exports;
  const module = { exports: {} };
  __cache[file] = module;
  __defs[file](module, module.exports, (p) => __load(__resolve(file, p)));
  return module.exports;
}
`;
const bin = path.resolve(here, '../node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker');
const child = spawn(bin, ['-l', '0'], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
const toXs = child.stdio[3];
const fromXs = child.stdio[4];
let buf = Buffer.alloc(0);
let waiting = null;
fromXs.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const colon = buf.indexOf(58);
    if (colon < 0) return;
    const n = Number(buf.subarray(0, colon).toString());
    if (buf.length < colon + 1 + n + 1) return;
    const msg = buf.subarray(colon + 1, colon + 1 + n).toString('latin1');
    buf = buf.subarray(colon + 2 + n);
    const w = waiting; waiting = null; w(msg);
  }
});
const worker = {
  evaluate: (code) => new Promise((res) => {
    waiting = (msg) => {
      if (msg[0] === '!') { console.log('XS error:', msg); res({}); return; }
      const meter = msg.slice(1).split('\x01')[0];
      res({ meterUsage: JSON.parse(meter) });
    };
    const body = Buffer.from('e' + code, 'utf8');
    toXs.write(Buffer.concat([Buffer.from(body.length + ':'), body, Buffer.from(',')]));
  }),
  close: async () => child.kill(),
};
const r0 = await worker.evaluate(bundle);
console.log('bundle', JSON.stringify(r0));
const r1 = await worker.evaluate(`
  globalThis.W = __load(${JSON.stringify(root + '/bench/store-workload.js')});
  const RF = __load(${JSON.stringify(root + '/hosts/node/ram-flash.js')}).RamFlash;
  const Card = __load(${JSON.stringify(root + '/src/card.js')}).Card;
  const flash = new RF({ size: 64 * 4096 });
  const card = new Card(W.benchHost(flash));
  const say = (r) => print(r + ' -> ' + card.request(r).text);
  say('{"req":"note.add","file":"x.db","note":"a","body":{"v":1}}');
  say('{"req":"note.add","body":{"temp":21.5}}');
  say('{"req":"note.changes","file":"x.db","tracker":"t"}');
  say('{"req":"env.set","name":"a","text":"1"}');
  say('{"req":"env.get"}');
  W.queueNotes(card, 3000);
  const again = new Card(W.benchHost(flash));
  print('after restart: ' + again.request('{"req":"file.changes"}').text);
  print('check: ' + JSON.stringify(again.store.check()));
`);
console.log('smoke meter', JSON.stringify(r1.meterUsage));
const mk = `new (__load(${JSON.stringify(root + '/src/card.js')}).Card)(W.benchHost(new (__load(${JSON.stringify(root + '/hosts/node/ram-flash.js')}).RamFlash)({ size: 256 * 4096 })))`;
await worker.evaluate(`globalThis.WARM = W.tenThousandNotes(); globalThis.WARM = undefined; gc();`);
const g0 = await worker.evaluate(`gc();`);
const a = await worker.evaluate(`globalThis.EMPTY = ${mk}; gc();`);
const a2 = await worker.evaluate(`gc();`);
const b = await worker.evaluate(`globalThis.FULL = W.tenThousandNotes(); gc();`);
const b2 = await worker.evaluate(`gc();`);
console.log('heap slots: base', g0.meterUsage.currentHeapCount, 'with empty card', a2.meterUsage.currentHeapCount, 'plus a 10k-note card', b2.meterUsage.currentHeapCount);
console.log('compute per add', (b.meterUsage.compute / 10000).toFixed(0));
await worker.close();
