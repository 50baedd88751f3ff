import type { Command } from 'commander';
import type { FlowClient } from '../client';
import { segment, type CliContext } from '../context';
import { CliError, EXIT } from '../errors';

/** A run as `GET /api/runs` lists it (docs/runs-api.md). */
interface RunSummary {
  readonly workflowId: string;
  readonly definition: string | null;
  readonly revision: number | null;
  readonly eventId: string | null;
  readonly status: string;
  readonly startTime: string;
  readonly closeTime: string | null;
}

/** One run as `GET /api/runs/:workflowId` answers it. */
interface RunView extends RunSummary {
  readonly summary?: string;
  readonly ui: string;
  readonly phase?: string;
  readonly details?: string;
  readonly status_unavailable?: string;
  readonly steps?: {
    id: string;
    action: string;
    status: string;
    durationMs?: number;
    error?: string;
    reason?: string;
  }[];
  readonly onFailure?: { id: string; action: string; status: string; error?: string }[];
  readonly approvals?: { stepId: string; title: string; status: string; required: number; answers: unknown[] }[];
  readonly cancel?: { by: string; reason?: string; at: string };
  readonly failure?: { step?: string; type: string; message: string };
}

interface ListOptions {
  definition?: string;
  status?: string;
  event?: string;
  limit?: string;
  next?: string;
  json?: boolean;
}

/** `flowctl runs list|show|cancel`, `flowctl get runs`, `flowctl approve` and `flowctl reject`. */
export function registerRuns(program: Command, parents: { readonly get: Command }, context: CliContext): void {
  const { output } = context;
  const runs = program.command('runs').description('List, show and cancel runs');

  const listOptions = (command: Command): Command =>
    command
      .option('--definition <id>', 'only runs of this definition')
      .option('--status <status>', 'running, completed, failed, cancelled, terminated, timed_out')
      .option('--event <eventId>', 'only the runs of this event (as emit printed it)')
      .option('--limit <n>', 'runs per page, 1-100', '20')
      .option('--next <token>', "the next page (from the previous --json answer's next)")
      .option('--json', "print the gateway's answer ({items: [...], next?})");
  const list = async (options: ListOptions): Promise<void> => {
    const page = await context.client().get<{ items: RunSummary[]; next?: string }>('/api/runs', {
      definition: options.definition,
      status: options.status,
      event: options.event,
      limit: options.limit,
      next: options.next,
    });
    if (options.json) return output.json(page);
    output.table(
      ['WORKFLOW ID', 'DEFINITION', 'REV', 'STATUS', 'STARTED', 'CLOSED'],
      page.items.map((run) => [
        run.workflowId,
        run.definition ?? '-',
        run.revision === null ? '-' : String(run.revision),
        paintStatus(context, run.status),
        run.startTime,
        run.closeTime ?? '-',
      ]),
    );
    if (page.next) output.note(`More: --next ${page.next}`);
  };
  listOptions(runs.command('list').description('List runs, newest first')).action(list);
  listOptions(parents.get.command('runs').description('List runs, newest first (as runs list)')).action(list);

  runs
    .command('show')
    .description('Show one run: its steps, what it waits for, its approvals')
    .argument('<workflowId>', "the run's workflow id, such as hello-demo-…")
    .option('--wait', 'wait until the run has ended, then show it (exit 1 unless it completed)')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1)', '300')
    .option('--json', "print the gateway's answer (GET /api/runs/:workflowId)")
    .addHelpText(
      'after',
      '\nExamples:\n  flowctl runs show hello-demo-3f2a…\n  flowctl runs show hello-demo-3f2a… --wait --json',
    )
    .action(async (workflowId: string, options: { wait?: boolean; timeout: string; json?: boolean }) => {
      const client = context.client();
      let run = await showRun(client, workflowId);
      if (options.wait) {
        const deadline = Date.now() + Number(options.timeout) * 1000;
        while (run.status === 'running' && Date.now() < deadline) {
          if (!options.json) output.progress(0, 1, `${workflowId}: ${run.details ?? run.phase ?? run.status}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
          run = await showRun(client, workflowId);
        }
        output.clearProgress();
        if (run.status === 'running') {
          printRun(context, run, options.json);
          throw new CliError(`${workflowId} is still running after ${options.timeout} s.`, EXIT.failed);
        }
        if (run.status !== 'completed') process.exitCode = EXIT.failed;
      }
      printRun(context, run, options.json);
    });

  runs
    .command('cancel')
    .description('Cancel a running run: its running step is cancelled and its on_failure steps run')
    .argument('<workflowId>', "the run's workflow id")
    .option('--reason <text>', 'why, recorded on the run')
    .option('--json', "print the gateway's answer ({by, reason, at})")
    .action(async (workflowId: string, options: { reason?: string; json?: boolean }) => {
      const answer = await context.client().request('POST', `/api/runs/${segment(workflowId)}/cancel`, {
        json: options.reason === undefined ? {} : { reason: options.reason },
      });
      const record = answer.body as { by: string; reason?: string; at: string };
      if (options.json) return output.json(record);
      output.line(`Cancelled ${workflowId} (by ${record.by} at ${record.at}); it ends once its on_failure steps ran.`);
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(
        `${decision === 'approve' ? 'Approve' : 'Reject'} a run's waiting approval step, as the token's name`,
      )
      .argument('<workflowId>', "the run's workflow id")
      .argument('<step>', "the flow.approval step's id")
      .option('--comment <text>', 'a comment recorded with the answer')
      .option('--json', 'print the approval as it stands after this answer')
      .addHelpText(
        'after',
        `\nExample:\n  flowctl ${decision} release-jira-REL-7 go_live --comment "smoke tests green"`,
      )
      .action(async (workflowId: string, step: string, options: { comment?: string; json?: boolean }) => {
        const answer = await context
          .client()
          .request('POST', `/api/runs/${segment(workflowId)}/approvals/${segment(step)}`, {
            json: {
              decision: decision === 'approve' ? 'approved' : 'rejected',
              ...(options.comment === undefined ? {} : { comment: options.comment }),
            },
          });
        const approval = answer.body as { status: string; required: number; answers: { decision: string }[] };
        if (options.json) return output.json(approval);
        const approvals = approval.answers.filter((entry) => entry.decision === 'approved').length;
        output.line(
          `${decision === 'approve' ? 'Approved' : 'Rejected'} ${step} of ${workflowId}: the approval is ${approval.status} (${approvals} of ${approval.required} approvals).`,
        );
      });
  }
}

async function showRun(client: FlowClient, workflowId: string): Promise<RunView> {
  return client.get<RunView>(`/api/runs/${segment(workflowId)}`);
}

function printRun(context: CliContext, run: RunView, json: boolean | undefined): void {
  const { output } = context;
  if (json) return output.json(run);
  output.line(
    `${output.paint('bold', run.workflowId)}  ${paintStatus(context, run.status)}${run.phase ? ` (${run.phase})` : ''}`,
  );
  if (run.summary) output.line(run.summary);
  output.line(`Started:  ${run.startTime}${run.closeTime ? `   Closed: ${run.closeTime}` : ''}`);
  if (run.details) output.line(`Now:      ${run.details}`);
  if (run.status_unavailable) output.line(`Steps unknown: ${run.status_unavailable}`);
  if (run.cancel)
    output.line(
      `Cancelled by ${run.cancel.by} at ${run.cancel.at}${run.cancel.reason ? `: ${run.cancel.reason}` : ''}`,
    );
  if (run.failure)
    output.line(
      `Failure:  ${run.failure.type}${run.failure.step ? ` in ${run.failure.step}` : ''}: ${run.failure.message}`,
    );
  if (run.steps?.length) {
    output.table(
      ['STEP', 'ACTION', 'STATUS', 'TIME', 'NOTE'],
      [...run.steps, ...(run.onFailure ?? []).map((step) => ({ ...step, id: `${step.id} (on_failure)` }))].map(
        (step) => [
          step.id,
          step.action,
          paintStatus(context, step.status),
          'durationMs' in step && typeof step.durationMs === 'number' ? `${step.durationMs} ms` : '',
          ('error' in step && step.error) ||
            ('reason' in step && typeof step.reason === 'string' ? step.reason : '') ||
            '',
        ],
      ),
    );
  }
  for (const approval of run.approvals ?? [])
    output.line(
      `Approval ${approval.stepId}: ${approval.title} (${approval.status}, ${approval.answers.length} answer(s), ${approval.required} required)`,
    );
  output.line(`Temporal: ${run.ui}`);
}

function paintStatus(context: CliContext, status: string): string {
  const colour =
    status === 'completed'
      ? 'green'
      : status === 'running' || status === 'pending'
        ? 'cyan'
        : status === 'skipped'
          ? 'dim'
          : 'red';
  return context.output.paint(colour, status);
}
