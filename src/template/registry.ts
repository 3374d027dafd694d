// Where a notefile's active template is kept: note.template works against this interface; the
// card's registry is NoteTemplates (src/notefile/templates.ts), over the notefile metadata on flash.
import type { Template } from './layout';

/** The template active on a notefile, with its port (a notefile property, not part of the layout). */
export interface TemplateSetting {
  readonly template: Template;
  readonly port?: number;
}

export interface TemplateRegistry {
  get(file: string): TemplateSetting | undefined;
  /** Make `template` active. Older versions stay with the notes packed with them: compare with
   * sameTemplate to reuse a version when only the port changed. */
  set(file: string, template: Template, port: number | undefined): void;
  /** Remove the active template (notes already packed keep theirs). No-op when there is none. */
  delete(file: string): void;
  /** Whether a notefile other than `file` uses `port`. */
  portInUse(port: number, file: string): boolean;
}
