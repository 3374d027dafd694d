// The completion catalogue terminals use: it must name exactly the requests the card answers,
// and complete what a person types at each point of a request line.
import { ARG_VALUES, REQUEST_ARGS, completeRequest } from '../../src/requests/catalog';
import { REQUESTS } from '../../src/requests/index';

it('names exactly the requests in the card\'s table (add a new request to both)', () => {
  const table = Object.keys(REQUESTS);
  const catalogue = Object.keys(REQUEST_ARGS);
  expect({ missingFromCatalogue: table.filter((n) => !catalogue.includes(n)) }).toEqual({ missingFromCatalogue: [] });
  expect({ notInTable: catalogue.filter((n) => !table.includes(n)) }).toEqual({ notInTable: [] });
  for (const k of Object.keys(ARG_VALUES)) {
    const [req, arg] = k.split(' ');
    if (req !== '*') expect(REQUEST_ARGS[req]).toContain(arg);
  }
});

const done = (line: string) => {
  const c = completeRequest(line);
  return c.options.map((o) => line.slice(0, c.from) + o);
};

it('completes a bare request name', () => {
  expect(done('hub.sync')).toEqual(['hub.sync', 'hub.sync.status']);
  expect(done('  card.bin')).toEqual(['  card.binary', '  card.binary.put', '  card.binary.get']);
  expect(done('hub.sync x')).toEqual([]);
});

it('completes keys: req/cmd first, then the request\'s arguments not yet given', () => {
  expect(done('{"r')).toEqual(['{"req":']);
  expect(done('{')).toEqual(['{"req":', '{"cmd":']);
  expect(done('{"req":"note.add","fi')).toEqual(['{"req":"note.add","file":']);
  expect(done('{"req":"note.add","file":"a.qo", "b')).toEqual(['{"req":"note.add","file":"a.qo", "body":', '{"req":"note.add","file":"a.qo", "binary":']);
  expect(done('{"req":"note.get","file":"a.qi",')).not.toContain('{"req":"note.get","file":"a.qi","file":');
  expect(done('{"req":"note.get","file":"a.qi",').length).toBe(REQUEST_ARGS['note.get'].length - 1);
});

it('completes request names and argument values', () => {
  expect(done('{"req":"note.ch')).toEqual(['{"req":"note.changes"']);
  expect(done('{"cmd": "hub.s')).toEqual(['{"cmd": "hub.set"', '{"cmd": "hub.sync"', '{"cmd": "hub.sync.status"', '{"cmd": "hub.status"', '{"cmd": "hub.signal"']);
  expect(done('{"req":"hub.set","mode":"c')).toEqual(['{"req":"hub.set","mode":"continuous"']);
  expect(done('{"req":"note.add","file":')).toEqual(['{"req":"note.add","file":"data.qo"', '{"req":"note.add","file":"data.qi"']);
});

it('offers nothing inside nested values or after a finished token', () => {
  expect(done('{"req":"note.add","body":{"te')).toEqual([]);
  expect(done('{"req":"note.add","body":{"a":1},"s')).toEqual(['{"req":"note.add","body":{"a":1},"sync":']);
  expect(done('{"req":"note.add"')).toEqual([]);
  expect(done('{"req":"note.add","text":"a\\"b')).toEqual([]);
});
