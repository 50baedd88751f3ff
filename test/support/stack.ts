import { Client, Connection } from '@temporalio/client';
import { bundleFlowWorkflows } from '../../workers/create-worker';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { loadConfig, type FlowConfig } from '../../config';
import { openMongo, type MongoHandle } from '../../registry';

/** The configuration the global fixture established for this run. */
export function testConfig(): FlowConfig {
  return loadConfig(process.env);
}

/** A Temporal client on the test server; close `connection` when done. */
export async function connectClient(): Promise<{ client: Client; connection: Connection }> {
  const { address, namespace } = testConfig().temporal;
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), connection };
}

/** A worker-side connection to the test server. */
export function connectWorker(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: testConfig().temporal.address });
}

/** The test database. */
export function openTestMongo(): MongoHandle {
  return openMongo(testConfig().mongodb);
}

/** A unique name for a task queue, workflow id or collection, so tests never see each other's work. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Bundles a workflows module once per test file (bundling takes seconds), silencing webpack's report. */
export function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietLogger });
}

/** Bundles Flow's own workflows exactly as the worker does, silencing webpack's report. */
export function bundleFlow(): Promise<WorkflowBundleWithSourceMap> {
  return bundleFlowWorkflows(quietLogger);
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
