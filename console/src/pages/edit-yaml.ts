/**
 * A definition's YAML in an editor (CodeMirror), as it was written, comments included (`GET /api/definitions/:id`
 * with `Accept: application/yaml`). A write session reviews its edit (errors at their lines, what changes) and
 * saves it with a change message; a read session sees the YAML, read-only.
 */
import { definition } from '../api';
import { h } from '../dom';
import { definitionYaml } from '../edit-api';
import { navigate } from '../navigation';
import { definitionHref } from '../views/definition-facts';
import { readScopeNotice } from '../views/edit-controls';
import { yamlReview } from '../views/yaml-review';
import type { Page } from './page';

/** `/ui/definitions/:id/yaml`. */
export const editYamlPage: Page = async ([id = '']) => {
  const stored = await definition(id);
  // The YAML of the revision just read, so the text, its label and the If-Match of the save agree.
  const yaml = await definitionYaml(id, stored.revision);
  const name = stored.definition.name;
  const workbench = await yamlReview({
    id: () => id,
    base: yaml,
    baseLabel: `revision ${stored.revision}`,
    against: stored.revision,
    text: yaml,
    label: `YAML of ${name}`,
    isNew: false,
    onSaved: () => navigate(definitionHref(id)),
  });
  return {
    title: `YAML of ${name}`,
    content: [
      h('h1', null, `YAML of ${name}`),
      h(
        'p',
        { class: 'lead' },
        `Revision ${stored.revision}, as it was written. `,
        h('a', { href: definitionHref(id) }, `Back to ${name}`),
        '.',
      ),
      readScopeNotice(),
      workbench,
    ],
  };
};
