/**
 * The hand-written event receiver: what a user writes instead of Flow's gateway to turn an HTTP POST into a durable
 * workflow start. One Express route checks a bearer token, parses the JSON body and starts Flow's `dispatchEvent`
 * workflow with the same event as the gateway would, its workflow id derived from the Idempotency-Key. It has no
 * request log, rate limit, metrics, problem+json answers, search attributes or summary: a fair minimum, not a
 * strawman. The intake benchmark runs it in its own process (`bench/receiver-process.ts`), as the gateway runs.
 *
 * A second route, `POST /runs/:mode`, is the throughput benchmark's baseline: what a user writes instead of Flow for
 * "this webhook runs three HTTP calls", starting a hand-written workflow of three activities (`remote`) or three local
 * activities (`local`) on the baseline worker's task queue.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import express, { type Express, type Request, type Response } from 'express';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FlowEvent } from '../../common/run-types';
import type { PostEvent } from './activities';

/** What the receiver needs: the Temporal client, the one token it accepts, Flow's and the baseline's task queues. */
export interface ReceiverOptions {
  readonly client: Client;
  readonly token: string;
  readonly taskQueue: string;
  /** Where `/runs/:mode` starts its hand-written workflows. */
  readonly baselineTaskQueue: string;
}

/** The hand-written workflow each mode of `/runs/:mode` starts (`bench/baseline/workflows.ts`). */
const RUN_WORKFLOWS: Readonly<Record<string, string>> = { remote: 'postThrice', local: 'postThriceLocal' };

/** The receiver's one route, `POST /events/:source/:type`, answering 202 `{eventId, workflowId, duplicate}`. */
export function createReceiver({ client, token, taskQueue, baselineTaskQueue }: ReceiverOptions): Express {
  // Digests have one length, so the comparison takes the same time whatever the caller sent.
  const expected = sha256(token);
  const authorized = (req: Request, res: Response): boolean => {
    const presented = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '';
    if (timingSafeEqual(sha256(presented), expected)) return true;
    res.status(401).json({ detail: 'a valid bearer token is required' });
    return false;
  };
  const app = express();
  app.post('/events/:source/:type', express.json(), async (req, res) => {
    if (!authorized(req, res)) return;
    const { source, type } = req.params;
    const idempotencyKey = req.get('idempotency-key');
    const eventId = `${source}-${idempotencyKey ?? randomUUID()}`;
    const event: FlowEvent = {
      id: eventId,
      source,
      type,
      body: req.body as Record<string, unknown>,
      receivedAt: new Date().toISOString(),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      causation: { rootEventId: eventId, depth: 0 },
    };
    const workflowId = `event-${eventId}`;
    try {
      await client.workflow.start('dispatchEvent', { taskQueue, workflowId, args: [event] });
      res.status(202).json({ eventId, workflowId, duplicate: false });
    } catch (error) {
      // The same key again: its workflow is already running, so the event was accepted before.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      res.status(202).json({ eventId, workflowId, duplicate: true });
    }
  });
  app.post('/runs/:mode', express.json(), async (req, res) => {
    if (!authorized(req, res)) return;
    const workflowType = RUN_WORKFLOWS[req.params.mode];
    const body = req.body as Record<string, unknown>;
    if (workflowType === undefined || typeof body.target !== 'string') {
      res.status(400).json({ detail: 'POST /runs/remote or /runs/local with a JSON body whose target is a URL' });
      return;
    }
    const eventId = req.get('idempotency-key') ?? randomUUID();
    const workflowId = `calls-${eventId}`;
    const event: PostEvent = { eventId, target: body.target, body };
    await client.workflow.start(workflowType, { taskQueue: baselineTaskQueue, workflowId, args: [event] });
    res.status(202).json({ eventId, workflowId, duplicate: false });
  });
  return app;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
