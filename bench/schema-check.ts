// Dev tool (not part of npm test): feed every request sample of Blues' Notecard JSON schemas to
// the card through the serial line and validate each reply against Blues' response schema.
//
//   node dist/bench/schema-check.js DIR [--verbose]
//
// DIR holds a checkout of github.com/blues/notecard-schema (its *.req/*.rsp.notecard.api.json).
// Those schemas have no licence: read them locally, never commit them. Each sample runs on a
// fresh card (a world with every part, a network that never connects), after a small setup that
// gives it what the sample names (the note it reads, a binary buffer). A reply is "answered"
// unless it says {not-supported}; "valid" when it validates against the response schema (an
// error reply is valid only where the schema lists `err`).
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import { serialCard, type SerialCard } from '../test/support/serial-card';

type Obj = Record<string, unknown>;

const dir = process.argv[2];
const verbose = process.argv.includes('--verbose');
if (!dir || !fs.existsSync(dir)) {
  process.stderr.write('usage: node dist/bench/schema-check.js <notecard-schema checkout> [--verbose]\n');
  process.exit(2);
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
const read = (file: string): Obj => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Obj;

/** What a sample needs to exist first, guessed from its arguments. */
function setup(c: SerialCard, sample: Obj): void {
  const file = typeof sample.file === 'string' ? sample.file : undefined;
  const note = typeof sample.note === 'string' ? sample.note : undefined;
  if (file?.includes('.db')) c.ask({ req: 'note.add', file, note: note ?? 'n', body: { v: 1 } });
  if (file?.includes('.db') && sample.deleted && note) c.ask({ req: 'note.delete', file, note });
  if (file?.includes('.qo')) c.ask({ req: 'note.add', file, body: { v: 1 } });
  // an inbound queue is filled by the hub
  const inbound = file ?? (sample.req === 'note.get' ? 'data.qi' : undefined);
  if (inbound?.includes('.qi')) c.card.notefiles.applyFromHub(inbound, [{ body: { v: 1 }, time: 1_700_000_000 }]);
  for (const f of Array.isArray(sample.files) ? sample.files : []) if (typeof f === 'string' && !f.endsWith('.qi')) c.ask({ req: 'note.add', file: f, ...(f.includes('.db') ? { note: 'n' } : {}), body: { v: 1 } });
  if (sample.req === 'card.binary.get' || sample.req === 'card.binary') c.ask({ req: 'card.binary.put', cobs: 5 }, Uint8Array.of(1, 2, 3, 4));
  if (sample.req === 'var.get' || sample.req === 'var.delete') c.ask({ req: 'var.set', name: sample.name, text: 'x', ...(file ? { file } : {}) });
  if (sample.req === 'note.template' && sample.verify) c.ask({ req: 'note.template', file, body: { v: 14.1 } });
}

interface Row { name: string; samples: number; answered: number; valid: number; problems: string[] }
const rows: Row[] = [];
const names = fs.readdirSync(dir).filter((f) => f.endsWith('.req.notecard.api.json')).map((f) => f.slice(0, -'.req.notecard.api.json'.length)).sort();
for (const name of names) {
  const reqSchema = read(`${name}.req.notecard.api.json`);
  const rspSchema = read(`${name}.rsp.notecard.api.json`);
  delete rspSchema.$id;
  const validate = ajv.compile(rspSchema);
  const row: Row = { name, samples: 0, answered: 0, valid: 0, problems: [] };
  const samples = ((reqSchema.samples as Obj[] | undefined) ?? []).flatMap((s) => {
    const parsed = JSON.parse(String(s.json)) as Obj | Obj[];
    return Array.isArray(parsed) ? [parsed] : [[parsed]];
  });
  if (samples.length === 0) samples.push([{ req: name }]);
  for (const steps of samples) {
    // A sample may be a sequence (card.led after card.aux): the last request is the one checked.
    const c = serialCard();
    const last = steps[steps.length - 1];
    setup(c, last);
    for (const s of steps.slice(0, -1)) c.ask(s);
    // A cmd gets no reply: ask it as a req to see the reply it would have.
    const asked: Obj = typeof last.cmd === 'string' ? { ...last, req: last.cmd, cmd: undefined } : last;
    const reply = c.ask(asked);
    row.samples++;
    const err = typeof reply.err === 'string' ? reply.err : undefined;
    if (err?.includes('{not-supported}')) {
      row.problems.push(`${JSON.stringify(asked)} -> ${err}`);
      continue;
    }
    row.answered++;
    if (validate(reply)) row.valid++;
    else row.problems.push(`${JSON.stringify(asked)} -> ${JSON.stringify(reply)}: ${ajv.errorsText(validate.errors)}`);
  }
  rows.push(row);
}

const total = rows.reduce((a, r) => ({ samples: a.samples + r.samples, answered: a.answered + r.answered, valid: a.valid + r.valid }), { samples: 0, answered: 0, valid: 0 });
const requestsAnswered = rows.filter((r) => r.answered > 0).length;
const requestsValid = rows.filter((r) => r.samples > 0 && r.valid === r.samples).length;
process.stdout.write('| request | samples | answered | valid |\n|---|---:|---:|---:|\n');
for (const r of rows) process.stdout.write(`| ${r.name} | ${r.samples} | ${r.answered} | ${r.valid} |\n`);
process.stdout.write(`\n${rows.length} requests: ${requestsAnswered} answered, ${requestsValid} with every reply valid; `
  + `${total.samples} samples: ${total.answered} answered, ${total.valid} valid\n`);
const failing = rows.filter((r) => r.problems.length);
if (failing.length) {
  process.stdout.write('\nproblems:\n');
  for (const r of failing) for (const p of verbose ? r.problems : r.problems.slice(0, 1)) process.stdout.write(`- ${r.name}: ${p.slice(0, verbose ? 2000 : 300)}\n`);
}
