/**
 * Bundles the dashboard (dashboard/app.jsx: Preact + uPlot) into dist/dashboard/app.js and
 * app.css with esbuild. Run by `npm run build` (and so by `npm start`, `npm test` and prepare).
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { DASHBOARD_DIR } from './dashboard';

export async function buildDashboard(): Promise<void> {
  await build({
    entryPoints: [join(__dirname, '..', '..', 'dashboard', 'app.jsx')],
    outfile: join(DASHBOARD_DIR, 'app.js'),
    bundle: true, minify: true, format: 'iife', target: 'es2020', logLevel: 'warning',
    jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none',
  });
}

if (require.main === module) {
  buildDashboard().catch((e: unknown) => { process.stderr.write(`build-dashboard: ${String(e)}\n`); process.exit(1); });
}
