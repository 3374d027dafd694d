/** The NoteHub publishing API (/api/note, version 1.3) and its pages. */
import { createHash } from 'node:crypto';
import { startHub, type RunningHub } from '../../hub/server';
import { call, cli, removeDir, tempDir } from './helpers';

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');
const form = (o: Record<string, string>): string => new URLSearchParams(o).toString();
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('NoteHub publishing API', () => {
  let h: RunningHub;
  let dir: string;
  let psk: string;
  let now = Date.UTC(2014, 0, 3, 12);
  beforeAll(async () => {
    dir = tempDir('publish');
    h = await startHub({ dataDir: dir, port: 0, log: () => undefined, logLevel: 'silent', now: () => now });
    psk = (await h.hub.publishing.createPublisher('notepadPlugin', 'Notepad Plugin')).psk;
  });
  afterAll(async () => { await h.close(); removeDir(dir); });

  const publish = (note: string, extra: Record<string, string> = {}) =>
    call(`${h.url}/api/note`, null, 'POST', form({ note, pid: 'notepadPlugin', signature: md5(`notepadPlugin${psk}${note}`), version: '1.3', ...extra }), FORM);

  it('publishes, reads and updates a note with correct signatures', async () => {
    const note = '# Lorem Ipsum.\n\nDolor *sit* amet.';
    const password = md5('secret');
    const p = await publish(note, { password });
    expect(p.status).toBe(200);
    expect(p.body).toEqual({
      noteID: '2014/1/3/lorem-ipsum', longURL: `${h.url}/2014/1/3/lorem-ipsum`, shortURL: expect.stringMatching(/^http:\/\/.+\/[0-9a-z]{5}$/),
      status: { success: true, comment: '' },
    });
    const g = await call(`${h.url}/api/note?noteID=${encodeURIComponent('2014/1/3/lorem-ipsum')}&version=1.3`, null);
    expect(g.body).toEqual({
      note, title: 'Lorem Ipsum.', longURL: p.body.longURL, shortURL: p.body.shortURL,
      statistics: { published: '2014-1-3', views: 0 }, status: { success: true, comment: '' }, publisher: 'Notepad Plugin',
    });

    now = Date.UTC(2014, 0, 12, 9);
    const edited = '# Lorem Ipsum.\n\nNew text.';
    const sig = md5(`notepadPlugin${psk}2014/1/3/lorem-ipsum${edited}${password}`);
    const u = await call(`${h.url}/api/note`, null, 'PUT', form({ noteID: '2014/1/3/lorem-ipsum', note: edited, pid: 'notepadPlugin', signature: sig, password, version: '1.3' }), FORM);
    expect(u.body).toEqual({ longURL: p.body.longURL, shortURL: p.body.shortURL, status: { success: true, comment: '' } });
    const g2 = await call(`${h.url}/api/note?noteID=2014/1/3/lorem-ipsum&version=1.3`, null);
    expect(g2.body.note).toBe(edited);
    expect(g2.body.statistics).toEqual({ published: '2014-1-3', edited: '2014-1-12', views: 0 });

    // a second note with the same title gets its own ID; theme and fonts only change the URLs
    now = Date.UTC(2014, 0, 3, 13);
    const p2 = await publish('Lorem ipsum', { theme: 'dark', 'text-font': 'Roboto' });
    expect(p2.body.noteID).toBe('2014/1/3/lorem-ipsum-2');
    expect(p2.body.longURL).toBe(`${h.url}/2014/1/3/lorem-ipsum-2?theme=dark&text-font=Roboto`);
  });

  it('refuses wrong signatures, passwords, publishers and versions with status.success false', async () => {
    const note = 'Refused note';
    const bad = await call(`${h.url}/api/note`, null, 'POST', form({ note, pid: 'notepadPlugin', signature: md5(`notepadPluginWRONG${note}`), version: '1.3' }), FORM);
    expect(bad.status).toBe(403);
    expect(bad.body.status).toEqual({ success: false, comment: 'signature mismatch' });
    expect((await publish(note, { version: '' })).body.status).toEqual({ success: false, comment: 'the version parameter is required' });
    expect((await publish(note, { version: '9.9' })).body.status).toMatchObject({ success: false });
    const unknown = await call(`${h.url}/api/note`, null, 'POST', form({ note, pid: 'nobody', signature: md5(`nobody${psk}${note}`), version: '1.3' }), FORM);
    expect(unknown.body.status).toEqual({ success: false, comment: 'unknown or revoked publisher ID' });

    const password = md5('pw');
    const p = await publish('Editable note', { password });
    const id = p.body.noteID as string;
    const put = (pw: string, signPw = pw) => call(`${h.url}/api/note`, null, 'PUT', form({
      noteID: id, note: 'changed', pid: 'notepadPlugin', signature: md5(`notepadPlugin${psk}${id}changed${signPw}`), password: pw, version: '1.3',
    }), FORM);
    expect((await put(md5('other'))).body.status).toEqual({ success: false, comment: 'password mismatch' });
    expect((await put(password, md5('other'))).body.status).toEqual({ success: false, comment: 'signature mismatch' });
    const none = await call(`${h.url}/api/note?noteID=2099/1/1/nothing&version=1.3`, null);
    expect(none.status).toBe(404);
    expect(none.body.status).toMatchObject({ success: false });
    // a note published without a password cannot be edited
    const open = await publish('No password note');
    const oid = open.body.noteID as string;
    const r = await call(`${h.url}/api/note`, null, 'PUT', form({
      noteID: oid, note: 'x', pid: 'notepadPlugin', signature: md5(`notepadPlugin${psk}${oid}x${md5('')}`), password: md5(''), version: '1.3',
    }), FORM);
    expect(r.body.status).toEqual({ success: false, comment: 'password mismatch' });
    expect((await call(`${h.url}/api/note?noteID=${oid}&version=1.3`, null)).body.note).toBe('No password note');
  });

  it('serves pages at the long and short URLs, counts views, and never passes raw HTML or script links', async () => {
    const note = '# Page <b>title</b>\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) and [ok](https://example.com/)\n\n**bold**';
    const p = await publish(note);
    const long = await fetch(p.body.longURL as string);
    expect(long.status).toBe(200);
    expect(long.headers.get('content-type')).toMatch(/^text\/html/);
    expect(long.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await long.text();
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<a href="https://example.com/">ok</a>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script|<img|<b>|javascript:/i);
    expect(html).toContain('<title>Page &lt;b&gt;title&lt;/b&gt;</title>');
    const short = await fetch(p.body.shortURL as string);
    expect(await short.text()).toContain('<span class="views">2</span> views');
    const g = await call(`${h.url}/api/note?noteID=${p.body.noteID as string}&version=1.3`, null);
    expect((g.body.statistics as Record<string, unknown>).views).toBe(2);
    expect((await fetch(`${h.url}/2014/1/3/no-such-note`)).status).toBe(404);
    expect((await fetch(`${h.url}/zzzzz`)).status).toBe(404);
  });

  it('manages publishers through the API: a user token registers a PID and gets a PSK, and can revoke it', async () => {
    const tok = h.bootstrap!.token;
    expect((await call(`${h.url}/v1/publishers`, null, 'POST', { pid: 'apiPub' })).status).toBe(401);
    expect((await call(`${h.url}/v1/publishers`, tok, 'POST', { pid: 'x'.repeat(17) })).status).toBe(400);
    const r = await call(`${h.url}/v1/publishers`, tok, 'POST', { pid: 'apiPub', description: 'API publisher' });
    expect(r.status).toBe(200);
    const key = r.body.psk as string;
    const note = 'From the API publisher';
    const send = () => call(`${h.url}/api/note`, null, 'POST', form({ note, pid: 'apiPub', signature: md5(`apiPub${key}${note}`), version: '1.3' }), FORM);
    expect((await send()).body.status).toEqual({ success: true, comment: '' });
    expect((await call(`${h.url}/v1/publishers/apiPub`, tok, 'DELETE')).status).toBe(200);
    expect((await send()).body.status).toEqual({ success: false, comment: 'unknown or revoked publisher ID' });
  });

  it('manages publishers through the CLI: a generated PSK, revocable', async () => {
    const d = tempDir('publish-cli');
    try {
      const out = await cli(['publisher', 'create', '--data', d, '--pid', 'cliPub', '--label', 'CLI publisher']);
      const m = /psk=(\S+)/.exec(out);
      expect(m).not.toBeNull();
      await expect(cli(['publisher', 'create', '--data', d, '--pid', 'x'.repeat(17)])).rejects.toThrow(/PID/);
      expect(await cli(['publisher', 'revoke', '--data', d, '--pid', 'cliPub'])).toBe('revoked');
    } finally { removeDir(d); }
    // revoked: refused over the API
    await h.hub.publishing.revokePublisher('notepadPlugin');
    expect((await publish('After revocation')).body.status).toEqual({ success: false, comment: 'unknown or revoked publisher ID' });
  });
});
