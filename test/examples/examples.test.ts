import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { actionsById } from '../../activities';
import type { RunResult } from '../../common/run-types';
import { projectRoot } from '../../config';
import { parseDefinitionText, validateDefinition } from '../../registry';
import { startHarness, type Harness } from '../support/harness';
import { eventually, HttpReceiver } from '../support/http-receiver';

const examplesDir = path.join(projectRoot, 'examples');
const files = fs.readdirSync(examplesDir).filter((file) => /\.ya?ml$/.test(file));

describe('examples: the shipped definitions', () => {
  for (const file of files) {
    it(`${file} is a valid definition whose id matches its file name`, () => {
      const raw = parseDefinitionText(fs.readFileSync(path.join(examplesDir, file), 'utf8'), 'yaml');
      const result = validateDefinition(raw, actionsById());
      assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
      assert.equal(`${result.definition.id}.yaml`, file);
    });
  }

  describe('hello.yaml, run for real', () => {
    let harness: Harness;
    let receiver: HttpReceiver;
    before(async () => {
      receiver = await HttpReceiver.start();
      harness = await startHarness();
      const text = fs.readFileSync(path.join(examplesDir, 'hello.yaml'), 'utf8');
      const saved = await request(harness.app)
        .put('/api/definitions/hello')
        .set('Authorization', harness.auth)
        .type('application/yaml')
        .send(text);
      assert.equal(saved.status, 201);
    });
    after(async () => {
      await harness.stop();
      await receiver.stop();
    });

    async function runFor(body: object): Promise<RunResult> {
      const posted = await request(harness.app)
        .post('/events/demo/hello')
        .set('Authorization', harness.auth)
        .send(body);
      return (await harness.finished(posted.body.workflowId as string)).run;
    }

    it('greets by name and posts the greeting to the callback', async () => {
      const result = await runFor({ name: 'Ada', callback: `${receiver.url}/greetings` });
      assert.deepEqual(result.vars, { greeting: 'Hello, Ada!' });
      const posted = await eventually(() => receiver.to('/greetings')[0]);
      assert.equal((posted.json as { text: string }).text, 'Hello, Ada!');
    });

    it('greets the world and skips delivery when the event has no callback', async () => {
      const result = await runFor({});
      assert.deepEqual(result.vars, { greeting: 'Hello, world!' });
      assert.deepEqual(
        result.steps.map((step) => step.status),
        ['completed', 'skipped'],
      );
    });
  });
});
