/**
 * What the editor bundle (`editor/main.ts`, loaded by the editing pages only) gives the console: a YAML editor with
 * errors shown at their lines, and changes to YAML text that keep its comments. Types only, shared by both bundles.
 */

/** An error to show at a line of the YAML (1-based). */
export interface LineError {
  readonly line: number;
  readonly message: string;
}

/** A YAML editor placed in a page. */
export interface YamlEditor {
  /** The text as it is now. */
  text(): string;
  /** Marks these errors at their lines (and clears earlier ones). */
  showErrors(errors: readonly LineError[]): void;
  /** Puts the cursor at the start of a line, scrolls to it and focuses the editor. */
  goToLine(line: number): void;
}

/** Options of {@link EditorModule.createYamlEditor}. */
export interface YamlEditorOptions {
  readonly text: string;
  /** The accessible name of the text area, such as "YAML of release". */
  readonly label: string;
  readonly readOnly: boolean;
  /** Called after every change of the text. */
  readonly onChange?: () => void;
}

/** A change of one value of a YAML document: its path (keys and list positions), and the new value or none. */
export interface ValueEdit {
  readonly path: readonly (string | number)[];
  /** The new value; undefined removes the key. */
  readonly value: unknown;
}

/** The editor bundle's exports, found on `window.flowEditor` once it has loaded. */
export interface EditorModule {
  readonly createYamlEditor: (parent: HTMLElement, options: YamlEditorOptions) => YamlEditor;
  /** Applies `edits` to YAML `text`, keeping its comments, order and layout elsewhere. */
  readonly editYaml: (text: string, edits: readonly ValueEdit[]) => string;
  /** A value as a YAML document, such as a new definition's skeleton. */
  readonly toYaml: (value: unknown) => string;
}

declare global {
  interface Window {
    flowEditor?: EditorModule;
  }
}
