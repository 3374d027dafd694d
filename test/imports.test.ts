// The import rules of docs/ARCHITECTURE.md ("Layers"), checked on the source: no cycles, and
// each layer imports only what the table there allows.
import { cycles, importGraph } from './support/imports';
import { violations } from './support/import-rules';
import * as fs from 'fs';
import * as path from 'path';

describe('import graph of src/, hub/, hosts/', () => {
  const graph = importGraph();

  it('has no cycles', () => {
    expect(graph.edges.size).toBeGreaterThan(50);
    expect(cycles(graph.edges)).toEqual([]);
  });

  it('names files, never directories or missing modules', () => {
    expect(graph.unresolved).toEqual([]);
  });

  it('keeps the import rules of docs/ARCHITECTURE.md', () => {
    expect(violations(graph)).toEqual([]);
  });

  it("names every module a Moddable board's card imports in manifest.json (mcconfig builds only those)", () => {
    const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../manifest.json'), 'utf8'));
    const named = (patterns: Record<string, unknown>, file: string): boolean =>
      Object.values(patterns).some((p) => typeof p === 'string' && p.startsWith('./') && (p.endsWith('/*') ? path.dirname(file) === p.slice(2, -2) : file === `${p.slice(2)}.ts`));
    for (const platform of ['esp32', 'lin']) {
      const seen = new Set<string>();
      const visit = (file: string): void => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const next of graph.edges.get(file) ?? []) visit(next);
      };
      visit(`hosts/moddable/${platform}/board.ts`);
      visit('hosts/moddable/main.ts');
      const missing = [...seen].filter((f) => !named(manifest.modules, f) && !named(manifest.platforms[platform].modules, f));
      expect({ platform, missing }).toEqual({ platform, missing: [] });
    }
  });

  it('finds a cycle and a broken rule when there is one', () => {
    const edges = new Map(graph.edges);
    edges.set('src/util/utf8.ts', [...edges.get('src/util/utf8.ts')!, 'src/card.ts']);
    expect(cycles(edges).flat()).toEqual(expect.arrayContaining(['src/card.ts', 'src/util/utf8.ts']));
    expect(violations({ ...graph, edges })).toContain('src/util/utf8.ts -> src/card.ts');
  });

  it('reads every import form', () => {
    const { specifiers } = require('./support/imports') as typeof import('./support/imports');
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      'export { c } from "./c";',
      "export * from './d';",
      "import './e';",
      "const f = import('./f');",
      "import {\n  g,\n  h,\n} from './gh';",
      "// import { x } from './commented';",
      "/* export { y } from './block'; */",
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a', '../b', './c', './d', './e', './f', './gh']);
  });
});
