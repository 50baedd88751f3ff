import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { actions, renderActionDocs } from '../../activities';
import { projectRoot } from '../../config';
import { actionsDoc, docsArguments, packActionsDoc, writeActionDocs } from '../../devstack/write-action-docs';
import { loadActionPacks } from '../../workers/action-packs';

describe('docs: docs/actions.md', () => {
  it('matches the action declarations (run `npm run docs` after changing an action)', () => {
    const onDisk = fs.readFileSync(path.join(projectRoot, 'docs', 'actions.md'), 'utf8');
    assert.equal(onDisk, actionsDoc(actions), 'docs/actions.md is stale: run `npm run docs` and commit the result');
  });

  it("says where the packs' actions are listed and how to generate a pack's own reference", () => {
    const doc = actionsDoc(actions);
    assert.ok(doc.startsWith(renderActionDocs(actions).slice(0, doc.indexOf('These are the built-in actions.'))));
    const packs = doc.slice(doc.indexOf('## Actions in packs'));
    assert.ok(packs.length > 0 && doc.includes('see [Actions in packs](#actions-in-packs)'));
    assert.match(packs, /`GET \/api\/actions` gives each pack action's description/);
    assert.match(packs, /the console's actions page \(`\/ui\/actions`\)/);
    assert.match(packs, /npm run docs -- --pack \.\/examples\/action-pack {10}# writes webhooks-actions\.md/);
  });

  it("writes a pack's reference with npm run docs -- --pack, loading the pack as a worker does", () => {
    const [example] = loadActionPacks(['./examples/action-pack'], { cwd: projectRoot });
    const doc = packActionsDoc(example!);
    assert.ok(doc.startsWith('# Actions of pack `webhooks` 1.0.0\n'));
    assert.match(doc, /by `npm run docs -- --pack \.\/examples\/action-pack`/);
    assert.match(doc, /A worker loads the pack with `FLOW_ACTION_PACKS=\.\/examples\/action-pack`/);
    assert.match(doc, /\n- \[`webhooks\.post_signed`\]\(#webhookspost_signed\)\n/);
    assert.match(doc, /\| `url` \| string \| yes \| {2}\| \*\*Guarded\*\*: chooses who receives a body signed/);
    assert.ok(!doc.includes('## `http.request`'), "only the pack's actions");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-pack-docs-'));
    try {
      // The script as npm runs it: from the repository root, the pack resolved from where the command was typed.
      const printed = execFileSync(
        process.execPath,
        [
          '--require',
          'tsx/cjs',
          path.join(projectRoot, 'devstack', 'write-action-docs.ts'),
          '--pack',
          path.join(projectRoot, 'examples', 'action-pack'),
        ],
        { cwd: projectRoot, env: { ...process.env, INIT_CWD: dir }, encoding: 'utf8' },
      );
      const written = path.join(dir, 'webhooks-actions.md');
      assert.equal(printed.trim(), `wrote ${written} (pack "webhooks" 1.0.0, 1 action)`);
      assert.equal(
        fs.readFileSync(written, 'utf8'),
        packActionsDoc({ ...example!, source: path.join(projectRoot, 'examples', 'action-pack') }),
      );
      // --out names the file, relative to where the command was typed.
      assert.deepEqual(
        writeActionDocs(['--pack', path.join(projectRoot, 'examples', 'action-pack'), '--out', 'ref.md'], dir),
        [`wrote ${path.join(dir, 'ref.md')} (pack "webhooks" 1.0.0, 1 action)`],
      );
      assert.equal(fs.readFileSync(path.join(dir, 'ref.md'), 'utf8'), fs.readFileSync(written, 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => docsArguments(['--out', 'x.md']), /--out goes with --pack; usage: npm run docs/);
    assert.throws(() => docsArguments(['--pakc', 'x']), /Unknown option '--pakc'.*usage: npm run docs/);
    assert.throws(
      () => writeActionDocs(['--pack', './no/such/pack'], projectRoot),
      /FLOW_ACTION_PACKS entry "\.\/no\/such\/pack" cannot be found/,
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
