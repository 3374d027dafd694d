// The XS lane: the core, loaded as ES modules by XS's own module loader with built-ins frozen
// (test/xs/modules.ts), must answer the corpus with exactly the bytes it answers on Node.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { base64Encode } from '../../src/util/base64';

import { corpusLines, corpusStream } from './corpus';
import { runStream } from './harness';
import { loopbackCard } from './sync-harness';
import { XsEngine, returnJson } from './xsnap';

describe('XS lane', () => {
  let xs: XsEngine;
  beforeAll(async () => {
    xs = new XsEngine();
    await xs.loadCore();
  });
  afterAll(() => xs.close());

  it('has a corpus of at least 200 request lines', () => {
    expect(corpusLines().length).toBeGreaterThanOrEqual(200);
  });

  it('refuses what a board refuses: a directory import, a missing module', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opencard-xs-refuse-'));
    fs.mkdirSync(path.join(dir, 'dir'));
    fs.writeFileSync(path.join(dir, 'dir/index'), 'export const x = 1;\n');
    fs.writeFileSync(path.join(dir, 'by-directory'), "import { x } from './dir'; export default x;\n");
    fs.writeFileSync(path.join(dir, 'by-file'), "import { x } from './dir/index'; export default x;\n");
    fs.writeFileSync(path.join(dir, 'missing'), "import { y } from './nowhere'; export default y;\n");
    const tryImport = async (name: string) =>
      (await xs.evaluate(`import(${JSON.stringify(path.join(dir, name))}).then(() => (globalThis.r = 'ok'), (e) => (globalThis.r = String(e))); new ArrayBuffer(0)`),
      (await xs.evaluate(returnJson('globalThis.r'))).text);
    expect(await tryImport('by-file')).toBe('"ok"');
    expect(await tryImport('by-directory')).toMatch(/SyntaxError/);
    expect(await tryImport('missing')).toMatch(/Error/);
  });

  it('uses no RegExp in the core (XS RegExp crashed the card under memory pressure: src/util/chars.ts)', () => {
    const offenders: string[] = [];
    const literal = /(^|[=(,:!&|?]|return)\s*\/(?![/*])(\\.|[^/\n\\])+\/[dgimsuy]*/;
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.ts')) {
          fs.readFileSync(full, 'utf8').split('\n').forEach((line, i) => {
            const code = line.replace(/^\s*(\/\/|\*|\/\*).*$/, '');
            if (literal.test(code) || /\bRegExp\b/.test(code)) offenders.push(`${full}:${i + 1}`);
          });
        }
      }
    };
    walk(path.resolve(__dirname, '../../../src'));
    expect(offenders).toEqual([]);
  });

  it('runs with built-ins frozen, as after preload', async () => {
    const { text } = await xs.evaluate(returnJson('[Object.isFrozen(Array.prototype), Object.isFrozen(Error), Object.isFrozen(globalThis)]'));
    expect(text).toBe('[true,true,false]');
  });

  it('runs a sync round through the card engine exactly as Node does', async () => {
    const script = (lb: string) => `(() => { const lb = ${lb}; const a = lb.sync(); lb.add(100); const b = lb.sync(); return [a, b]; })()`;
    const onXs = await xs.evaluate(returnJson(script("load('test/xs/sync-harness').loopbackCard()")));
    const onNode = JSON.stringify(new Function('loopbackCard', `return ${script('loopbackCard()')}`)(loopbackCard));
    expect(onXs.text).toBe(onNode); // status, counts and the SHA-256 of every wire byte
    expect(JSON.parse(onNode)[1]).toMatchObject({ notes: 100, wire: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(onNode).toContain('{sync-end}');
  });

  it('runs the simulated world (the Moddable lin board\'s) under XS: the card reads it as on Node', async () => {
    const script = (load: string) => `(() => {
      const ld = ${load};
      let t = 0;
      const host = ld('test/xs/harness').deterministicHost();
      host.world = new (ld('src/sensing/sim-world').SimWorld)({ temperature: 31.5, voltage: 3.55, lat: 42.5, lon: -71.25 }, () => t, () => 1700000000000 + t);
      const card = new (ld('src/card').Card)(host);
      const ask = (r) => JSON.parse(card.request(JSON.stringify(r)).text);
      const out = [ask({ req: 'card.temp' }), ask({ req: 'card.voltage' }), ask({ req: 'card.location' })];
      host.world.set({ usb: true });
      t += 5000;
      out.push(ask({ req: 'card.voltage' }), ask({ req: 'card.motion' }));
      return out;
    })()`;
    const onXs = JSON.parse((await xs.evaluate(returnJson(script('globalThis.load')))).text);
    const modules: Record<string, unknown> = {
      'test/xs/harness': require('./harness'),
      'src/sensing/sim-world': require('../../src/sensing/sim-world'),
      'src/card': require('../../src/card'),
    };
    const onNode = new Function('loader', `return ${script('loader')}`)((name: string) => modules[name]);
    expect(onXs).toEqual(onNode);
    expect(onXs[0]).toMatchObject({ value: 31.5 });
    expect(onXs[1]).toMatchObject({ mode: 'normal', value: 3.55 });
    expect(onXs[2]).toMatchObject({ lat: 42.5, lon: -71.25 });
    expect(onXs[3]).toMatchObject({ mode: 'usb', usb: true });
    expect(JSON.stringify(onXs)).not.toContain('not-supported');
  });

  it('answers the corpus byte-identically to Node', async () => {
    const input = corpusStream();
    const node = runStream(input);
    const { result } = await xs.evaluate(`
      const h = load('test/xs/harness');
      const b64 = load('src/util/base64');
      h.runStream(b64.base64Decode(${JSON.stringify(base64Encode(input))})).buffer`);
    const text = Buffer.from(node).toString('latin1');
    // The run is not trivially empty: replies, errors, crc members and binary all appear.
    expect(text).toContain('"version":"opencard-');
    expect(text).toContain('{not-supported}');
    expect(text).toContain('{io}');
    expect(text).toContain(',"crc":"');
    expect(text).toContain('{bad-bin}');
    expect(Buffer.from(result).equals(Buffer.from(node))).toBe(true);
  });
});
