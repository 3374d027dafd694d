// The import rules of docs/ARCHITECTURE.md ("Layers"), checked on the source: no cycles, and
// each layer imports only what the table there allows.
import { cycles, importGraph } from './support/imports';
import { violations } from './support/import-rules';

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
