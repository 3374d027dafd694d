/** A published note opened in headless Chromium: the page renders, and no script in the note runs. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startHub, type RunningHub } from '../../hub/server';
import { call, removeDir, tempDir } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

// CI installs Chromium (.ci/run); a machine without it skips this file rather than failing
const maybe = existsSync(CHROMIUM) ? describe : describe.skip;

maybe('published notes in a browser', () => {
  let h: RunningHub;
  let dir: string;
  let browser: Browser;
  beforeAll(async () => {
    dir = tempDir('publish-browser');
    h = await startHub({ dataDir: dir, port: 0, log: () => undefined, logLevel: 'silent' });
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => { await browser?.close(); await h.close(); removeDir(dir); });

  it('renders the Markdown and runs none of the script a note carries', async () => {
    const { psk } = await h.hub.publishing.createPublisher('browserTest');
    const note = '# Sensor report\n\n| t | v |\n|---|---|\n| 1 | 2 |\n\n<script>window.pwned = 1</script>\n\n<img src="x" onerror="window.pwned = 2">\n\n[x](javascript:window.pwned=3)';
    const p = await call(`${h.url}/api/note`, null, 'POST', new URLSearchParams({ note, pid: 'browserTest', signature: md5(`browserTest${psk}${note}`), version: '1.3' }).toString(),
      { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(p.body.status).toEqual({ success: true, comment: '' });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(p.body.shortURL as string);
    expect(await page.title()).toBe('Sensor report');
    expect(await page.textContent('h1')).toBe('Sensor report');
    expect(await page.locator('table td').allTextContents()).toEqual(['1', '2']);
    await page.click('text=x').catch(() => undefined);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.locator('script, img').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
