// Every line the hub logs goes to startHub's `log` option: a failed request (500) and a failed
// route delivery pass included, never straight to the console.
import { openStore, startHub, type RunningHub } from '../../hub/server';
import type { Store } from '../../hub/store/types';
import { call, removeDir, tempDir } from './helpers';

const failing = new Set<string>();
let dir: string;
let h: RunningHub;
const lines: string[] = [];

beforeAll(async () => {
  dir = tempDir('logging');
  const real = openStore(dir);
  // the store, with chosen methods failing as a broken database would
  const store = new Proxy(real, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (failing.has(String(name))) return Promise.reject(new Error(`disk on fire in ${String(name)}`));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  h = await startHub({ store, port: 0, log: (line) => lines.push(line), delivery: { pollMs: 20 } });
});
afterAll(async () => {
  await h.close();
  removeDir(dir);
});
beforeEach(() => jest.spyOn(console, 'error').mockImplementation(() => undefined));
afterEach(() => {
  failing.clear();
  // nothing bypassed the log option
  expect(console.error).not.toHaveBeenCalled();
  jest.restoreAllMocks();
});

it('a request that fails inside answers 500 without the cause, and the cause goes to the log', async () => {
  failing.add('projectsOfUser');
  const r = await call(`${h.url}/v1/projects`, h.bootstrap!.token);
  expect(r.status).toBe(500);
  expect(r.body).toEqual({ err: 'internal error', code: 500, status: 'Internal Server Error', error: expect.any(String) });
  expect(lines.filter((l) => l.startsWith('hub: request failed: Error: disk on fire in projectsOfUser'))).toHaveLength(1);
});

it('a route delivery pass that fails is logged there', async () => {
  failing.add('dueRoutes');
  for (let i = 0; !lines.some((l) => l.startsWith('hub: route delivery pass failed: Error: disk on fire in dueRoutes')); i++) {
    if (i > 500) throw new Error(`not logged: ${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
});
