import assert from 'node:assert/strict';
import { flowSearchAttributes } from '../../common/search-attributes';
import { ensureSearchAttributes, missingSearchAttributesMessage } from '../../workers/search-attributes';
import { connectClient, testConfig } from '../support/stack';

describe("workers: Flow's search attributes at start", () => {
  it('finds every one registered on the test server (FlowMatchedRuns among them), adding nothing', async () => {
    const { connection } = await connectClient();
    try {
      assert.deepEqual(await ensureSearchAttributes(connection, testConfig().temporal.namespace), []);
      const listed = await connection.operatorService.listSearchAttributes({
        namespace: testConfig().temporal.namespace,
      });
      assert.ok(Object.keys(listed.customAttributes ?? {}).includes(flowSearchAttributes.FlowMatchedRuns.name));
    } finally {
      await connection.close();
    }
  });

  it('names the command that registers each missing attribute when the worker may not add them', () => {
    const message = missingSearchAttributesMessage('prod', ['FlowMatchedRuns'], 'PERMISSION_DENIED');
    assert.match(message, /lacks Flow's search attributes FlowMatchedRuns/);
    assert.match(message, /PERMISSION_DENIED/);
    assert.ok(
      message.includes('temporal operator search-attribute create --namespace prod --name FlowMatchedRuns --type Int'),
      message,
    );
    assert.ok(!message.includes('--name FlowEventId'), 'only the missing ones');
  });
});
