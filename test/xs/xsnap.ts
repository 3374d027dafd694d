// A minimal driver for the XS engine worker of @agoric/xsnap: netstring messages on fd 3/4.
// `e<script>` evaluates a script; the reply is `.<meter JSON>\x01<bytes>` when the completion
// value is an ArrayBuffer, or `!<error>`.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import type { Readable, Writable } from 'stream';
import { FREEZE_BUILTINS, moduleTree } from './modules';

export interface XsReply {
  /** XS's deterministic instruction-like count for the evaluation. */
  compute: number;
  allocate: number;
  currentHeapCount: number;
  /** The completion value's bytes when it was an ArrayBuffer (empty otherwise). */
  result: Uint8Array;
  /** The same bytes as UTF-8 text. */
  text: string;
}

/** A script tail that makes `expr` (JSON-able) the completion value, via the bundled utf8. */
export function returnJson(expr: string): string {
  return `load('src/util/utf8').utf8Encode(JSON.stringify(${expr})).buffer;`;
}

export function xsnapBinary(): string {
  const pkg = path.dirname(require.resolve('@agoric/xsnap/package.json'));
  const os = process.platform === 'darwin' ? 'mac' : 'lin';
  return path.join(pkg, 'xsnap-native/xsnap/build/bin', os, 'release/xsnap-worker');
}

export class XsEngine {
  #proc: ChildProcess;
  #buffer = Buffer.alloc(0);
  #waiting: ((message: Buffer) => void)[] = [];
  printed = '';
  errors = '';

  constructor() {
    this.#proc = spawn(xsnapBinary(), ['opencard-xs'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
    (this.#proc.stdio[1] as Readable).on('data', (d: Buffer) => (this.printed += d.toString()));
    (this.#proc.stdio[2] as Readable).on('data', (d: Buffer) => (this.errors += d.toString()));
    (this.#proc.stdio[4] as Readable).on('data', (d: Buffer) => this.#onData(d));
  }

  /**
   * Freeze the built-ins (as preload does), then load the core through XS's module loader
   * (test/xs/modules.ts); afterwards scripts reach modules with `load('src/card')`.
   */
  async loadCore(): Promise<void> {
    await this.evaluate(FREEZE_BUILTINS);
    // A dynamic import from a script goes through the same loader as `import` and reports why it failed.
    await this.evaluate(`import(${JSON.stringify(moduleTree())}).then(() => (globalThis.loaded = 'ok'), (e) => (globalThis.loaded = String(e))); new ArrayBuffer(0)`);
    const { text } = await this.evaluate(`Uint8Array.from(String(globalThis.loaded), (c) => c.charCodeAt(0) & 0xff).buffer`);
    if (text !== 'ok') throw new Error(`XS could not load the core's modules: ${text} ${this.errors.trim()}`);
  }

  /** Evaluate a script; its completion value, if an ArrayBuffer, comes back as `result`. */
  evaluate(script: string): Promise<XsReply> {
    const body = Buffer.from('e' + script, 'utf8');
    const fd3 = this.#proc.stdio[3] as Writable;
    fd3.write(`${body.length}:`);
    fd3.write(body);
    fd3.write(',');
    return new Promise((resolve, reject) => {
      this.#waiting.push((message) => {
        if (message[0] === 0x21 /* ! */) return reject(new Error('XS: ' + (message.subarray(1).toString() || this.errors.trim())));
        const sep = message.indexOf(1);
        const end = sep < 0 ? message.length : sep;
        const meter = JSON.parse(message.subarray(1, end).toString());
        const result = sep < 0 ? new Uint8Array(0) : new Uint8Array(message.subarray(sep + 1));
        resolve({ ...meter, result, text: Buffer.from(result).toString('utf8') });
      });
    });
  }

  close(): void {
    this.#proc.kill();
  }

  #onData(data: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, data]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.#buffer.subarray(0, colon).toString());
      if (this.#buffer.length < colon + 1 + len + 1) return;
      const message = this.#buffer.subarray(colon + 1, colon + 1 + len);
      this.#buffer = this.#buffer.subarray(colon + 2 + len);
      this.#waiting.shift()?.(message);
    }
  }
}
