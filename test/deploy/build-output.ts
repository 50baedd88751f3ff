// What the deployment tests (docker-compose.yml, deploy/kubernetes/) check their commands against: the Dockerfile's
// default command and the files `npm run build` emits into the image.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../config';

interface TsConfig {
  readonly extends?: string;
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly compilerOptions?: { readonly outDir?: string; readonly rootDir?: string };
}

/** The project's Dockerfile, which builds the one image of the gateway and the worker. */
export const dockerfilePath = path.join(projectRoot, 'Dockerfile');

/** The exec-form CMD of the Dockerfile's final stage. */
export function dockerfileCmd(): string[] {
  const cmds = fs
    .readFileSync(dockerfilePath, 'utf8')
    .split('\n')
    .filter((line) => /^CMD\s+\[/.test(line));
  const last = cmds.at(-1);
  assert.ok(last, 'the Dockerfile has no exec-form CMD');
  return JSON.parse(last.replace(/^CMD\s+/, '')) as string[];
}

function readTsConfig(file: string): TsConfig {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TsConfig;
}

/** What `tsc -p tsconfig.build.json` sees: its own settings over the ones it extends. */
function buildTsConfig(): Required<Pick<TsConfig, 'include' | 'exclude'>> & { outDir: string; rootDir: string } {
  const build = readTsConfig(path.join(projectRoot, 'tsconfig.build.json'));
  const base = build.extends ? readTsConfig(path.resolve(projectRoot, build.extends)) : {};
  const options = { ...base.compilerOptions, ...build.compilerOptions };
  assert.ok(options.outDir && options.rootDir, 'tsconfig must set outDir and rootDir');
  return {
    include: build.include ?? base.include ?? [],
    exclude: build.exclude ?? base.exclude ?? [],
    outDir: options.outDir,
    rootDir: options.rootDir,
  };
}

/** Asserts that `emitted` (e.g. dist/gateway/main.js) is what the build compiles from an existing source file. */
export function assertEmittedByBuild(emitted: string): void {
  const tsconfig = buildTsConfig();
  const relative = path.relative(tsconfig.outDir, emitted);
  assert.ok(!relative.startsWith('..'), `${emitted} is outside the build's outDir ${tsconfig.outDir}`);
  const source = path.join(tsconfig.rootDir, relative).replace(/\.js$/, '.ts');
  assert.ok(fs.existsSync(path.join(projectRoot, source)), `${emitted} needs ${source}, which does not exist`);
  const topFolder = source.split(path.sep)[0] ?? '';
  assert.ok(tsconfig.include.includes(topFolder), `tsconfig.build.json does not include ${topFolder}/`);
  assert.ok(!tsconfig.exclude.includes(topFolder), `tsconfig.build.json excludes ${topFolder}/`);
}
