/**
 * The console's addresses. Every page has a stable URL under /ui, which the server answers with the shell; links are
 * plain `<a href>` (so they open in a new tab, work from the keyboard and can be copied), and a click on one is
 * drawn here without reloading.
 */
import { actionsPage } from './pages/actions';
import { approvalsPage } from './pages/approvals';
import { definitionPage } from './pages/definition';
import { compareRevisionsPage } from './pages/edit-compare';
import { newDefinitionPage } from './pages/edit-new';
import { editParamsPage } from './pages/edit-params';
import { editYamlPage } from './pages/edit-yaml';
import { eventPage } from './pages/event';
import { eventsPage, sourcePage } from './pages/events';
import type { Page } from './pages/page';
import { runPage, runsPage } from './pages/runs';
import { subscriptionsPage } from './pages/subscriptions';
import { trainPage, trainsPage } from './pages/trains';

const ROUTES: readonly (readonly [RegExp, Page])[] = [
  [/^\/ui\/?$/, eventsPage],
  [/^\/ui\/events\/([^/]+)\/?$/, sourcePage],
  [/^\/ui\/events\/([^/]+)\/([^/]+)\/?$/, eventPage],
  [/^\/ui\/definitions\/([^/]+)\/?$/, definitionPage],
  [/^\/ui\/definitions\/([^/]+)\/edit\/?$/, editParamsPage],
  [/^\/ui\/definitions\/([^/]+)\/yaml\/?$/, editYamlPage],
  [/^\/ui\/definitions\/([^/]+)\/compare\/?$/, compareRevisionsPage],
  [/^\/ui\/new\/?$/, newDefinitionPage],
  [/^\/ui\/actions\/?$/, actionsPage],
  [/^\/ui\/trains\/?$/, trainsPage],
  [/^\/ui\/trains\/([^/]+)\/?$/, trainPage],
  [/^\/ui\/runs\/?$/, runsPage],
  [/^\/ui\/runs\/([^/]+)\/?$/, runPage],
  [/^\/ui\/approvals\/?$/, approvalsPage],
  [/^\/ui\/subscriptions\/?$/, subscriptionsPage],
];

/** The page at `pathname` and its decoded parameters; undefined when no page is there. */
export function route(pathname: string): { page: Page; params: string[] } | undefined {
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(pathname);
    if (!match) continue;
    try {
      return { page, params: match.slice(1).map((param) => decodeURIComponent(param)) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

let draw: () => void = () => undefined;

/**
 * Goes to a console address from code, as a click on a link to it would (a submitted filter form, say): a new
 * history entry, or the current one replaced with `replace`, then the page is drawn.
 */
export function navigate(href: string, options: { readonly replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  draw();
}

/** Calls `go` for clicks on links to console pages (plain left clicks only), and for the back and forward buttons. */
export function interceptLinks(go: () => void): void {
  draw = go;
  document.addEventListener('click', (event) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    const link = event.target instanceof Element ? event.target.closest('a') : null;
    if (!link || link.target || link.hasAttribute('download')) return;
    const url = new URL(link.href);
    if (url.origin !== location.origin || !/^\/ui(?:\/|$)/.test(url.pathname)) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    event.preventDefault();
    history.pushState(null, '', `${url.pathname}${url.search}${url.hash}`);
    go();
  });
  window.addEventListener('popstate', go);
}
