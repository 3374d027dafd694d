// The XS lane: the core, bundled for the Moddable XS engine, must answer the corpus with
// exactly the bytes it answers on Node.
import { base64Encode } from '../../src/util/base64';
import { bundle } from './bundle';
import { corpusLines, corpusStream } from './corpus';
import { runStream } from './harness';
import { loopbackCard } from './sync-harness';
import { XsEngine, returnJson } from './xsnap';

describe('XS lane', () => {
  let xs: XsEngine;
  beforeAll(async () => {
    xs = new XsEngine();
    await xs.evaluate(`${bundle()}; new ArrayBuffer(0)`);
  });
  afterAll(() => xs.close());

  it('has a corpus of at least 200 request lines', () => {
    expect(corpusLines().length).toBeGreaterThanOrEqual(200);
  });

  it('runs the core without host globals', async () => {
    const { result } = await xs.evaluate(`
      const probe = ['Buffer', 'process', 'console', 'setTimeout', 'structuredClone'].filter((n) => typeof globalThis[n] !== 'undefined');
      load('src/util/utf8.js').utf8Encode(probe.join(',')).buffer`);
    expect(Buffer.from(result).toString()).toBe('');
  });

  it('runs a sync round through the card engine exactly as Node does', async () => {
    const script = (lb: string) => `(() => { const lb = ${lb}; const a = lb.sync(); lb.add(100); const b = lb.sync(); return [a, b]; })()`;
    const onXs = await xs.evaluate(returnJson(script("load('test/xs/sync-harness.js').loopbackCard()")));
    const onNode = JSON.stringify(new Function('loopbackCard', `return ${script('loopbackCard()')}`)(loopbackCard));
    expect(onXs.text).toBe(onNode);
    expect(JSON.parse(onNode)[1]).toMatchObject({ notes: 100 });
    expect(onNode).toContain('{sync-end}');
  });

  it('answers the corpus byte-identically to Node', async () => {
    const input = corpusStream();
    const node = runStream(input);
    const { result } = await xs.evaluate(`
      const h = load('test/xs/harness.js');
      const b64 = load('src/util/base64.js');
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
