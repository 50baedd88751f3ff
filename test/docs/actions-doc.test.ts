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

  it('lists the fields of output items, such as the email of each git.changelog author', () => {
    const doc = renderActionDocs(actions);
    const changelog = doc.slice(doc.indexOf('## `git.changelog`'), doc.indexOf('## `git.checkout`'));
    for (const field of [
      'commits[].sha',
      'commits[].author_email',
      'commits[].tickets',
      'authors[].name',
      'authors[].email',
    ])
      assert.ok(changelog.includes(`| \`${field}\` |`), field);
  });

  it('marks guarded inputs, says what SLACK_API_URL looks like, and that Jenkins artifact URLs carry no credentials', () => {
    const doc = renderActionDocs(actions);
    const section = (id: string): string => {
      const start = doc.indexOf(`## \`${id}\``);
      const next = doc.indexOf('\n## `', start + 1);
      return doc.slice(start, next === -1 ? undefined : next);
    };
    assert.match(
      section('build.run'),
      /\| `command` \| string\[\] \| yes \| {2}\| \*\*Guarded\*\*: chooses the program/,
    );
    assert.match(section('http.request'), /\| `url` .*\*\*Guarded\*\* when `secret_headers` is set/);
    assert.match(section('git.tag'), /\| `repository` .*\*\*Guarded\*\*/);
    assert.match(section('slack.post_message'), /SLACK_API_URL .*ends in \/api\/, such as https:\/\/slack\.com\/api\//);
    assert.match(section('jenkins.get_artifacts'), /The URLs never carry credentials/);
  });
});
