// Run compiled core modules under the XS engine (the @agoric/xsnap worker), for tests and benches.
// The worker reads netstrings on fd 3 ("e<script>" evaluates) and answers on fd 4 with
// ".<meter JSON>\x01<result bytes>" (result: the script's completion value, if an ArrayBuffer)
// or "!<error>". A script's print() goes to the worker's stdout.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface XsReply {
  compute: number;
  allocate: number;
  /** The completion value's bytes as text (scripts end with an ArrayBuffer of JSON). */
  text: string;
}

function findWorkerBinary(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const bin = path.join(dir, 'node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/lin/release/xsnap-worker');
    if (fs.existsSync(bin)) return bin;
  }
  throw new Error('xsnap-worker not found (is @agoric/xsnap installed and built?)');
}

/**
 * One script defining globalThis.load(key) over CommonJS modules compiled by tsc, keyed by their
 * path under `distRoot` (e.g. "src/template/index.js"). Only relative requires are followed.
 */
export function bundle(distRoot: string, entries: string[]): string {
  const defs: string[] = [];
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const source = fs.readFileSync(path.join(distRoot, key), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    const map: Record<string, string> = {};
    for (const [, spec] of source.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
      const base = path.posix.join(path.posix.dirname(key), spec);
      const target = fs.existsSync(path.join(distRoot, `${base}.js`)) ? `${base}.js` : `${base}/index.js`;
      map[spec] = target;
      visit(target);
    }
    defs.push(`${JSON.stringify(key)}: [function (module, exports, require) {\n${source}\n}, ${JSON.stringify(map)}]`);
  };
  entries.forEach(visit);
  return `(function () {
const defs = {${defs.join(',\n')}};
const cache = {};
function load(key) {
  if (cache[key]) return cache[key].exports;
  const module = { exports: {} };
  cache[key] = module;
  const [fn, map] = defs[key];
  fn(module, module.exports, (spec) => {
    if (!map[spec]) throw new Error('xs bundle: cannot require ' + spec + ' from ' + key);
    return load(map[spec]);
  });
  return module.exports;
}
globalThis.load = load;
})();
`;
}

/** A script tail that turns `expr` (JSON-able) into the completion value, via the bundled utf8. */
export function returnJson(expr: string): string {
  return `load("src/util/utf8.js").utf8Encode(JSON.stringify(${expr})).buffer;`;
}

export class XsWorker {
  readonly #proc: ChildProcess;
  #input = Buffer.alloc(0);
  #pending: { resolve: (r: XsReply) => void; reject: (e: Error) => void }[] = [];
  output = '';

  constructor() {
    this.#proc = spawn(findWorkerBinary(), ['opencard'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe', 'pipe'] });
    this.#proc.stdout!.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    (this.#proc.stdio[4] as NodeJS.ReadableStream).on('data', (d: Buffer) => this.#receive(d));
    this.#proc.on('exit', () => {
      for (const p of this.#pending.splice(0)) p.reject(new Error('xsnap worker exited'));
    });
  }

  #receive(data: Buffer): void {
    this.#input = Buffer.concat([this.#input, data]);
    for (;;) {
      const colon = this.#input.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.#input.subarray(0, colon).toString());
      if (this.#input.length < colon + 1 + length + 1) return;
      const message = this.#input.subarray(colon + 1, colon + 1 + length);
      this.#input = this.#input.subarray(colon + 2 + length);
      const waiter = this.#pending.shift();
      if (!waiter) continue;
      if (message[0] !== 0x2e) {
        waiter.reject(new Error(`xs: ${message.subarray(1).toString()}`));
        continue;
      }
      const split = message.indexOf(1);
      const meter = JSON.parse(message.subarray(1, split).toString()) as { compute: number; allocate: number };
      waiter.resolve({ compute: meter.compute, allocate: meter.allocate, text: message.subarray(split + 1).toString() });
    }
  }

  /** Evaluate a script; its meter counts only this evaluation. */
  evaluate(script: string): Promise<XsReply> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      const body = Buffer.from(`e${script}`);
      (this.#proc.stdio[3] as NodeJS.WritableStream).write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
    });
  }

  close(): void {
    this.#proc.kill();
  }
}
