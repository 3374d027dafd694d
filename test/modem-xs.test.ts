// The modem driver under the XS engine against the scripted module: every transcript gives the
// same UART bytes, socket events, facts and figures as on Node.
import { runModem, transcripts } from './xs/modem-harness';
import { XsEngine, returnJson } from './xs/xsnap';

describe('modem driver on XS', () => {
  let xs: XsEngine;
  beforeAll(async () => {
    xs = new XsEngine();
    await xs.loadCore();
  });
  afterAll(() => xs.close());

  it('runs every transcript byte for byte as on Node', async () => {
    const script = `(() => { const h = load('test/xs/modem-harness'); const t = h.transcripts(); const out = {}; for (const k of Object.keys(t)) out[k] = h.runModem(t[k]); return out; })()`;
    const reply = await xs.evaluate(returnJson(script));
    expect(reply.compute).toBeGreaterThan(0); // metered: it really ran in XS
    const onXs = JSON.parse(reply.text);
    const t = transcripts();
    const onNode: Record<string, unknown> = {};
    for (const k of Object.keys(t)) onNode[k] = runModem(t[k]);
    expect(Object.keys(onXs).length).toBeGreaterThan(10);
    expect(onXs).toEqual(JSON.parse(JSON.stringify(onNode)));
  });
});
