/**
 * The console's editor bundle: CodeMirror 6 for YAML, and YAML edits that keep comments (the `yaml` package). It is
 * most of the console's code, so it is built apart (console/router.ts) and loaded only by the editing pages
 * (`loadEditor` in editor-loader.ts); it hands its functions over on `window.flowEditor`.
 */
import type { EditorModule } from './editor-api';
import { editYaml, toYaml } from './yaml-edits';
import { createYamlEditor } from './yaml-editor';

const editor: EditorModule = { createYamlEditor, editYaml, toYaml };
window.flowEditor = editor;
