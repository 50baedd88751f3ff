/**
 * The YAML editor: CodeMirror 6 with YAML highlighting, line numbers and the API's errors marked at their lines
 * (underlined, with a marker in the gutter and the message on hover). Its text area is a labelled textbox, so
 * keyboard and screen-reader users reach it like any field; Tab leaves it (it does not indent).
 */
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import type { LineError, YamlEditor, YamlEditorOptions } from './editor-api';

/** The editor's look; CodeMirror adopts it into the shadow root with its own styles. */
const LOOK = EditorView.theme({
  '&': { maxHeight: '70vh', backgroundColor: '#ffffff' },
  '.cm-scroller': { fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace", fontSize: '0.9rem' },
  '&.cm-focused': { outline: '3px solid #c2410c', outlineOffset: '2px' },
});

/**
 * A YAML editor in `parent`, inside a shadow root of its own. CodeMirror styles itself with generated rules: in a
 * document it writes them into a `<style>` element, which the console's Content-Security-Policy (`style-src
 * 'self'`) refuses; in a shadow root it adopts them as a constructed stylesheet, which the policy leaves alone.
 */
export function createYamlEditor(parent: HTMLElement, options: YamlEditorOptions): YamlEditor {
  const root = parent.attachShadow({ mode: 'open' });
  const mount = document.createElement('div');
  root.appendChild(mount);
  const view = new EditorView({
    parent: mount,
    root,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        LOOK,
        EditorState.readOnly.of(options.readOnly),
        EditorView.contentAttributes.of({
          'aria-label': options.label,
          ...(options.readOnly ? { 'aria-readonly': 'true' } : {}),
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange?.();
        }),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    showErrors(errors: readonly LineError[]) {
      const doc = view.state.doc;
      const diagnostics: Diagnostic[] = errors.map((error) => {
        const line = doc.line(Math.min(Math.max(error.line, 1), doc.lines));
        const indent = /^\s*/.exec(line.text)?.[0].length ?? 0;
        return {
          from: line.from + Math.min(indent, line.length),
          to: line.to,
          severity: 'error',
          message: error.message,
        };
      });
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    goToLine(line: number) {
      const doc = view.state.doc;
      const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
      view.dispatch({ selection: { anchor: target.from }, scrollIntoView: true });
      view.focus();
    },
  };
}
