/**
 * Hostile devices and hostile tenants against the device listener (issue 10, hub defects 1-5):
 * a refusal that does not fit a tiny frame, a held TOFU handshake, a UID pre-provisioned by
 * another project, a product change, foreign or deleted auto-provisioning fleets. Each test
 * replays the attack over a real loopback socket with the scripted card of test/hub/card.ts.
 */
import { connect, type Socket } from 'node:net';
import * as nodeCrypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { startHub, DATABASE_FILE, type RunningHub } from '../../hub/server';
import { SqliteStore } from '../../hub/store/sqlite';
import { MIGRATIONS } from '../../hub/store/migrations';
import { CardSession } from '../../src/sync/session';
import { MIN_FRAME, templateVersion, type SyncMessage } from '../../src/sync/messages';
import { FrameOpener, FrameReader, FrameSealer } from '../../src/sync/frame';
import { CardState, syncOnce } from './card';
import { call, CLI, removeDir, spawnHub, tempDir } from './helpers';

type Data = Record<string, unknown>;
const quiet = { log: (): void => undefined };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const random = { bytes: (n: number): Uint8Array => new Uint8Array(nodeCrypto.randomBytes(n)) };

/** A TEMPLATE the hub refuses with a long text: the path of a bad hint, in two-byte characters. */
function badTemplate(card: CardState, file: string): void {
  const definition = utf8(JSON.stringify({ body: { ['é'.repeat(60)]: 99 }, length: 0 }));
  card.file(file).template = { definition, version: templateVersion(definition), body: {} };
}

let dir: string;
let h: RunningHub;
let token: string;
let project: string;
let product: string;
let n = 0;
const port = (): number => h.devicePort!;
const newCard = (p = product): CardState => new CardState(`dev:attack${++n}`, p);
const api = (path: string, method = 'GET', body?: unknown, tok = token) => call(`${h.url}/v1${path}`, tok, method, body);
const logged: string[] = [];

beforeAll(async () => {
  dir = tempDir('attacks');
  h = await startHub({ dataDir: dir, port: 0, devicePort: 0, log: (l) => logged.push(l), adminPassword: 'admin-password-1' });
  ({ token, projectUID: project, productUID: product } = h.bootstrap!);
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});

/** A second tenant: bob, his project and product. */
async function bob(): Promise<{ tok: string; project: string; product: string }> {
  const user = `bob${++n}`;
  await h.hub.accounts.createUser(user, 'bob-password-1');
  const p = await h.hub.projects.createProject(user, 'Bob project');
  const prod = await h.hub.projects.createProduct(p.uid, `com.example.${user}:thing`);
  return { tok: (await h.hub.accounts.createToken(user)).token, project: p.uid, product: prod.uid };
}

describe('1: one connection failing never takes the hub down', () => {
  it('a REFUSE of any text seals into the smallest frame a peer may announce; its text is a prefix', () => {
    const sealer = new FrameSealer(new Uint8Array(32), MIN_FRAME);
    const opener = new FrameOpener(new Uint8Array(32));
    for (const text of ['short', 'x'.repeat(1000), 'é'.repeat(300), '😀'.repeat(100), `a${'€'.repeat(200)}`]) {
      const frame = sealer.sealMessage({ type: 'refuse', code: 'protocol', text }, false);
      expect(frame.length).toBeLessThanOrEqual(MIN_FRAME + 2);
      const [got] = new FrameReader(MIN_FRAME).push(frame);
      const m = opener.openMessage(got).message as { text: string };
      expect(text.startsWith(m.text)).toBe(true);
      expect(m.text.length).toBeGreaterThanOrEqual(Math.min(text.length, 50));
    }
  });

  it('a refusal too long for a 256-byte frame: the hub process survives and keeps serving', async () => {
    const d = tempDir('attacks-crash');
    const s = await spawnHub(d);
    try {
      const attacker = new CardState('dev:crasher', s.productUID);
      badTemplate(attacker, 'x.qo');
      const r = await syncOnce(attacker, { port: s.devicePort, maxFrame: 256 });
      expect(r.established).toBe(true);
      expect(r.refused?.code).toBe('protocol'); // the refusal itself arrives, cut to fit
      expect(r.refused?.text).toMatch(/^x\.qo: bad template: é+/);
      const honest = new CardState('dev:honest', s.productUID);
      honest.add('data.qo', { still: 'serving' });
      expect(await syncOnce(honest, { port: s.devicePort, maxFrame: 256 })).toMatchObject({ established: true, completed: true });
      expect(s.child.exitCode).toBeNull();
      expect((await call(`${s.url}/v1/projects`, s.token)).status).toBe(200);
    } finally {
      await s.stop();
      removeDir(d);
    }
  });

  it('every failure path with the smallest frames: a refusal that fits, the link closed, nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => { unhandled.push(e); };
    process.on('unhandledRejection', onUnhandled);
    try {
      // a template refused with a long text, after the handshake
      const a = newCard();
      badTemplate(a, `${'é'.repeat(20)}.qo`);
      expect((await syncOnce(a, { port: port(), maxFrame: 256 })).refused?.code).toBe('protocol');
      // a refusal during establishment (plain REFUSE): a product that disables new devices
      const prod = await h.hub.projects.createProduct(project, `com.example.off:${'x'.repeat(100)}`, '', { disableDevicesByDefault: true });
      expect((await syncOnce(newCard(prod.uid), { port: port(), maxFrame: 256 })).refused?.code).toBe('auth');
      // an internal failure: its text stays in the hub's log, the card reads only "internal error"
      const b = newCard();
      await syncOnce(b, { port: port(), maxFrame: 256 });
      b.setTemplate('t.qo', { v: 22 });
      const store = h.hub.store;
      const putTemplate = store.putTemplate.bind(store);
      store.putTemplate = async () => { throw new Error(`SQLITE_IOERR: disk I/O error ${'x'.repeat(400)}`); };
      let r;
      try { r = await syncOnce(b, { port: port(), maxFrame: 256 }); } finally { store.putTemplate = putTemplate; }
      expect(r.refused).toEqual({ code: 'internal', text: 'internal error' });
      expect(logged.some((l) => l.includes('SQLITE_IOERR'))).toBe(true);
      // garbage after the handshake
      const c = newCard();
      const garbage = await syncOnce(c, { port: port(), maxFrame: 256, tap: (f) => (f[1] === 0x10 || f[2] === 0x10 ? Uint8Array.from(f, (x, i) => (i > 4 ? x ^ 0x55 : x)) : f) });
      expect(garbage.refused?.code).toBe('auth');
      await new Promise((r2) => setImmediate(r2));
      expect(unhandled).toEqual([]);
      // and the hub still serves
      const d = newCard();
      d.add('data.qo', { ok: 1 });
      expect((await syncOnce(d, { port: port(), maxFrame: 256 })).completed).toBe(true);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('1: the last resort of a serving process', () => {
  /** Runs `args` with a preload that throws (and rejects) from a timer on SIGUSR2; `ready` matches its start-up line. */
  async function survives(args: string[], ready: RegExp, probe: (out: () => string, write: (s: string) => void) => Promise<void>): Promise<string> {
    const d = tempDir('attacks-resort');
    const boom = join(d, 'boom.js');
    writeFileSync(boom, `process.on('SIGUSR2', () => {
      setImmediate(() => { throw new Error('boom: uncaught'); });
      setImmediate(() => { void Promise.reject(new Error('boom: rejected')); });
    });`);
    const child = spawn(process.execPath, ['-r', boom, ...args.map((a) => a.replace('$DIR', d))], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    const waitFor = async (re: RegExp): Promise<void> => {
      for (let i = 0; !re.test(out); i++) {
        if (child.exitCode !== null || i > 3000) throw new Error(`exited or timed out waiting for ${re}: ${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      await waitFor(ready);
      child.kill('SIGUSR2');
      await waitFor(/boom: uncaught[\s\S]*boom: rejected|boom: rejected[\s\S]*boom: uncaught/);
      await probe(() => out, (s) => child.stdin.write(s));
      expect(child.exitCode).toBeNull();
      return out;
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      removeDir(d);
    }
  }

  it('notehub-lite serve logs an error nothing handled and keeps serving', async () => {
    const out = await survives([CLI, 'serve', '--port', '0', '--device-port', '0', '--data', '$DIR/hub'], /listening on http/, async (text) => {
      const url = /listening on (http:\/\/\S+)/.exec(text())![1];
      expect((await call(`${url}/v1/projects`, null)).status).toBe(401);
    });
    expect(out).toMatch(/uncaught exception \(still serving\): Error: boom: uncaught/);
  });

  it('the simulator with --with-hub logs it and keeps serving its host', async () => {
    const sim = resolve(__dirname, '../../hosts/node/cli.js');
    await survives([sim, '--stdio', '--data', '$DIR/card', '--with-hub', '$DIR/hub', '--hub-port', '0', '--hub-device-port', '0'],
      /notecard-sim ready/, async (text, write) => {
        write('{"req":"card.version"}\n');
        for (let i = 0; !/"version"/.test(text()); i++) {
          if (i > 3000) throw new Error(`no reply: ${text()}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      });
  });
});

/** A card's handshake opened and then held: the caller decides when the CHALLENGE is answered. */
async function holdHandshake(state: CardState): Promise<{ answer(): Promise<{ established: boolean; refused?: string }> }> {
  const session = new CardSession({
    uid: state.uid, sn: state.sn, product: state.product, secret: state.secret, cardEpoch: state.cardEpoch, random, mayProvision: true,
  });
  const socket: Socket = connect(port(), '127.0.0.1');
  socket.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (c: Buffer) => { chunks.push(c); wake?.(); });
  socket.on('close', () => wake?.());
  await new Promise<void>((ok) => socket.on('connect', ok));
  socket.write(session.start());
  const next = async (): Promise<Buffer> => {
    while (!chunks.length && !socket.destroyed) await new Promise<void>((ok) => { wake = ok; });
    return Buffer.concat(chunks.splice(0));
  };
  const challenge = await next();
  return {
    async answer() {
      const out = session.receive(new Uint8Array(challenge));
      for (const f of out.send) socket.write(f);
      const result: { established: boolean; refused?: string } = { established: false };
      for (;;) {
        const bytes = await next();
        if (!bytes.length) break;
        for (const e of session.receive(new Uint8Array(bytes)).events) {
          if (e.type === 'established') result.established = true;
          if (e.type === 'refused') result.refused = e.code;
        }
        if (result.established || result.refused) break;
      }
      socket.destroy();
      return result;
    },
  };
}

describe('2: TOFU, the secret is set once', () => {
  it('a HELLO held open while the real device provisions cannot replace its secret afterwards', async () => {
    const real = newCard();
    const impostor = new CardState(real.uid, product); // same UID, its own secret
    const held = await holdHandshake(impostor);
    expect(await syncOnce(real, { port: port() })).toMatchObject({ provisioned: true, completed: true });
    const r = await held.answer();
    expect(r).toEqual({ established: false, refused: 'auth' });
    expect(await h.hub.devices.deviceSecret(real.uid)).toBe(hex(real.secret));
    real.add('data.qo', { mine: true });
    expect(await syncOnce(real, { port: port() })).toMatchObject({ established: true, completed: true });
  });

  it('two held first contacts of one UID: the first to authenticate wins, the other is refused', async () => {
    const a = newCard();
    const b = new CardState(a.uid, product);
    const ha = await holdHandshake(a);
    const hb = await holdHandshake(b);
    expect(await ha.answer()).toEqual({ established: true });
    expect(await hb.answer()).toEqual({ established: false, refused: 'auth' });
    expect(await h.hub.devices.deviceSecret(a.uid)).toBe(hex(a.secret));
  });

  it('the service never overwrites a secret', async () => {
    const uid = `dev:svc${++n}`;
    await h.hub.devices.provisionDevice(product, uid, { secret: 'aa' });
    await h.hub.devices.provisionDevice(product, uid, { secret: 'bb' });
    expect(await h.hub.devices.deviceSecret(uid)).toBe('aa');
  });
});

describe('3: a UID pre-provisioned by another project', () => {
  it('the card joins the project of the product it names; the squatter gets nothing of it and can inject nothing', async () => {
    const b = await bob();
    const card = newCard();
    expect((await api(`/projects/${b.project}/devices/${card.uid}/provision`, 'POST', { product_uid: b.product }, b.tok)).status).toBe(200);
    await api(`/projects/${b.project}/devices/${card.uid}/environment_variables`, 'PUT', { environment_variables: { injected: 'by bob' } }, b.tok);
    await api(`/projects/${b.project}/environment_variables`, 'PUT', { environment_variables: { bobs: 'project var' } }, b.tok);
    await api(`/projects/${b.project}/devices/${card.uid}/notes/data.qi`, 'POST', { body: { cmd: 'from bob' } }, b.tok);
    card.add('data.qo', { private: 'A-data' });
    const r = await syncOnce(card, { port: port() });
    expect(r).toMatchObject({ established: true, completed: true });
    const mine = await api(`/projects/${project}/devices/${card.uid}`);
    expect(mine.status).toBe(200);
    expect(mine.body.product_uid).toBe(product);
    expect((await api(`/projects/${b.project}/devices/${card.uid}`, 'GET', undefined, b.tok)).status).toBe(404);
    expect(card.env.vars).toEqual({});
    expect(card.file('data.qi').inbox.size).toBe(0);
    const bobsEvents = (await api(`/projects/${b.project}/events?pageSize=100`, 'GET', undefined, b.tok)).body.events as Data[];
    expect(JSON.stringify(bobsEvents)).not.toContain('A-data');
    const ours = (await api(`/projects/${project}/events?deviceUID=${card.uid}&files=data.qo`)).body.events as Data[];
    expect(ours.map((e) => e.body)).toEqual([{ private: 'A-data' }]);
    // now that it exists here, bob cannot pre-provision it again (through the API or the service)
    const again = await api(`/projects/${b.project}/devices/${card.uid}/provision`, 'POST', { product_uid: b.product }, b.tok);
    expect(again.status).toBe(409);
    await expect(h.hub.devices.provisionDevice(b.product, card.uid)).rejects.toMatchObject({ status: 409 });
    expect((await syncOnce(card, { port: port() })).completed).toBe(true);
  });

  it('a UID deleted by another project is not locked out of its own product\'s project', async () => {
    const b = await bob();
    const card = newCard();
    expect((await api(`/projects/${b.project}/devices/${card.uid}/provision`, 'POST', { product_uid: b.product }, b.tok)).status).toBe(200);
    expect((await api(`/projects/${b.project}/devices/${card.uid}`, 'DELETE', undefined, b.tok)).status).toBe(200);
    expect(await syncOnce(card, { port: port() })).toMatchObject({ provisioned: true, completed: true });
    expect((await h.hub.devices.device(card.uid)).projectUID).toBe(project);
    // a deletion by the device's own project still holds
    expect((await api(`/projects/${project}/devices/${card.uid}`, 'DELETE')).status).toBe(200);
    expect((await syncOnce(new CardState(card.uid, product), { port: port() })).refused?.code).toBe('auth');
    // even for the same card, joining a third project's product and then naming this project's again
    const c = await bob();
    card.product = c.product;
    card.provisionAllowed = true; // hub.set
    expect(await syncOnce(card, { port: port() })).toMatchObject({ provisioned: true, completed: true });
    card.product = product;
    expect((await syncOnce(card, { port: port() })).refused?.code).toBe('auth');
    expect((await h.hub.devices.device(card.uid)).projectUID).toBe(c.project);
  });

  it('a deletion recorded before deletions were per project still holds everywhere', async () => {
    const d = tempDir('attacks-migrate');
    try {
      const file = join(d, DATABASE_FILE);
      const old = new Database(file);
      for (let v = 0; v < 5; v++) old.exec(MIGRATIONS[v]);
      old.pragma('user_version = 5');
      old.prepare("INSERT INTO deleted_devices (uid, deleted) VALUES ('dev:gone', 1)").run();
      old.close();
      const store = new SqliteStore(file);
      try {
        expect(await store.isDeletedDevice('dev:gone', 'app:any')).toBe(true);
        expect(await store.isDeletedDevice('dev:other', 'app:any')).toBe(false);
      } finally { await store.close(); }
    } finally { removeDir(d); }
  });

  it('with TOFU off, a device admitted by another project than its product\'s is refused', async () => {
    const d = tempDir('attacks-tofu');
    const h2 = await startHub({ dataDir: d, port: 0, devicePort: 0, tofu: false, ...quiet });
    try {
      await h2.hub.accounts.createUser('eve', 'eve-password-1');
      const p = await h2.hub.projects.createProject('eve', 'Eve project');
      const prodE = await h2.hub.projects.createProduct(p.uid, 'com.example.eve:x');
      const card = new CardState('dev:victim', h2.bootstrap!.productUID);
      await h2.hub.devices.provisionDevice(prodE.uid, card.uid);
      expect((await syncOnce(card, { port: h2.devicePort! })).refused?.code).toBe('auth');
      expect((await h2.hub.devices.device(card.uid)).projectUID).toBe(p.uid);
      expect(await h2.hub.devices.deviceSecret(card.uid)).toBeNull();
    } finally {
      await h2.close();
      removeDir(d);
    }
  });
});

describe('4: a product change', () => {
  it('moves the device to the project owning the announced product; history stays, new events carry the new product', async () => {
    const b = await bob();
    const card = newCard();
    const fleet = await h.hub.projects.createFleet(project, 'old fleet');
    await h.hub.env.envPut('fleet', fleet.uid, { fleetVar: 'old project only' });
    card.add('data.qo', { n: 1 });
    await syncOnce(card, { port: port() });
    await h.hub.store.setDeviceFleets(card.uid, [fleet.uid]);
    await syncOnce(card, { port: port() });
    expect(card.env.vars.fleetVar).toBe('old project only');

    card.product = b.product; // hub.set product
    card.add('data.qo', { n: 2 });
    const seen: SyncMessage[] = [];
    expect(await syncOnce(card, { port: port(), onMessage: (m) => seen.push(m) })).toMatchObject({ established: true, completed: true });
    const moved = await api(`/projects/${b.project}/devices/${card.uid}`, 'GET', undefined, b.tok);
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ product_uid: b.product, fleet_uids: [] });
    expect((await api(`/projects/${project}/devices/${card.uid}`)).status).toBe(404);
    const old = (await api(`/projects/${project}/events?deviceUID=${card.uid}&files=data.qo`)).body.events as Data[];
    expect(old.map((e) => [e.body, e.product])).toEqual([[{ n: 1 }, product]]);
    const now = (await api(`/projects/${b.project}/events?deviceUID=${card.uid}&files=data.qo`, 'GET', undefined, b.tok)).body.events as Data[];
    expect(now.map((e) => [e.body, e.product, e.app])).toEqual([[{ n: 2 }, b.product, b.project]]);
    expect(card.env.vars.fleetVar).toBeUndefined();
    // and back again
    card.product = product;
    card.add('data.qo', { n: 3 });
    await syncOnce(card, { port: port() });
    expect((await api(`/projects/${project}/devices/${card.uid}`)).body.product_uid).toBe(product);
  });

  it('an unknown product from a known device is refused {product}, the device left where it is', async () => {
    const card = newCard();
    await syncOnce(card, { port: port() });
    card.product = 'com.example.nobody:none';
    expect((await syncOnce(card, { port: port() })).refused?.code).toBe('product');
    expect((await h.hub.devices.device(card.uid)).productUID).toBe(product);
  });
});

describe('5: auto-provisioning fleets', () => {
  it('a product cannot name another project\'s fleet, nor an unknown one', async () => {
    const b = await bob();
    const bobsFleet = (await api(`/projects/${b.project}/fleets`, 'POST', { label: 'b' }, b.tok)).body.uid as string;
    await api(`/projects/${b.project}/fleets/${bobsFleet}/environment_variables`, 'PUT', { environment_variables: { key: 'B-secret' } }, b.tok);
    const foreign = await api(`/projects/${project}/products`, 'POST', { product_uid: `com.example.a:f${++n}`, auto_provision_fleets: [bobsFleet] });
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ code: 404, status: 'Not Found' });
    const unknown = await api(`/projects/${project}/products`, 'POST', { product_uid: `com.example.a:u${++n}`, auto_provision_fleets: ['fleet:nope'] });
    expect(unknown.status).toBe(404);
    // a product stored before this check (an older database) still gives devices nothing of bob's
    const old = await h.hub.store.product(product);
    await h.hub.store.createProduct({ ...old!, uid: `com.example.a:old${++n}`, autoProvisionFleets: [bobsFleet] });
    const card = newCard(`com.example.a:old${n}`);
    expect((await syncOnce(card, { port: port() })).completed).toBe(true);
    expect(card.env.vars).toEqual({});
    expect((await h.hub.devices.device(card.uid)).fleetUIDs).toEqual([]);
  });

  it('a deleted fleet does not break provisioning (sync or API), and no database text reaches anyone', async () => {
    const fleet = (await api(`/projects/${project}/fleets`, 'POST', { label: 'doomed' })).body.uid as string;
    const keep = (await api(`/projects/${project}/fleets`, 'POST', { label: 'kept' })).body.uid as string;
    const prodUID = `com.example.a:d${++n}`;
    expect((await api(`/projects/${project}/products`, 'POST', { product_uid: prodUID, auto_provision_fleets: [fleet, keep] })).status).toBe(200);
    expect((await api(`/projects/${project}/fleets/${fleet}`, 'DELETE')).status).toBe(200);
    const card = newCard(prodUID);
    const r = await syncOnce(card, { port: port() });
    expect(r.refused?.text ?? '').not.toMatch(/FOREIGN|constraint|SQLITE/i);
    expect(r).toMatchObject({ provisioned: true, completed: true });
    expect((await h.hub.devices.device(card.uid)).fleetUIDs).toEqual([keep]);
    const viaApi = await api(`/projects/${project}/devices/dev:api${++n}/provision`, 'POST', { product_uid: prodUID });
    expect(viaApi.status).toBe(200);
    expect(viaApi.body.fleet_uids).toEqual([keep]);
    const listed = ((await api(`/projects/${project}/products`)).body.products as Data[]).find((p) => p.uid === prodUID)!;
    expect(listed.auto_provision_fleets).toEqual([keep]);
  });
});
