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

maybe('a notehub route', () => {
  it("publishes a device's events as pages on a NoteHub API server (this hub), which a browser opens", async () => {
    const dir = tempDir('publish-route');
    const h = await startHub({ dataDir: dir, port: 0, log: () => undefined, logLevel: 'silent', delivery: { pollMs: 50 } });
    const browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const tok = h.bootstrap!.token;
      const P = `${h.url}/v1/projects/${h.bootstrap!.projectUID}`;
      const { psk } = await h.hub.publishing.createPublisher('fleetPages', 'Fleet pages');
      // a wrong PSK: the server refuses, the delivery stays queued with the server's reason
      const bad = await call(`${P}/routes`, tok, 'POST', { type: 'notehub', label: 'bad', notehub: { url: `${h.url}/api/note`, pid: 'fleetPages', psk: 'wrong' } });
      expect(bad.status).toBe(200);
      const r = await call(`${P}/routes`, tok, 'POST', { type: 'notehub', label: 'pages', notehub: { url: `${h.url}/api/note`, pid: 'fleetPages', psk, filter: { files: ['data.qo'] } } });
      expect(r.body).toMatchObject({ type: 'notehub', notehub: { url: `${h.url}/api/note`, pid: 'fleetPages' } });
      expect(JSON.stringify(r.body)).not.toContain(psk);
      expect((await call(`${P}/devices/dev:864475040123456/provision`, tok, 'POST', { product_uid: h.bootstrap!.productUID, device_sn: 'tank-7' })).status).toBe(200);
      const ev = await call(`${P}/devices/dev:864475040123456/events`, tok, 'POST', { file: 'data.qo', body: { temp: 21.5, note: '<script>x()</script>' } });
      expect(ev.status).toBe(200);

      // wait until the good route's delivery is done (the bad one stays pending)
      let url: string | undefined;
      for (let i = 0; i < 200 && !url; i++) {
        const d = new Date();
        const id = `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()}/tank-7-data-qo`;
        const g = await call(`${h.url}/api/note?noteID=${id}&version=1.3`, null);
        if (g.status === 200) url = g.body.longURL as string;
        else await new Promise((ok) => setTimeout(ok, 50));
      }
      expect(url).toBeDefined();
      expect((await h.hub.store.deliveryStats()).pending).toBe(1);

      const page = await browser.newPage();
      await page.goto(url!);
      expect(await page.textContent('h1')).toBe('tank-7 data.qo');
      const code = JSON.parse((await page.textContent('pre code'))!) as Record<string, unknown>;
      expect(code).toEqual({ temp: 21.5, note: '<script>x()</script>' });
      expect(await page.locator('script').count()).toBe(0);
    } finally {
      await browser.close();
      await h.close();
      removeDir(dir);
    }
  });
});
