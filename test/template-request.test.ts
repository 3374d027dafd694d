import { CardError } from '../src/errors';
import type { JsonObject } from '../src/json';
import { Args } from '../src/requests/args';
import { TemplateRegistry, TemplateSetting, noteTemplate } from '../src/requests/note-template';
import { Template, packNote, sameTemplate, unpackNote } from '../src/template';

/** The registry a notefile store would provide: active template per file, plus a version log. */
class MemoryRegistry implements TemplateRegistry {
  readonly active = new Map<string, TemplateSetting>();
  readonly versions = new Map<string, Template[]>();
  sets = 0;

  get(file: string) {
    return this.active.get(file);
  }
  set(file: string, template: Template, port: number | undefined) {
    this.sets++;
    this.active.set(file, { template, port });
    const list = this.versions.get(file) ?? [];
    if (!list.some((t) => sameTemplate(t, template))) list.push(template);
    this.versions.set(file, list);
  }
  delete(file: string) {
    this.active.delete(file);
  }
  portInUse(port: number, file: string) {
    for (const [other, s] of this.active) if (other !== file && s.port === port) return true;
    return false;
  }
}

const sensor = { temp: 14.1, humidity: 12, pressure: 14.1, battery: 12.1, motion: true, status: 'ok' };

function run(reg: TemplateRegistry, req: JsonObject): JsonObject {
  return noteTemplate(reg, new Args(req));
}

function failure(reg: TemplateRegistry, req: JsonObject): string {
  try {
    run(reg, req);
  } catch (e) {
    if (e instanceof CardError) return e.wireText;
    throw e;
  }
  throw new Error('expected an error');
}

describe('note.template', () => {
  it('sets a template and answers bytes per note', () => {
    const reg = new MemoryRegistry();
    expect(run(reg, { file: 'sensors.qo', body: sensor })).toEqual({ bytes: 17 });
    expect(reg.get('sensors.qo')?.template.body).toEqual(sensor);
    expect(run(reg, { file: 'c.qo', body: { a: 14.1, _time: 14 }, format: 'compact', port: 50 })).toEqual({ bytes: 9 });
    expect(run(reg, { file: 'p.qo', body: {}, length: 40 })).toEqual({ bytes: 1 + 40 });
  });

  it('defaults to data.qo', () => {
    const reg = new MemoryRegistry();
    run(reg, { body: { v: 11 } });
    expect(reg.get('data.qo')).toBeDefined();
  });

  it('verify answers the active template with every member', () => {
    const reg = new MemoryRegistry();
    run(reg, { file: 'r.qo', body: { t: 14.1, _lat: 14.1 }, format: 'compact', port: 7, length: 12 });
    expect(run(reg, { file: 'r.qo', verify: true })).toEqual({
      template: true, body: { t: 14.1, _lat: 14.1 }, length: 12, port: 7, format: 'compact', bytes: 1 + 8 + 12,
    });
    run(reg, { file: 'plain.db', body: { v: 11 } });
    expect(run(reg, { file: 'plain.db', verify: true })).toEqual({ template: true, body: { v: 11 }, bytes: 2 });
    expect(run(reg, { file: 'none.qo', verify: true })).toEqual({});
    expect(run(reg, { file: 'v.qo', body: { v: 12 }, verify: true })).toEqual({ template: true, body: { v: 12 }, bytes: 3 });
  });

  it('re-setting an identical template changes nothing; a different one is a new version', () => {
    const reg = new MemoryRegistry();
    run(reg, { file: 's.qo', body: sensor });
    const first = reg.get('s.qo')!.template;
    const old = packNote(first, { temp: 20, status: 'v1' }, undefined, { time: 3 });
    run(reg, { file: 's.qo', body: JSON.parse(JSON.stringify(sensor)) });
    expect(reg.sets).toBe(1);
    expect(reg.get('s.qo')!.template).toBe(first);
    run(reg, { file: 's.qo', body: { ...sensor, extra: 11 } });
    expect(reg.sets).toBe(2);
    expect(reg.versions.get('s.qo')).toHaveLength(2);
    // the old note still reads back exactly as added, with the version it was packed with
    expect(unpackNote(reg.versions.get('s.qo')![0], old)).toEqual({ body: { temp: 20, status: 'v1' }, time: 3 });
    run(reg, { file: 's.qo', body: { ...sensor, extra: 11 }, port: 9 }); // port change: set again, same layout
    expect(reg.sets).toBe(3);
    expect(reg.versions.get('s.qo')).toHaveLength(2);
  });

  it('omitting body removes the template; verify alone does not', () => {
    const reg = new MemoryRegistry();
    run(reg, { file: 'a.qo', body: { v: 11 } });
    expect(run(reg, { file: 'a.qo', verify: true })).toMatchObject({ template: true });
    expect(run(reg, { file: 'a.qo', length: 4 })).toEqual({});
    expect(reg.get('a.qo')).toBeUndefined();
    expect(run(reg, { file: 'a.qo', verify: true })).toEqual({});
  });

  it('delete (NTN pending notes) never applies here: checked, no effect', () => {
    const reg = new MemoryRegistry();
    expect(run(reg, { file: 'a.qo', body: { v: 11 }, delete: true, port: 3, format: 'compact' })).toEqual({ bytes: 2 });
    expect(reg.get('a.qo')?.port).toBe(3);
    expect(failure(reg, { file: 'a.qo', body: { v: 11 }, delete: 'yes' })).toBe('delete: must be true or false {bad-arg}');
  });

  it('keeps ports unique per card', () => {
    const reg = new MemoryRegistry();
    run(reg, { file: 'a.qo', body: { v: 11 }, port: 5 });
    expect(failure(reg, { file: 'b.qo', body: { v: 11 }, port: 5 })).toBe('port: 5 is already used by another notefile {bad-arg}');
    expect(reg.get('b.qo')).toBeUndefined();
    expect(run(reg, { file: 'a.qo', body: { v: 12 }, port: 5 })).toEqual({ bytes: 3 }); // its own port is fine
  });

  it('refuses bad arguments, leaving the registry unchanged', () => {
    const reg = new MemoryRegistry();
    run(reg, { file: 'a.qo', body: { v: 11 } });
    const cases: [JsonObject, string][] = [
      [{ file: 'a.qo', body: { v: 99 } }, 'v: 99 is not a type hint'],
      [{ file: 'a.qo', body: { v: 11 }, port: 0 }, 'port: must be an integer from 1 to 100 {bad-arg}'],
      [{ file: 'a.qo', body: { v: 11 }, port: 101 }, 'port: must be an integer from 1 to 100 {bad-arg}'],
      [{ file: 'a.qo', body: { v: 11 }, length: -1 }, 'length: must be an integer from 0 to 8192 {bad-arg}'],
      [{ file: 'a.qo', body: { v: 11 }, format: 'tiny' }, 'format: must be "compact" or absent {bad-arg}'],
      [{ file: 'a.qo', body: { s: '300' }, format: 'compact' }, 's: compact templates hold strings of at most 255 bytes'],
      [{ file: 'a.qo', body: [11] }, 'body: must be a JSON object {bad-arg}'],
      [{ file: 'a.txt', body: { v: 11 } }, 'notefile "a.txt" must end in one of .qo .qos .qi .qis .db .dbs .dbx {notefile-bad-name}'],
      [{ file: '_sys.db', body: { v: 11 } }, '{notefile-bad-name}'],
      [{ file: 7, body: { v: 11 } }, 'file: must be a string {bad-arg}'],
    ];
    for (const [req, text] of cases) expect(failure(reg, req)).toContain(text);
    expect(reg.sets).toBe(1);
    expect(reg.get('a.qo')?.template.body).toEqual({ v: 11 });
  });
});
