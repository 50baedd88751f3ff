/**
 * Controls that change something. A read session sees every page, but its edit controls are disabled and say why:
 * the button stays focusable (`aria-disabled`, not `disabled`), so a keyboard user reaches it and hears the reason.
 */
import type { Scope } from './api-types';
import { h } from './dom';

/** Why an edit control is disabled for a read session. */
export const READ_SCOPE_REASON =
  'Your token has the read scope: you can see everything but change nothing. Sign in with a write token to edit.';

/** A button that changes something: enabled for a write session, disabled with the reason for a read one. */
export function editButton(session: { readonly scope: Scope }, label: string, onClick: () => void): HTMLButtonElement {
  if (session.scope === 'write') return h('button', { type: 'button', onclick: onClick }, label);
  return h(
    'button',
    {
      type: 'button',
      class: 'is-disabled',
      'aria-disabled': 'true',
      title: READ_SCOPE_REASON,
      onclick: (event: Event) => event.preventDefault(),
    },
    label,
  );
}
