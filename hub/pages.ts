/**
 * Published notes as HTML pages: Markdown through `marked`, with raw HTML in the source shown as
 * text (never passed through) and links or images only to http(s), mailto or relative targets, so
 * a note cannot run script in a reader's browser. The reply also carries a CSP that forbids script.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tokens } from 'marked';
import type { PublishedNoteRecord } from './store/types';
import { statDate } from './services/publishing';

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** http(s), mailto, or relative without a scheme (no javascript:, data:, vbscript:...). */
function safeUrl(href: string): boolean {
  const h = href.trim().toLowerCase();
  const colon = h.indexOf(':');
  if (colon < 0) return true;
  const slash = h.search(/[/?#]/);
  if (slash >= 0 && slash < colon) return true; // the colon is past the path start: relative
  return h.startsWith('http:') || h.startsWith('https:') || h.startsWith('mailto:');
}

// marked's package is ES modules only ("type": "module", so Node reads even its UMD build as one),
// and the hub is CommonJS, as is jest's loader: run the UMD build as the CommonJS script it is
function loadMarked(): typeof import('marked') {
  const file = join(dirname(require.resolve('marked/package.json')), 'lib', 'marked.umd.js');
  const mod = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('module', 'exports', readFileSync(file, 'utf8'))(mod, mod.exports);
  return mod.exports as typeof import('marked');
}
const { Marked } = loadMarked();

const md = new Marked({
  gfm: true,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string { return esc(token.text); },
    link(token: Tokens.Link): string | false { return safeUrl(token.href) ? false : esc(token.text); },
    image(token: Tokens.Image): string | false { return safeUrl(token.href) ? false : esc(token.text); },
  },
});

export function renderMarkdown(src: string): string {
  return md.parse(src, { async: false });
}

/** Forbids script and plugins outright, whatever got through the rendering. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; base-uri 'none'; form-action 'none'";

export function notePage(n: PublishedNoteRecord): string {
  const edited = statDate(n.edited);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(n.title)}</title>
<style>body{max-width:46em;margin:2em auto;padding:0 1em;font-family:system-ui,sans-serif;line-height:1.5}
footer{margin-top:3em;color:#666;font-size:.85em}pre{overflow:auto;background:#f4f4f4;padding:.5em}</style>
</head><body><article>
${renderMarkdown(n.note)}
</article>
<footer>published ${statDate(n.published)}${edited ? `, edited ${edited}` : ''} &middot; <span class="views">${n.views}</span> views</footer>
</body></html>
`;
}
