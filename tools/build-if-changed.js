#!/usr/bin/env node
'use strict';
// `npm start`, `npm run sim|hub|moddable` and `prepare` (so npx notecard-sim works right after
// npm install) run this: `npm run build` only when a source is newer than the last build, and
// a word on stderr about what it is doing (stdout may be a card's --stdio line).
// Plain JavaScript because it runs before anything is compiled.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, 'dist', '.build-stamp');
const SKIP = new Set(['node_modules', 'dist', 'data', 'docs']);
const SOURCE = /\.(ts|tsx|js|jsx|mjs|cjs|json|css|html)$/;

/** The most recently modified source file under dir (directories named in SKIP and dot-directories left out). */
function newest(dir, best = { time: -1, file: '' }) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || (dir === ROOT && SKIP.has(e.name))) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest(p, best);
    else if (SOURCE.test(e.name)) {
      const t = fs.statSync(p).mtimeMs;
      if (t > best.time) { best.time = t; best.file = p; }
    }
  }
  return best;
}

function main(argv) {
  const say = (line) => process.stderr.write(`opencard: ${line}\n`);
  let built = -1;
  try { built = fs.statSync(STAMP).mtimeMs; } catch { /* never built */ }
  const changed = newest(ROOT);
  if (built >= changed.time && !argv.includes('--force')) {
    say('build is up to date (dist/)');
    return 0;
  }
  say(built < 0
    ? 'first build: compiling the TypeScript sources into dist/ (a minute or two) ...'
    : `${path.relative(ROOT, changed.file)} changed: rebuilding dist/ ...`);
  const started = Date.now();
  // npm_execpath is the npm that runs us; else the one on PATH
  const npm = process.env.npm_execpath;
  const r = npm && /\.[cm]?js$/.test(npm)
    ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    : spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], shell: process.platform === 'win32' });
  if (r.status !== 0) {
    say('build failed (see above)');
    return r.status || 1;
  }
  // The stamp takes the time the build started: a file saved during the build is seen next time.
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  fs.writeFileSync(STAMP, '');
  fs.utimesSync(STAMP, started / 1000, started / 1000);
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
module.exports = { main, newest, STAMP };
