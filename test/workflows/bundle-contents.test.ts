import assert from 'node:assert/strict';
import { bundleFlow } from '../support/stack';

/**
 * The worker evaluates every bundled module once per workflow (only the preloaded ones are shared), so each package
 * workflow code pulls in is paid for by every dispatcher and every run, in CPU and in memory while it waits. zod alone
 * (through `common/definition.ts`) was about a fifth of the worker's CPU per event in the throughput benchmark. A package
 * joins this list deliberately: cheap to evaluate, or preloaded (`flowBundleOptions.preloadModules`).
 */
const ALLOWED_PACKAGES = [
  '@marcbachmann/cel-js', // preloaded: shared by every workflow
  '@temporalio/common',
  '@temporalio/workflow',
  'long', // @temporalio/common's
  'ms', // @temporalio/common's
  'nexus-rpc', // @temporalio/common's
];

/** The packages whose modules a webpack bundle holds, from its module ids (`"./node_modules/<package>/..."`). */
function bundledPackages(code: string): string[] {
  const packages = new Set<string>();
  for (const match of code.matchAll(/^\/\*{3}\/ "\.\/node_modules\/((?:@[^/"]+\/)?[^/"]+)\//gm))
    packages.add(match[1]!);
  return [...packages].sort();
}

describe('workflows: what the workflow bundle holds', () => {
  it('holds no package beyond the SDK and the shared CEL library (no zod, no registry code)', async function () {
    this.timeout(60_000);
    const { code } = await bundleFlow();
    const packages = bundledPackages(code);
    // The parse itself: a bundle always holds the SDK, so an empty list means the module ids were not found.
    assert.ok(packages.includes('@temporalio/workflow'), `no module ids found in the bundle: ${packages.join(', ')}`);
    assert.deepEqual(
      packages.filter((name) => !ALLOWED_PACKAGES.includes(name)),
      [],
      'workflow code imports a package every workflow would evaluate again: import it outside workflow code, ' +
        'move what workflows need into a module without it (as common/names.ts), or preload it',
    );
    assert.doesNotMatch(code, /^\/\*{3}\/ "\.\/(registry|gateway|activities|intake)\//m);
  });
});
