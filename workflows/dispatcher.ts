import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { InternalActivities } from '../activities';
import { decideMatch } from '../common/matching';
import { createExpressionEngine } from '../common/expressions';
import { flowSearchAttributes } from '../common/search-attributes';
import {
  runWorkflowId,
  type DispatchResult,
  type FlowEvent,
  type MatchedRun,
  type SkippedDefinition,
} from '../common/run-types';
import { interpret } from './interpreter';

/**
 * One dispatcher per accepted event: finds the definitions bound to it, evaluates their conditions, and starts one
 * interpreter run per match as an abandoned child, so runs outlive the dispatcher. The registry lookup retries
 * without limit, so events accepted while MongoDB is down run once it is back.
 */
export async function dispatch(event: FlowEvent): Promise<DispatchResult> {
  const { findDefinitionsForEvent } = proxyActivities<InternalActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  const snapshots = await findDefinitionsForEvent(event.source, event.type);
  const engine = createExpressionEngine();
  const skipped: SkippedDefinition[] = [];
  const starts: Promise<MatchedRun>[] = [];
  for (const snapshot of snapshots) {
    const { definition, revision } = snapshot;
    const decision = decideMatch(engine, definition, revision, event);
    if (!decision.matched) {
      skipped.push({ definition: definition.id, revision, reason: decision.reason });
      continue;
    }
    const workflowId = runWorkflowId(definition.id, event.id);
    starts.push(
      startChild(interpret, {
        workflowId,
        args: [{ snapshot, event }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: runSummary(definition.name, revision, event),
        staticDetails: definition.description,
        typedSearchAttributes: [
          { key: flowSearchAttributes.FlowDefinition, value: definition.id },
          { key: flowSearchAttributes.FlowRevision, value: revision },
          { key: flowSearchAttributes.FlowSource, value: event.source },
          { key: flowSearchAttributes.FlowEventType, value: event.type },
          { key: flowSearchAttributes.FlowEventId, value: event.id },
        ],
      }).then(() => ({ definition: definition.id, revision, workflowId })),
    );
  }
  const matched = await Promise.all(starts);
  return { eventId: event.id, source: event.source, type: event.type, matched, skipped };
}

/** `Start release r3 · jira/issue_transitioned · issue=REL-7 to=Start Release`: what the UI's run list shows. */
function runSummary(name: string, revision: number, event: FlowEvent): string {
  const keyFields = Object.entries(event.body)
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number')
    .slice(0, 3)
    .map(([key, value]) => `${key}=${String(value).slice(0, 40)}`);
  return [`${name} r${revision}`, `${event.source}/${event.type}`, ...keyFields].join(' · ').slice(0, 200);
}
