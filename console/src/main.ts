/**
 * The Flow console in the browser: signs in with an API token, then draws each page from the gateway's HTTP API.
 * Bundled by the gateway (console/router.ts) into one script; no framework, and every value is drawn as text
 * (dom.ts). See docs/console.md.
 */
import { ApiError, currentSession, signOut, useSession } from './api';
import type { SessionInfo } from './api-types';
import { h, replace } from './dom';
import { interceptLinks, route } from './navigation';
import { signInPage } from './pages/sign-in';

const root = document.getElementById('app') ?? document.body;
let renders = 0;
let signedIn = false;

function showSignIn(notice?: string, signedOut = false): void {
  signedIn = false;
  useSession(null, () => undefined);
  document.title = 'Sign in · Flow console';
  replace(
    root,
    signInPage(
      notice,
      (session) => {
        showConsole(session);
        void renderPage(true);
      },
      signedOut,
    ),
  );
  document.getElementById('token')?.focus();
}

function showConsole(session: SessionInfo): void {
  signedIn = true;
  useSession(session, () => showSignIn('Your session has ended. Sign in again.'));
  const logout = h('button', { type: 'button', class: 'logout' }, 'Log out');
  logout.addEventListener('click', () => {
    logout.disabled = true;
    signOut()
      .catch(() => undefined)
      .finally(() => showSignIn('You are signed out.', true));
  });
  replace(
    root,
    h('a', { class: 'skip-link', href: '#main' }, 'Skip to content'),
    h(
      'header',
      { class: 'site-header' },
      h('a', { class: 'brand', href: '/ui' }, 'Flow console'),
      h(
        'nav',
        { 'aria-label': 'Console' },
        h(
          'ul',
          null,
          h('li', null, h('a', { href: '/ui', 'data-section': 'events' }, 'Events')),
          h('li', null, h('a', { href: '/ui/actions', 'data-section': 'actions' }, 'Actions')),
          h('li', null, h('a', { href: '/ui/runs', 'data-section': 'runs' }, 'Runs')),
          h('li', null, h('a', { href: '/ui/trains', 'data-section': 'trains' }, 'Trains')),
          h('li', null, h('a', { href: '/ui/approvals', 'data-section': 'approvals' }, 'Approvals')),
          h('li', null, h('a', { href: '/ui/subscriptions', 'data-section': 'subscriptions' }, 'My subscriptions')),
        ),
      ),
      h(
        'p',
        { class: 'who' },
        'Signed in as ',
        h('strong', null, session.actor),
        ' ',
        h(
          'span',
          {
            class: `scope scope-${session.scope}`,
            title: session.scope === 'read' ? 'You can see everything but change nothing.' : undefined,
          },
          `${session.scope} scope`,
        ),
      ),
      logout,
    ),
    h('main', { id: 'main', tabindex: -1 }),
  );
}

/** Draws the page of the current address into the main landmark; `moveFocus` after a navigation. */
async function renderPage(moveFocus: boolean): Promise<void> {
  const main = document.getElementById('main');
  if (!main || !signedIn) return;
  const render = ++renders;
  markCurrentSection();
  main.setAttribute('aria-busy', 'true');
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  const target = route(location.pathname);
  let title: string;
  try {
    if (!target) {
      title = 'Not found';
      replace(
        main,
        h('h1', null, 'No such page'),
        h('p', null, 'The console has no page at this address. ', h('a', { href: '/ui' }, 'See every event.')),
      );
    } else {
      const page = await target.page(target.params);
      if (render !== renders || !signedIn) return;
      title = page.title;
      replace(main, page.content);
    }
  } catch (error) {
    if (render !== renders || !signedIn) return;
    title = 'Error';
    replace(
      main,
      h('h1', null, error instanceof ApiError && error.status === 404 ? 'Not found' : 'This page cannot be shown'),
      h('p', { role: 'alert' }, error instanceof Error ? error.message : String(error)),
    );
  }
  main.removeAttribute('aria-busy');
  document.title = `${title} · Flow console`;
  if (moveFocus) focusTarget(main);
}

/** After a navigation: the element the URL's fragment names, or else the page's heading, gets the focus. */
function focusTarget(main: HTMLElement): void {
  const fragment = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  const target = fragment ?? main.querySelector('h1') ?? main;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
  if (fragment) fragment.scrollIntoView();
}

function markCurrentSection(): void {
  const section =
    /^\/ui\/(actions|runs|trains|approvals|subscriptions)(?:\/|$)/.exec(location.pathname)?.[1] ?? 'events';
  for (const link of document.querySelectorAll('nav a[data-section]')) {
    if (link.getAttribute('data-section') === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function start(): Promise<void> {
  interceptLinks(() => void renderPage(true));
  let session: SessionInfo | null;
  try {
    session = await currentSession();
  } catch (error) {
    replace(
      root,
      h(
        'main',
        { id: 'main' },
        h('h1', null, 'Flow console'),
        h('p', { role: 'alert' }, error instanceof Error ? error.message : String(error)),
      ),
    );
    return;
  }
  if (!session) {
    showSignIn();
    return;
  }
  showConsole(session);
  await renderPage(false);
}

void start();
