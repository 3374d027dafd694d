// The import rules of docs/ARCHITECTURE.md ("Layers") as data, and the check (test/imports.test.ts).
import type { ImportGraph } from './imports';

/** Who may import what: the first rule whose `files` matches a file applies; a file may import
 * the targets any of `may` matches (its own directory is not implied). */
interface Rule {
  files: RegExp;
  may: readonly RegExp[];
}

const BASE = [/^src\/(json|errors|host|version|world)\.ts$/, /^src\/util\//];
const SYNC_PROTOCOL = /^src\/sync\/(?!engine\.ts|merge\.ts|control\.ts)[^/]+\.ts$/;

export const RULES: readonly Rule[] = [
  { files: /^src\/util\//, may: [/^src\/util\//] },
  { files: /^src\/(json|errors|host|version|world)\.ts$/, may: BASE },
  { files: /^src\/crypto\//, may: [/^src\/crypto\//, ...BASE] },
  { files: /^src\/rules\//, may: [/^src\/rules\//, ...BASE] },
  { files: /^src\/template\//, may: [/^src\/template\//, /^src\/rules\//, ...BASE] },
  { files: /^src\/settings\.ts$/, may: BASE },
  { files: SYNC_PROTOCOL, may: [SYNC_PROTOCOL, /^src\/(crypto|rules|template)\//, ...BASE] },
  { files: /^src\/store\//, may: [/^src\/store\//, /^src\/settings\.ts$/, ...BASE] },
  { files: /^src\/notefile\//, may: [/^src\/notefile\//, /^src\/store\//, SYNC_PROTOCOL, /^src\/(rules|template)\//, ...BASE] },
  { files: /^src\/sync\/control\.ts$/, may: [/^src\/sync\/web\.ts$/, ...BASE] },
  { files: /^src\/dfu\//, may: [/^src\/dfu\//, SYNC_PROTOCOL, /^src\/settings\.ts$/, ...BASE] },
  { files: /^src\/sync\/(engine|merge)\.ts$/, may: [/^src\/sync\//, /^src\/(notefile|store|crypto|rules|template|dfu)\//, /^src\/settings\.ts$/, ...BASE] },
  { files: /^src\/wire\//, may: [/^src\/wire\//, ...BASE] },
  { files: /^src\/sensing\//, may: [/^src\/sensing\//, /^src\/notefile\//, /^src\/sync\/control\.ts$/, /^src\/(rules|template)\//, /^src\/settings\.ts$/, ...BASE] },
  { files: /^src\/net\//, may: [/^src\/net\//, ...BASE] },
  { files: /^src\/requests\//, may: [/^src\/requests\//, /^src\/sensing\//, /^src\/notefile\//, SYNC_PROTOCOL, /^src\/sync\/control\.ts$/, /^src\/wire\/(binary|cobs)\.ts$/, /^src\/(rules|template|dfu)\//, /^src\/settings\.ts$/, ...BASE] },
  { files: /^src\/card\.ts$/, may: [/^src\//] },
  { files: /^hub\//, may: [/^hub\//, /^src\/(rules|crypto|util|template)\//, SYNC_PROTOCOL, /^src\/(json|errors|version)\.ts$/] },
  { files: /^hosts\/moddable\//, may: [/^hosts\/moddable\//, /^src\//] },
  { files: /^hosts\/node\//, may: [/^hosts\/node\//, /^src\//, /^hub\//] },
];

/** Imports that break a rule, as "from -> to". */
export function violations(g: ImportGraph, rules: readonly Rule[] = RULES): string[] {
  const out: string[] = [];
  for (const [file, targets] of g.edges) {
    const rule = rules.find((r) => r.files.test(file));
    if (!rule) {
      out.push(`${file}: no rule says what it may import`);
      continue;
    }
    for (const t of targets) if (!rule.may.some((m) => m.test(t))) out.push(`${file} -> ${t}`);
    // the card runs on XS and Node alike: no packages, no node: builtins, no host modules
    if (file.startsWith('src/')) for (const spec of g.external.get(file) ?? []) out.push(`${file} -> ${spec}`);
  }
  return out;
}

