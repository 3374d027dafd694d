/**
 * Read queries off the event loop. better-sqlite3 is synchronous: a heavy query run on the main
 * thread stalls every other request. A ReaderPool runs SELECTs on worker threads, each with its
 * own read-only connection to the same WAL database (a read sees every transaction committed
 * before it was sent). Jobs queue per key (a project) and idle readers take the keys in turn;
 * one key never holds every reader, so one tenant's pile of heavy queries leaves a reader to the
 * others. Each key's queue is bounded.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { HubError } from '../hub';

interface Job { key: string; sql: string; args: unknown[]; resolve: (rows: unknown[][]) => void; reject: (e: Error) => void }
interface Reader { worker: Worker; job: Job | null }

export class ReaderPool {
  readonly #file: string;
  readonly #size: number;
  readonly #maxQueued: number;
  readonly #readers: Reader[] = [];
  /** waiting jobs per key; Map order is the turn order */
  readonly #queues = new Map<string, Job[]>();
  /** jobs running per key: at most size - 1 (when size > 1) */
  readonly #running = new Map<string, number>();
  #closed = false;

  constructor(file: string, o: { size?: number; maxQueued?: number } = {}) {
    this.#file = file;
    this.#size = o.size ?? 2;
    this.#maxQueued = o.maxQueued ?? 256;
  }

  /** The rows (as arrays) of one SELECT, run on a reader thread. */
  read(key: string, sql: string, args: unknown[]): Promise<unknown[][]> {
    if (this.#closed) return Promise.reject(new HubError(503, 'the hub is shutting down'));
    const q = this.#queues.get(key) ?? [];
    if (q.length >= this.#maxQueued) return Promise.reject(new HubError(429, 'too many queries of this project in progress', 1));
    return new Promise((resolve, reject) => {
      q.push({ key, sql, args, resolve, reject });
      this.#queues.set(key, q);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const jobs = [...[...this.#queues.values()].flat(), ...this.#readers.map((r) => r.job)];
    for (const j of jobs) j?.reject(new HubError(503, 'the hub is shutting down'));
    this.#queues.clear();
    await Promise.all(this.#readers.splice(0).map((r) => r.worker.terminate()));
  }

  #pump(): void {
    const most = Math.max(1, this.#size - 1);
    while (this.#queues.size) {
      // the first key in turn that may run one more; it goes to the back of the line
      let key: string | undefined;
      for (const k of this.#queues.keys()) if ((this.#running.get(k) ?? 0) < most) { key = k; break; }
      if (key === undefined) return;
      const r = this.#readers.find((x) => !x.job) ?? (this.#readers.length < this.#size ? this.#spawn() : undefined);
      if (!r) return;
      const q = this.#queues.get(key)!;
      this.#queues.delete(key);
      const job = q.shift()!;
      if (q.length) this.#queues.set(key, q);
      this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
      r.job = job;
      r.worker.ref();
      r.worker.postMessage({ sql: job.sql, args: job.args });
    }
  }

  #spawn(): Reader {
    const worker = new Worker(__filename, { workerData: { readerFile: this.#file } });
    const r: Reader = { worker, job: null };
    const done = (fn: (j: Job) => void): void => {
      const j = r.job;
      r.job = null;
      worker.unref();
      if (j) {
        const left = (this.#running.get(j.key) ?? 1) - 1;
        if (left > 0) this.#running.set(j.key, left); else this.#running.delete(j.key);
        fn(j);
      }
      this.#pump();
    };
    worker.on('message', (m: { rows?: unknown[][]; error?: string }) => done((j) => (m.rows ? j.resolve(m.rows) : j.reject(new Error(m.error)))));
    const lost = (e: unknown): void => {
      const i = this.#readers.indexOf(r);
      if (i < 0) return;
      this.#readers.splice(i, 1);
      if (!this.#closed) done((j) => j.reject(e instanceof Error ? e : new Error('reader thread exited')));
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    worker.unref();
    this.#readers.push(r);
    return r;
  }
}

// ---- the reader thread
if (!isMainThread && parentPort && (workerData as { readerFile?: string } | null)?.readerFile) {
  const db = new Database((workerData as { readerFile: string }).readerFile, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const stmts = new Map<string, Database.Statement>();
  const port = parentPort;
  port.on('message', (m: { sql: string; args: unknown[] }) => {
    try {
      let s = stmts.get(m.sql);
      if (!s) {
        if (stmts.size >= 256) stmts.clear();
        s = db.prepare(m.sql).raw(true);
        stmts.set(m.sql, s);
      }
      port.postMessage({ rows: s.all(...m.args) });
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    }
  });
}
