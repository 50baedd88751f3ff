/**
 * Loads the editor bundle (CodeMirror and the `yaml` package, built apart by console/router.ts) the first time an
 * editing page needs it, so the other pages never download it.
 */
import { h } from './dom';
import type { EditorModule } from './editor/editor-api';

/** The editor bundle's address, set by the console's build (esbuild `define`). */
declare const FLOW_EDITOR_SCRIPT: string;

let loading: Promise<EditorModule> | undefined;

/** The editor bundle's functions, once its script has loaded. */
export function loadEditor(): Promise<EditorModule> {
  loading ??= new Promise<EditorModule>((resolve, reject) => {
    const script = h('script', {
      src: FLOW_EDITOR_SCRIPT,
      onload: () => {
        if (window.flowEditor) resolve(window.flowEditor);
        else reject(new Error('The editor could not be started; reload the page.'));
      },
      onerror: () => {
        loading = undefined;
        script.remove();
        reject(new Error('The editor could not be loaded; check that the gateway is running, then reload the page.'));
      },
    });
    document.head.appendChild(script);
  });
  return loading;
}
