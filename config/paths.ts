import path from 'node:path';

/** The repository root, whether running from sources (tsx) or from the compiled `dist/` tree. */
export const projectRoot: string = (() => {
  const here = path.resolve(__dirname, '..');
  return path.basename(here) === 'dist' ? path.dirname(here) : here;
})();

/** Where local state lives: the Temporal SQLite file, FerretDB's SQLite files, logs and the generated API token. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(projectRoot, env['FLOW_DATA_DIR'] ?? '.data');
}

/** Where pinned tool installs are cached (the Temporal CLI venv, the FerretDB binary). */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(projectRoot, env['FLOW_TOOLS_DIR'] ?? '.tools');
}
