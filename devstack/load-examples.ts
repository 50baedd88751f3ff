import fs from 'node:fs';
import path from 'node:path';
import type { Progress } from './progress';

/** What happened to each example file. */
export interface ExampleLoadReport {
  readonly loaded: string[];
  readonly failed: { file: string; detail: string }[];
  readonly skipped: boolean;
}

/**
 * Saves every `examples/*.yaml` through the gateway's own API (so they are validated like any save), once: a marker
 * in the data directory remembers that it happened, so examples a user deleted are not brought back.
 */
export async function loadExamplesOnce(options: {
  examplesDir: string;
  dataDir: string;
  gatewayUrl: string;
  token: string;
  progress: Progress;
}): Promise<ExampleLoadReport> {
  const marker = path.join(options.dataDir, 'examples-loaded');
  if (fs.existsSync(marker)) return { loaded: [], failed: [], skipped: true };
  const files = fs.existsSync(options.examplesDir)
    ? fs
        .readdirSync(options.examplesDir)
        .filter((file) => /\.ya?ml$/.test(file))
        .sort()
    : [];
  const loaded: string[] = [];
  const failed: { file: string; detail: string }[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(options.examplesDir, file), 'utf8');
    const id = /^id:\s*([a-z0-9-]+)\s*$/m.exec(text)?.[1] ?? path.basename(file).replace(/\.ya?ml$/, '');
    const res = await fetch(`${options.gatewayUrl}/api/definitions/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/yaml' },
      body: text,
    });
    if (res.ok) loaded.push(id);
    else {
      const problem = (await res.json().catch(() => ({}))) as { detail?: string };
      failed.push({ file, detail: problem.detail ?? `HTTP ${res.status}` });
      options.progress.warn(`example ${file} was not loaded: ${problem.detail ?? `HTTP ${res.status}`}`);
    }
  }
  fs.writeFileSync(marker, `${JSON.stringify({ loadedAt: new Date().toISOString(), loaded }, null, 2)}\n`);
  if (loaded.length > 0) options.progress.step(`Loaded example definitions: ${loaded.join(', ')}`);
  return { loaded, failed, skipped: false };
}
