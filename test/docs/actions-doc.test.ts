import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { actions, renderActionDocs } from '../../activities';
import { projectRoot } from '../../config';

describe('docs: docs/actions.md', () => {
  it('matches the action declarations (run `npm run docs` after changing an action)', () => {
    const onDisk = fs.readFileSync(path.join(projectRoot, 'docs', 'actions.md'), 'utf8');
    assert.equal(
      onDisk,
      renderActionDocs(actions),
      'docs/actions.md is stale: run `npm run docs` and commit the result',
    );
  });

  it('documents every action with its input fields and examples', () => {
    const doc = renderActionDocs(actions);
    for (const action of actions) {
      assert.ok(doc.includes(`## \`${action.id}\``), action.id);
      assert.ok(action.examples.length > 0, `${action.id} has no example`);
    }
    assert.match(doc, /\| `url` \| string \| yes \|/);
  });
});
