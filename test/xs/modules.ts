// The core as XS loads it on a device: ES modules named as mcconfig names them ("src/card",
// no extension), resolved by XS's own module loader (@agoric/xsnap's module command), so a
// directory import or a missing module fails here as it fails at boot on a board. Built-ins
// are frozen first, as they are after Moddable's preload.
//
// `tsc -p tsconfig.xs.json` (npm run build) compiles the core and the XS harnesses to
// dist/xs-modules; moduleTree() lays them out under their module names with one entry module
// that installs `globalThis.load(name)`, e.g. load('test/xs/harness').runStream(...).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const COMPILED = path.resolve(__dirname, '../../xs-modules');

function collect(dir: string, into: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) collect(full, into);
    else if (entry.name.endsWith('.js')) into.push(full);
  }
}

/** Every built-in reachable from the global object, frozen (what preload does to them). */
export const FREEZE_BUILTINS = `(() => {
  const seen = new Set([globalThis]); // the global object itself stays open, as on a device
  const freeze = (o) => {
    if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if ('value' in d) freeze(d.value);
      else { freeze(d.get); freeze(d.set); }
    }
    freeze(Object.getPrototypeOf(o));
  };
  for (const name of Object.getOwnPropertyNames(globalThis)) freeze(globalThis[name]);
})(); new ArrayBuffer(0)`;

let tree: string | undefined;

/** The module tree in a temporary directory (once per process); returns the entry's path. */
export function moduleTree(): string {
  if (tree) return tree;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opencard-xs-'));
  const files: string[] = [];
  collect(COMPILED, files);
  const names = files.map((f) => path.relative(COMPILED, f).split(path.sep).join('/').replace(/\.js$/, '')).sort();
  for (const name of names) {
    const target = path.join(dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(COMPILED, name + '.js'), target);
  }
  const entry = [
    ...names.map((n, i) => `import * as m${i} from './${n}';`),
    `const modules = { ${names.map((n, i) => `${JSON.stringify(n)}: m${i}`).join(', ')} };`,
    `globalThis.load = (name) => {`,
    `  const m = modules[name];`,
    `  if (!m) throw new Error('no module ' + name);`,
    `  return m;`,
    `};`,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'xs-lane-entry'), entry + '\n');
  return (tree = path.join(dir, 'xs-lane-entry'));
}
