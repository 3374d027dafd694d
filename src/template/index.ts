// Note templates: hints -> record layout; pack / unpack (docs/TEMPLATES.md).
export {
  Template, compileTemplate, parseTemplate, sameTemplate, serializeTemplate, templateBytes, templateId,
} from './layout';
export type { Field, TemplateFormat, TemplateOptions } from './layout';
export { packNote, recordIsFull, unpackNote } from './record';
export type { PackOptions, UnpackedNote } from './record';
export { halfToDecimal, toHalfBits, fromHalfBits } from './float';
