/**
 * The Flow console: a web UI served by the gateway under `/ui` (docs/console.md). `console/src/` is the browser code,
 * which talks only to the gateway's HTTP API like any client; `router.ts` is what the gateway mounts: the page shell,
 * the bundled code and stylesheet, and sign-in with an API token into a signed session cookie.
 */
export { consoleRouter } from './router';
export type { ConsoleRouterDeps } from './router';
