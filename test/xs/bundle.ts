// Bundles compiled CommonJS modules (dist/src and the XS harness) into one script the XS
// engine can evaluate: a tiny module registry, no Node at run time.
import * as fs from 'fs';
import * as path from 'path';

const DIST = path.resolve(__dirname, '../..');

function collect(dir: string, into: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) collect(full, into);
    else if (entry.name.endsWith('.js')) into.push(full);
  }
}

const PRELUDE = `
var __modules = {};
var __cache = {};
function __resolve(from, spec) {
  var parts = from.split('/'); parts.pop();
  var segs = spec.split('/');
  for (var i = 0; i < segs.length; i++) {
    if (segs[i] === '..') parts.pop(); else if (segs[i] !== '.') parts.push(segs[i]);
  }
  var id = parts.join('/');
  if (__modules[id + '.js']) return id + '.js';
  if (__modules[id + '/index.js']) return id + '/index.js';
  throw new Error('bundle: cannot resolve ' + spec + ' from ' + from);
}
function __load(id) {
  if (__cache[id]) return __cache[id].exports;
  var module = { exports: {} };
  __cache[id] = module;
  __modules[id](module, module.exports, function (spec) { return __load(__resolve(id, spec)); });
  return module.exports;
}
`;

/** One script defining every module of the core, the XS harness and `extra` (paths under dist,
 * e.g. 'bench/store-workload.js'); `globalThis.load(id)` loads one, e.g. 'test/xs/harness.js'. */
export function bundle(extra: readonly string[] = []): string {
  const files: string[] = [];
  collect(path.join(DIST, 'src'), files);
  for (const id of ['test/xs/harness.js', 'test/xs/sync-harness.js', ...extra]) files.push(path.join(DIST, id));
  let out = PRELUDE;
  for (const file of files.sort()) {
    const id = path.relative(DIST, file).split(path.sep).join('/');
    const code = fs.readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '');
    out += `__modules[${JSON.stringify(id)}] = function (module, exports, require) {\n${code}\n};\n`;
  }
  return out + 'globalThis.load = __load;\n';
}
