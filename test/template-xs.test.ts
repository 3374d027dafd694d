// The template codec under the XS engine gives the same bytes and the same JSON as on Node.
import * as template from '../src/template';

import { XsEngine, returnJson } from './xs/xsnap';

type TemplateModule = typeof template;

/** Runs on both engines: only its argument, no imports, no host globals. */
function vectors(t: TemplateModule): unknown {
  const hex = (b: Uint8Array) => Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
  const attempt = (fn: () => unknown) => {
    try {
      return fn();
    } catch (e) {
      return (e as { wireText?: string }).wireText ?? String(e);
    }
  };
  const out: Record<string, unknown> = {};
  const pinned = t.compileTemplate({ a: 11, b: 22, c: true, d: '3', h: 12.1 });
  out.pinned = hex(t.packNote(pinned, { a: -1, b: 258, c: true, d: 'xyz', h: 1 }, undefined, { time: 0x01020304 }));
  const edges: Record<string, number[]> = {
    11: [-128, 127], 12: [-32768, 32767], 13: [-8388608, 8388607], 14: [-2147483648, 2147483647],
    18: [-(2 ** 63), 2 ** 63 - 1024, 2 ** 53 + 2], 21: [255], 22: [65535], 23: [16777215], 24: [4294967295],
  };
  for (const hint of Object.keys(edges)) {
    const tt = t.compileTemplate({ n: Number(hint) });
    out[`int${hint}`] = edges[hint].map((n) => {
      const r = t.packNote(tt, { n });
      return [hex(r), t.unpackNote(tt, r)];
    });
    out[`int${hint}bad`] = attempt(() => t.packNote(tt, { n: edges[hint][0] - 2 ** 12 }));
  }
  out.half = [0, -0, 1, 65504, 65519.99, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2049, 2051, 0.1, 1 / 3].map(t.toHalfBits);
  const floats = t.compileTemplate({ h: 12.1, s: 14.1, d: 18.1 });
  out.floats = [[3.71, 23.45, Math.PI], [-65504, 3.4028234663852886e38, 5e-324], [6e-8, 1e-45, 0.1]].map(([h, s, d]) =>
    t.unpackNote(floats, t.packNote(floats, { h, s, d })));
  const nested = t.compileTemplate({ o: { x: 14, s: '4' }, l: [12.1], tup: [11, true], txt: 'x' });
  out.nested = t.unpackNote(nested, t.packNote(nested, { o: { x: 5, s: 'héllo' }, l: [0.5, 0, 2], tup: [0, true], txt: '😀' }));
  out.full = t.unpackNote(nested, t.packNote(nested, {}, undefined, { full: true }));
  const compact = t.compileTemplate({ v: 14.1, _time: 14, _lat: 14.1, _lon: 14.1 }, { format: 'compact' });
  const cr = t.packNote(compact, { v: 1.5 }, Uint8Array.of(1, 2, 3), { time: 1763700000, lat: 42.36, lon: -71.06 });
  out.compact = [hex(cr), t.unpackNote(compact, cr)];
  out.errors = [
    attempt(() => t.packNote(nested, { o: { y: 1 } })),
    attempt(() => t.packNote(nested, { l: [1, 'a'] })),
    attempt(() => t.compileTemplate({ x: 15 })),
  ];
  out.bytes = t.templateBytes(t.compileTemplate({ temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' }));
  out.id = t.templateId(nested);
  return out;
}

describe('templates on XS', () => {
  let xs: XsEngine;
  beforeAll(async () => {
    xs = new XsEngine();
    await xs.loadCore();
  });
  afterAll(() => xs.close());

  it('packs and unpacks exactly as on Node', async () => {
    const reply = await xs.evaluate(returnJson(`(${vectors.toString()})(load("src/template/index"))`));
    expect(reply.compute).toBeGreaterThan(0); // metered: it really ran in XS
    const onXs = JSON.parse(reply.text);
    const onNode = JSON.parse(JSON.stringify(vectors(template)));
    expect(onXs).toEqual(onNode);
    expect(onXs.pinned).toBe('0204030201ff0201010378797a003c');
    expect(onXs.errors[0]).toBe('o.y: not in the template {template-incompatible}');
  });
});
