import assert from 'node:assert/strict';
import { isGrpcServiceError } from '@temporalio/client';
import { findFreePort } from '../../devstack/ports';
import { RECONNECT_CHANNEL_ARGS, retryWithinDeadline, temporalConnection } from '../../intake/temporal-connection';

describe("gateway: the gateway's Temporal connection", () => {
  it('caps the reconnect backoff at 1 s and keeps the client keepalive; channel args given by the caller win', async () => {
    const connection = temporalConnection({ address: '127.0.0.1:1' });
    const tuned = temporalConnection({ address: '127.0.0.1:1', channelArgs: { 'grpc.max_reconnect_backoff_ms': 500 } });
    try {
      assert.equal(connection.options.channelArgs['grpc.max_reconnect_backoff_ms'], 1_000);
      assert.equal(connection.options.channelArgs['grpc.initial_reconnect_backoff_ms'], 100);
      assert.equal(connection.options.channelArgs['grpc.keepalive_time_ms'], 30_000);
      assert.equal(tuned.options.channelArgs['grpc.max_reconnect_backoff_ms'], 500);
      assert.deepEqual(RECONNECT_CHANNEL_ARGS['grpc.max_reconnect_backoff_ms'], 1_000);
    } finally {
      await Promise.all([connection.close(), tuned.close()]);
    }
  });

  it("retries an unreachable Temporal within the call's deadline and then fails with UNAVAILABLE, not DEADLINE_EXCEEDED", async () => {
    let retries = 0;
    const connection = temporalConnection({
      address: `127.0.0.1:${await findFreePort()}`,
      interceptors: [
        retryWithinDeadline({
          initialIntervalMs: () => {
            retries += 1;
            return 100;
          },
        }),
      ],
    });
    try {
      const error: unknown = await connection
        .withDeadline(Date.now() + 1_500, () => connection.workflowService.getSystemInfo({}))
        .then(
          () => undefined,
          (failure: unknown) => failure,
        );
      assert.ok(isGrpcServiceError(error), String(error));
      assert.equal(error.code, 14, error.message);
      assert.ok(retries >= 2, `retried ${retries} times`);
    } finally {
      await connection.close();
    }
  });
});
