/**
 * The sign-in page: an API token in, a session cookie out (POST /ui/session); the token itself is not kept. When the
 * gateway has OpenID Connect configured, a link to sign in with the identity provider comes first.
 */
import { ApiError, identityProvider, signIn } from '../api';
import type { SessionInfo } from '../api-types';
import { h } from '../dom';

/**
 * The sign-in form; `signedIn` gets the new session. `notice` says why it is shown, such as after a logout, which
 * `signedOut` says was just done (the page then offers to sign out of the identity provider too).
 */
export function signInPage(
  notice: string | undefined,
  signedIn: (session: SessionInfo) => void,
  signedOut = false,
): HTMLElement {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
  });
  const message = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { method: 'post', action: '/ui/session', class: 'sign-in' },
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { class: 'hint', id: 'token-hint' },
      'FLOW_API_TOKEN (npm start prints it and keeps it in .data/api-token), or a token of FLOW_API_TOKENS. ' +
        "What you do is recorded under the token's name.",
    ),
    button,
    message,
  );
  input.setAttribute('aria-describedby', 'token-hint');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    message.textContent = '';
    signIn(input.value)
      .then((session) => {
        input.value = '';
        signedIn(session);
      })
      .catch((error: unknown) => {
        message.textContent = error instanceof ApiError ? error.message : String(error);
        button.disabled = false;
        input.focus();
      });
  });
  const provider = h('div', { class: 'identity-provider' });
  void identityProvider().then((status) => {
    if (!status) return;
    // target=_self: these are navigations to the gateway and the IdP, not pages the console draws itself.
    if (!status.reachable) {
      provider.append(h('p', { class: 'form-error', role: 'alert' }, status.detail));
    } else {
      provider.append(
        h('a', { class: 'button-link', href: '/ui/auth/login', target: '_self' }, `Sign in with ${status.name}`),
      );
      if (signedOut && status.endSession) {
        provider.append(' ', h('a', { href: '/ui/auth/logout', target: '_self' }, `Also sign out of ${status.name}`));
      }
    }
    provider.append(h('p', { class: 'hint' }, 'Or, for local use, with an API token:'));
  });
  return h(
    'main',
    { id: 'main', class: 'sign-in-page', tabindex: -1 },
    h('h1', null, 'Sign in to Flow'),
    notice ? h('p', { role: 'status' }, notice) : null,
    provider,
    form,
  );
}
