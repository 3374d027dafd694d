// npm run bench: every benchmark in turn. Each prints a Markdown table for docs/PERFORMANCE.md.
import { spawnSync } from 'child_process';
import * as path from 'path';

const BENCHES = ['wire', 'store', 'xs-store', 'template', 'template-store', 'template-xs', 'sync-codec', 'sync', 'dfu', 'xs-sync', 'listener', 'hub', 'cluster', 'noisy', 'modem'];
for (const name of BENCHES) {
  process.stdout.write(`\n## ${name}\n\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
