/**
 * Two revisions of a definition side by side as a line diff of their YAML (`GET /api/definitions/:id?revision=N`
 * with `Accept: application/yaml`), and restoring one of them: saved again as the newest revision, with a change
 * message (`POST /api/definitions/:id/revisions/:n/restore`). The two revisions are in the address
 * (`?from=2&to=5`), so a comparison can be linked.
 */
import { definition, revisions } from '../api';
import { h, uniqueId } from '../dom';
import { definitionYaml, restoreRevision } from '../edit-api';
import { navigate } from '../navigation';
import { definitionHref } from '../views/definition-facts';
import { compareForm } from '../views/edit-panel';
import { changeForm, readScopeNotice } from '../views/edit-controls';
import { diffView, lineDiff } from '../views/line-diff';
import type { Page } from './page';

/** `/ui/definitions/:id/compare?from=&to=`; by default the revision before the current one, and the current one. */
export const compareRevisionsPage: Page = async ([id = '']) => {
  const [stored, history] = await Promise.all([definition(id), revisions(id)]);
  const name = stored.definition.name;
  const current = history.find((revision) => revision.current)?.revision ?? stored.revision;
  const query = new URLSearchParams(location.search);
  const pick = (key: string, fallback: number): number => {
    const wanted = Number(query.get(key));
    return history.some((revision) => revision.revision === wanted) ? wanted : fallback;
  };
  const to = pick('to', current);
  const from = pick('from', history.find((revision) => revision.revision < to)?.revision ?? to);
  const [before, after] = await Promise.all([definitionYaml(id, from), definitionYaml(id, to)]);
  const restorable = from !== current ? from : to !== current ? to : undefined;
  return {
    title: `Compare revisions of ${name}`,
    content: [
      h('h1', null, `Compare revisions of ${name}`),
      h(
        'p',
        { class: 'lead' },
        'The YAML of two revisions, line by line. ',
        h('a', { href: definitionHref(id) }, `Back to ${name}`),
        '.',
      ),
      compareForm(id, history, from, to),
      diffView(`Lines that change from revision ${from} to revision ${to}`, lineDiff(before, after)),
      restorable === undefined ? null : restoreForm(id, restorable, current),
    ],
  };
};

function restoreForm(id: string, revision: number, current: number): HTMLElement {
  const headingId = uniqueId('restore');
  return changeForm({
    attrs: { class: 'restore-form', 'aria-labelledby': headingId },
    body: [
      h('h2', { id: headingId }, `Restore revision ${revision}`),
      h(
        'p',
        null,
        `Saves revision ${revision} again as the newest revision, after revision ${current}; events from then on run it. Nothing is lost: every revision stays listed.`,
      ),
      readScopeNotice(),
    ],
    button: `Restore revision ${revision}`,
    working: 'Restoring…',
    save: (message) => restoreRevision(id, revision, message, current),
    saved: () => navigate(definitionHref(id)),
  });
}
