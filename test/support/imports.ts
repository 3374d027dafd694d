// The import graph of the project's own TypeScript (src/, hub/, hosts/), read from the source:
// every `import ... from`, `export ... from` and `import('...')` with a relative specifier,
// type-only imports included (they tie modules together as much as runtime ones).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root (this file is test/support/imports.ts, or its build in dist/). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function tsFiles(root: string, dir: string, out: string[]): void {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return;
  for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') tsFiles(root, rel, out);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Module specifiers a file names, comments removed. */
export function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const m of code.matchAll(SPECIFIER)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export interface ImportGraph {
  /** file (repo-relative, e.g. src/card.ts) -> the project files it imports */
  readonly edges: ReadonlyMap<string, readonly string[]>;
  /** file -> bare specifiers (packages, node: builtins, embedded:...) */
  readonly external: ReadonlyMap<string, readonly string[]>;
  /** Relative specifiers that name no .ts file (a directory, a missing module): "file: spec". */
  readonly unresolved: readonly string[];
}

export function importGraph(root = repoRoot(), dirs: readonly string[] = ['src', 'hub', 'hosts']): ImportGraph {
  const files: string[] = [];
  for (const d of dirs) tsFiles(root, d, files);
  const edges = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of files) {
    const local: string[] = [];
    const bare: string[] = [];
    for (const spec of specifiers(fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (!spec.startsWith('.')) {
        bare.push(spec);
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '') + '.ts';
      if (fs.existsSync(path.join(root, target))) local.push(target);
      else unresolved.push(`${file}: ${spec}`);
    }
    edges.set(file, local);
    external.set(file, bare);
  }
  return { edges, external, unresolved };
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}
