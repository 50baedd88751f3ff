import { Router } from 'express';
import { jsonBody, rawBody } from './request-body';
import { listRuns } from './runs/list';
import { answerApproval, cancelRun } from './runs/run-control';
import { showRun } from './runs/run-view';
import type { RunsRouterDeps } from './runs/runs-api';

export type { RunExecutionStatus } from './runs/execution-status';
export type { RunListItem } from './runs/list';
export type { RunView } from './runs/run-view';
export type { RunsRouterDeps } from './runs/runs-api';

/**
 * The runs API: `GET /api/runs` (this deployment's interpreter runs, from Temporal's visibility), `GET
 * /api/runs/:workflowId` (one run, with its steps from the `runStatus` query), and, with the write scope, `POST
 * /api/runs/:workflowId/cancel` and `POST /api/runs/:workflowId/approvals/:stepId`. A run's state lives in its
 * workflow: these read it with a query and change it with updates whose validators refuse at once, so a refusal is
 * an HTTP answer (`REFUSAL_STATUS` in common/run-control.ts), never a half-done change. Each route lives in
 * gateway/runs/; what they share with Slack's approval buttons is in gateway/interpreter-runs.ts.
 */
export function runsRouter(deps: RunsRouterDeps): Router {
  const router = Router();
  router.get('/runs', listRuns(deps));
  router.get('/runs/:workflowId', showRun(deps));
  router.post('/runs/:workflowId/cancel', rawBody, cancelRun(deps));
  router.post('/runs/:workflowId/approvals/:stepId', jsonBody, answerApproval(deps));
  return router;
}
