/** thingsHub's REST conventions: POST /auth/token, bearer tokens that expire with the session, `error` in every error body, 403 and 503. */
import { startHub, type RunningHub } from '../../hub/server';
import { call, removeDir, tempDir } from './helpers';

describe('thingsHub conventions', () => {
  let h: RunningHub;
  let dir: string;
  let now = Date.UTC(2018, 10, 15, 21, 28, 10);
  beforeAll(async () => {
    dir = tempDir('thingshub');
    h = await startHub({ dataDir: dir, port: 0, log: () => undefined, logLevel: 'silent', now: () => now, sessionTtl: 7 * 86400 });
  });
  afterAll(async () => { await h.close(); removeDir(dir); });

  it('logs in with /auth/token; the token reads projects until the session expires', async () => {
    const r = await call(`${h.url}/auth/token`, null, 'POST', { username: 'admin', password: h.bootstrap!.password });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      User: {
        country: '', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), email: '', full_name: '', id: expect.any(Number),
        last_login_at: '2018-11-15T21:28:10.000Z', password: '', updated_at: '2018-11-15T21:28:10.000Z', username: 'admin',
      },
      expires: '2018-11-22T21:28:10.000Z', token: expect.any(String),
    });
    const token = r.body.token as string;
    const p = await call(`${h.url}/v1/projects`, token);
    expect(p.status).toBe(200);
    expect((p.body.projects as unknown[]).length).toBe(1);

    now += 7 * 86400 * 1000;
    const late = await call(`${h.url}/v1/projects`, token);
    expect(late.status).toBe(401);
    expect(late.body).toEqual({ err: 'token expired', code: 401, status: 'Unauthorized', error: 'token expired' });
  });

  it('answers a wrong password with 401 and `error`', async () => {
    const r = await call(`${h.url}/auth/token`, null, 'POST', { username: 'admin', password: 'wrong' });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ err: 'invalid username or password', code: 401, status: 'Unauthorized', error: 'invalid username or password' });
  });

  it('answers 403 when a logged-in user lacks access to the project', async () => {
    await h.hub.accounts.createUser('guest', 'guest-password-1');
    const t = (await call(`${h.url}/auth/token`, null, 'POST', { username: 'guest', password: 'guest-password-1' })).body.token as string;
    const r = await call(`${h.url}/v1/projects/${h.bootstrap!.projectUID}/devices`, t);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 403, error: expect.stringContaining('access') });
  });
});

describe('database unavailable', () => {
  it('answers 503 with `error` when the store cannot answer', async () => {
    const dir = tempDir('thingshub-503');
    const h = await startHub({ dataDir: dir, port: 0, log: () => undefined, logLevel: 'silent' });
    try {
      const token = h.bootstrap!.token;
      expect((await call(`${h.url}/v1/projects`, token)).status).toBe(200);
      await h.hub.store.close();
      const r = await call(`${h.url}/v1/projects`, token);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ err: 'database unavailable', code: 503, status: 'Service Unavailable', error: 'database unavailable' });
      expect(r.headers.get('retry-after')).toBe('5');
    } finally { await h.close(); removeDir(dir); }
  });
});
