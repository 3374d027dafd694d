// Just enough to run the compiled core under the XS engine (@agoric/xsnap) from a benchmark:
// bundle dist/src into one script, evaluate scripts, read the `compute` meter.
// (The project's full XS lane lives in test/xs; this stays self-contained for bench/sync-codec.)
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable, Writable } from 'stream';

const DIST = path.resolve(__dirname, '..');

export function bundleCore(): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.js')) files.push(full);
    }
  };
  walk(path.join(DIST, 'src'));
  let out = `var __m = {}, __c = {};
function __res(from, spec) {
  var p = from.split('/'); p.pop();
  var s = spec.split('/');
  for (var i = 0; i < s.length; i++) { if (s[i] === '..') p.pop(); else if (s[i] !== '.') p.push(s[i]); }
  var id = p.join('/');
  if (__m[id + '.js']) return id + '.js';
  if (__m[id + '/index.js']) return id + '/index.js';
  throw new Error('cannot resolve ' + spec + ' from ' + from);
}
function __load(id) {
  if (__c[id]) return __c[id].exports;
  var module = { exports: {} }; __c[id] = module;
  __m[id](module, module.exports, function (spec) { return __load(__res(id, spec)); });
  return module.exports;
}
`;
  for (const f of files.sort()) {
    const id = path.relative(DIST, f).split(path.sep).join('/');
    const code = fs.readFileSync(f, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '');
    out += `__m[${JSON.stringify(id)}] = function (module, exports, require) {\n${code}\n};\n`;
  }
  return out + 'globalThis.__load = __load;\n';
}

export class XsLite {
  #proc: ChildProcess;
  #buffer = Buffer.alloc(0);
  #waiting: ((m: Buffer) => void)[] = [];

  constructor() {
    const pkg = path.dirname(require.resolve('@agoric/xsnap/package.json'));
    const bin = path.join(pkg, 'xsnap-native/xsnap/build/bin', process.platform === 'darwin' ? 'mac' : 'lin', 'release/xsnap-worker');
    this.#proc = spawn(bin, ['sync-bench'], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
    (this.#proc.stdio[4] as Readable).on('data', (d: Buffer) => this.#onData(d));
  }

  /** Evaluate `script` (its completion value must be an ArrayBuffer); resolves to the compute meter and result. */
  run(script: string): Promise<{ compute: number; result: Uint8Array }> {
    const body = Buffer.from('e' + script, 'utf8');
    const fd3 = this.#proc.stdio[3] as Writable;
    fd3.write(`${body.length}:`);
    fd3.write(body);
    fd3.write(',');
    return new Promise((resolve, reject) => {
      this.#waiting.push((m) => {
        if (m[0] === 0x21) return reject(new Error('XS: ' + m.subarray(1).toString()));
        const sep = m.indexOf(1);
        const meter = JSON.parse(m.subarray(1, sep).toString()) as { compute: number };
        resolve({ compute: meter.compute, result: new Uint8Array(m.subarray(sep + 1)) });
      });
    });
  }

  close(): void {
    this.#proc.kill();
  }

  #onData(d: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, d]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.#buffer.subarray(0, colon).toString());
      if (this.#buffer.length < colon + 2 + len) return;
      const m = this.#buffer.subarray(colon + 1, colon + 1 + len);
      this.#buffer = this.#buffer.subarray(colon + 2 + len);
      this.#waiting.shift()?.(m);
    }
  }
}
