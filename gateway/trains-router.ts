import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { Router } from 'express';
import { mapLimit } from '../common/map-limit';
import {
  GROUP_NAME,
  TRAIN_HANDLERS,
  trainWorkflowId,
  type RemoveRequest,
  type TrainDeparture,
  type TrainState,
} from '../common/train-types';
import { TRAIN_WORKFLOW_TYPE } from '../intake';
import { actorOf } from './auth';
import { ProblemError } from './problem';
import { routeParam } from './request-body';

/** A train as the API shows it: the holder, and the queue with each run's position. */
export interface TrainView {
  readonly group: string;
  readonly holder: TrainState['holder'] | null;
  readonly queue: readonly (TrainState['queue'][number] & { readonly position: number })[];
  readonly recent: TrainState['recent'];
  /** Set when the train could not be asked (its state is then unknown). */
  readonly unavailable?: string;
}

/** How many trains are queried at once when listing them. */
const PARALLEL_QUERIES = 16;
/** How long one train's query may take; a query needs a worker to answer it. */
const QUERY_DEADLINE_MS = 5_000;

/**
 * The trains API: `GET /api/trains` (every busy group), `GET /api/trains/:group` and `DELETE
 * /api/trains/:group/queue/:eventId` (take a waiting run out of the line; write scope). A train's state lives in its
 * workflow, so these read it with a query and change it with an update; nothing is stored twice. The client is read
 * per request, so building the app touches no Temporal connection.
 */
export function trainsRouter(temporal: { readonly client: Client; readonly taskQueue: string }): Router {
  const router = Router();

  router.get('/trains', async (_req, res) => {
    const { client, taskQueue } = temporal;
    const ids: string[] = [];
    // This deployment's trains only: another Flow sharing the namespace has its own task queue.
    for await (const execution of client.workflow.list({
      query: `WorkflowType = '${TRAIN_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replaceAll("'", "\\'")}'`,
    })) {
      ids.push(execution.workflowId);
    }
    const trains = await mapLimit(ids.sort(), PARALLEL_QUERIES, async (workflowId): Promise<TrainView | undefined> => {
      try {
        return await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => queryTrain(client, workflowId));
      } catch (error) {
        // A train that ended between the listing and the query is no longer busy.
        if (error instanceof WorkflowNotFoundError) return undefined;
        // One train that cannot answer (no worker polls its task queue) must not hide the others.
        return {
          group: workflowId.replace(/^train-/, ''),
          holder: null,
          queue: [],
          recent: [],
          unavailable: `the train did not answer its query within ${QUERY_DEADLINE_MS / 1000}s; is a worker polling task queue ${taskQueue}?`,
        };
      }
    });
    res.json({ items: trains.filter((train): train is TrainView => train !== undefined) });
  });

  router.get('/trains/:group', async (req, res) => {
    const { client } = temporal;
    const group = groupParam(routeParam(req, 'group'));
    res.json(await runningTrain(client, group));
  });

  router.delete('/trains/:group/queue/:eventId', async (req, res) => {
    const { client } = temporal;
    const group = groupParam(routeParam(req, 'group'));
    const eventId = routeParam(req, 'eventId');
    await runningTrain(client, group);
    // Authentication always names the actor; the fallback only keeps the type honest.
    const request: RemoveRequest = { eventId, by: actorOf(res) ?? 'api' };
    try {
      const departure = await client.workflow
        .getHandle(trainWorkflowId(group))
        .executeUpdate<TrainDeparture, [RemoveRequest]>(TRAIN_HANDLERS.remove, { args: [request] });
      res.json(departure);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        throw new ProblemError(
          404,
          'Not Found',
          `No run of event ${JSON.stringify(eventId.slice(0, 200))} waits in train ${group}; GET /api/trains/${encodeURIComponent(group)} lists the queue.`,
        );
      }
      throw error;
    }
  });

  return router;
}

/** The state of a running train, or a 404 problem that says the group is idle. */
async function runningTrain(client: Client, group: string): Promise<TrainView> {
  const handle = client.workflow.getHandle(trainWorkflowId(group));
  const idle = new ProblemError(
    404,
    'Not Found',
    `No run holds or waits in the concurrency group ${group}; GET /api/trains lists the busy groups.`,
  );
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw idle;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw idle;
    throw error;
  }
  try {
    return await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => queryTrain(client, handle.workflowId));
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw idle;
    throw new ProblemError(
      503,
      'Service Unavailable',
      `The train of ${group} did not answer within ${QUERY_DEADLINE_MS / 1000}s; its state is kept, but no worker is answering for it. Check that a Flow worker is running.`,
    );
  }
}

async function queryTrain(client: Client, workflowId: string): Promise<TrainView> {
  const state = await client.workflow.getHandle(workflowId).query<TrainState>(TRAIN_HANDLERS.state);
  return {
    group: state.group,
    holder: state.holder ?? null,
    queue: state.queue.map((entry, index) => ({ ...entry, position: index + 1 })),
    recent: state.recent,
  };
}

function groupParam(group: string): string {
  if (!GROUP_NAME.test(group)) {
    throw new ProblemError(
      404,
      'Not Found',
      'A concurrency group name is 1-100 letters, digits, ".", "_", ":", "/" or "-"; GET /api/trains lists the busy groups.',
    );
  }
  return group;
}

/** Who is acting, as the authentication middleware recorded it. */
