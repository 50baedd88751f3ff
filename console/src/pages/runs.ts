/**
 * Runs: the list of this deployment's runs with filters and pages, and one run with its steps, what it waits for,
 * its approvals and its cancel, read from the runs API (docs/runs-api.md). A write session can cancel a running run
 * with a reason; a read session sees the control disabled, with the reason.
 */
import { ApiError, session } from '../api';
import type { RunSummary } from '../api-types';
import { editButton } from '../controls';
import { h, replace, uniqueId, type Child } from '../dom';
import { navigate } from '../navigation';
import {
  cancelRun,
  run,
  runs,
  runsQuery,
  type ApprovalView,
  type RunFilters,
  type RunView,
  type StepStatus,
} from '../operations-api';
import { confirmInPlace, noticeArea, refusalText, type Notice } from '../views/confirmation';
import { definitionHref } from '../views/definition-facts';
import { durationText, elapsed, runLink, runOrigin, sizeText, statusBadge } from '../views/run-values';
import { code, dataTable, factTable, time, type Fact } from '../views/tables';
import type { Page } from './page';

/** The run statuses the list can be filtered by (`GET /api/runs?status=`). */
const STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'continued_as_new'];

/** How often an open run's page reads the run again. */
const REFRESH_MS = 2_000;

/** `/ui/runs?definition=&status=&event=&next=`. */
export const runsPage: Page = async () => {
  const query = new URLSearchParams(location.search);
  const filters: RunFilters = {
    definition: query.get('definition') ?? '',
    status: query.get('status') ?? '',
    event: query.get('event') ?? '',
  };
  const next = query.get('next') ?? undefined;
  let listing: Child;
  try {
    const page = await runs(filters, next);
    listing = [runsTable(page.items, next !== undefined), pager(filters, next, page.next)];
  } catch (error) {
    // A filter the API cannot use is the reader's to fix, next to the form.
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    listing = h('p', { role: 'alert', class: 'form-error' }, `These filters cannot be used: ${error.message}`);
  }
  return {
    title: 'Runs',
    content: [
      h('h1', null, 'Runs'),
      h(
        'p',
        { class: 'lead' },
        "This deployment's runs, newest first: open runs by start, then closed runs by close, as Temporal lists them.",
      ),
      filterForm(filters),
      listing,
    ],
  };
};

function filterForm(filters: RunFilters): HTMLElement {
  const definition = field('Definition', 'definition', filters.definition ?? '', 'such as start-release');
  const event = field('Event', 'event', filters.event ?? '', 'such as jira-REL-7');
  const statusId = uniqueId('filter-status');
  const status = h(
    'select',
    { id: statusId, name: 'status' },
    h('option', { value: '' }, 'any status'),
    STATUSES.map((name) => h('option', { value: name, selected: name === filters.status }, name)),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter runs' },
    definition.wrapper,
    h('div', { class: 'field' }, h('label', { for: statusId }, 'Status'), status),
    event.wrapper,
    h(
      'div',
      { class: 'field-actions' },
      h('button', { type: 'submit' }, 'Show runs'),
      h('a', { href: '/ui/runs' }, 'Clear filters'),
    ),
  );
  form.addEventListener('submit', (submitted) => {
    submitted.preventDefault();
    const chosen = { definition: definition.input.value.trim(), status: status.value, event: event.input.value.trim() };
    const search = runsQuery(chosen).toString();
    navigate(search ? `/ui/runs?${search}` : '/ui/runs');
  });
  return form;
}

function field(
  label: string,
  name: string,
  value: string,
  placeholder: string,
): { wrapper: HTMLElement; input: HTMLInputElement } {
  const id = uniqueId(`filter-${name}`);
  const input = h('input', { id, name, value, placeholder, spellcheck: 'false', autocomplete: 'off' });
  return { wrapper: h('div', { class: 'field' }, h('label', { for: id }, label), input), input };
}

function runsTable(items: readonly RunSummary[], later: boolean): Child {
  if (items.length === 0) {
    return h('p', { class: 'none' }, later ? 'No more runs.' : 'No runs match these filters.');
  }
  return dataTable(
    'Runs, newest first',
    ['Run', 'Definition', 'Event', 'Status', 'Started', 'Closed', 'Duration', 'Temporal UI'],
    items.map((item) => [
      runLink(item.workflowId),
      item.definition ? h('a', { href: definitionHref(item.definition) }, item.definition) : '—',
      item.eventId ? code(item.eventId) : '—',
      statusBadge(item.status),
      time(item.startTime),
      time(item.closeTime),
      elapsed(item.startTime, item.closeTime),
      temporalLink(item),
    ]),
  );
}

function pager(filters: RunFilters, current: string | undefined, next: string | undefined): Child {
  if (!current && !next) return null;
  const href = (token?: string): string => {
    const search = runsQuery(filters, token).toString();
    return search ? `/ui/runs?${search}` : '/ui/runs';
  };
  return h(
    'nav',
    { 'aria-label': 'Pages of runs', class: 'pager' },
    current ? h('a', { href: href() }, 'First page') : null,
    next ? h('a', { href: href(next) }, 'Next page') : null,
  );
}

function temporalLink(item: RunSummary): HTMLElement {
  return h('a', { href: item.ui, 'aria-label': `${item.workflowId} in the Temporal UI` }, 'Open');
}

/** `/ui/runs/:workflowId`. */
export const runPage: Page = async ([workflowId = '']) => {
  let view = await run(workflowId);
  const notice = noticeArea();
  const facts = h('div');
  const cancelArea = h('div');
  const detail = h('div');
  const draw = (shown: RunView): void => {
    view = shown;
    replace(facts, runFacts(shown));
    replace(detail, runDetail(shown));
    // The cancel form stays as it is while the run can be cancelled, so a reason being typed is kept.
    if (!cancellable(shown)) replace(cancelArea);
    else if (!cancelArea.hasChildNodes()) replace(cancelArea, cancelForm(shown, notice, reread));
  };
  const reread = async (): Promise<void> => draw(await run(workflowId));
  const poll = (): void => {
    if (!facts.isConnected) return;
    reread()
      .catch((error: unknown) => notice.refused(refusalText('Reading the run again', error)))
      .finally(() => {
        if (view.status === 'running') setTimeout(poll, REFRESH_MS);
      });
  };
  draw(view);
  if (view.status === 'running') setTimeout(poll, REFRESH_MS);
  return {
    title: `Run ${workflowId}`,
    content: [
      h('h1', null, workflowId),
      view.summary ? h('p', { class: 'lead' }, view.summary) : null,
      notice.element,
      facts,
      cancelArea,
      detail,
    ],
  };
};

const PHASES: Readonly<Record<NonNullable<RunView['phase']>, string>> = {
  queued: 'waiting in its train',
  running: 'running its steps',
  on_failure: 'running its on_failure steps',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

function runFacts(view: RunView): HTMLElement {
  const { cancel, failure } = view;
  const facts: (Fact | undefined)[] = [
    ['Status', [statusBadge(view.status), view.phase && view.status === 'running' ? ` (${PHASES[view.phase]})` : '']],
    view.details ? ['Now', view.details] : undefined,
    ...runOrigin(view),
    ['Started', time(view.startTime)],
    ['Closed', time(view.closeTime)],
    ['Duration', elapsed(view.startTime, view.closeTime)],
    cancel
      ? [
          'Cancelled',
          [
            `by ${cancel.by}, `,
            time(cancel.at),
            cancel.reason ? [': ', h('q', null, cancel.reason)] : ' (no reason given)',
          ],
        ]
      : undefined,
    failure && !failure.cancelled
      ? ['Failure', [failure.step ? `step ${failure.step}: ` : '', code(failure.type), ' ', failure.message]]
      : undefined,
    ['Temporal UI', h('a', { href: view.ui, 'aria-label': `${view.workflowId} in the Temporal UI` }, 'Open')],
  ];
  return factTable('About this run', facts);
}

function runDetail(view: RunView): Child {
  if (view.status_unavailable) {
    return h(
      'p',
      { class: 'warning' },
      `The run's own account of its steps cannot be read now: ${view.status_unavailable}`,
    );
  }
  return [
    h('h2', null, 'Steps'),
    stepsTable('Steps', view.steps ?? []),
    view.onFailure?.length ? [h('h2', null, 'on_failure steps'), stepsTable('on_failure steps', view.onFailure)] : null,
    view.approvals?.length ? [h('h2', null, 'Approvals'), view.approvals.map(approvalView)] : null,
  ];
}

function stepsTable(caption: string, steps: readonly StepStatus[]): Child {
  if (steps.length === 0) return h('p', { class: 'none' }, 'No steps.');
  return dataTable(
    caption,
    ['Step', 'Action', 'Status', 'Started', 'Duration', 'Output', 'Error or note'],
    steps.map((step) => [
      code(step.id),
      h('a', { href: `/ui/actions#action-${step.action}` }, step.action),
      statusBadge(step.status),
      time(step.startedAt ?? null),
      step.durationMs !== undefined ? durationText(step.durationMs) : step.status === 'running' ? 'running' : '—',
      step.outputBytes !== undefined ? sizeText(step.outputBytes) : '—',
      step.error ? [code(step.error.type), ' ', step.error.message] : (step.reason ?? ''),
    ]),
  );
}

function approvalView(approval: ApprovalView): HTMLElement {
  const headingId = uniqueId('approval');
  const approved = approval.answers.filter((answer) => answer.decision === 'approved').length;
  return h(
    'section',
    { class: 'approval', 'aria-labelledby': headingId },
    h('h3', { id: headingId }, approval.title),
    factTable(`Approval ${approval.stepId}`, [
      ['Step', code(approval.stepId)],
      ['Status', statusBadge(approval.status)],
      ['Approvals', `${approved} of ${approval.required} needed`],
      ['Approvers', approval.approvers.join(', ')],
      ['Self-approval', approval.forbidSelfApproval ? 'not allowed: whoever started the run cannot answer' : 'allowed'],
      ['Requested', time(approval.requestedAt)],
      approval.decidedAt ? ['Decided', time(approval.decidedAt)] : ['Times out', time(approval.timesOutAt)],
      approval.noticeErrors?.length ? ['Notices not posted', approval.noticeErrors.join('; ')] : undefined,
    ]),
    answersTable(approval),
    approval.status === 'pending'
      ? h('p', null, 'Approvers answer it on the ', h('a', { href: '/ui/approvals' }, 'Approvals page'), '.')
      : null,
  );
}

/** The answers an approval received, with who, when and through which channel. */
export function answersTable(approval: ApprovalView): Child {
  if (approval.answers.length === 0) return h('p', { class: 'none' }, 'No answers yet.');
  return dataTable(
    `Answers to ${approval.title}`,
    ['Who', 'Decision', 'Comment', 'Through', 'When'],
    approval.answers.map((answer) => [answer.by, answer.decision, answer.comment ?? '—', answer.via, time(answer.at)]),
  );
}

function cancellable(view: RunView): boolean {
  return (
    view.status === 'running' &&
    !view.cancel &&
    (view.phase === undefined || view.phase === 'queued' || view.phase === 'running')
  );
}

function cancelForm(view: RunView, notice: Notice, reread: () => Promise<void>): HTMLElement {
  const headingId = uniqueId('cancel');
  const reasonId = uniqueId('cancel-reason');
  const reason = h('input', { id: reasonId, name: 'reason', maxlength: 500, autocomplete: 'off' });
  const current = session();
  const button: HTMLButtonElement = editButton(current ?? { scope: 'read' }, 'Cancel run', () =>
    confirmInPlace(
      button,
      [
        'Cancel ',
        code(view.workflowId),
        '? Its current step stops and its on_failure steps run. This cannot be undone.',
      ],
      { yes: 'Yes, cancel the run', no: 'Keep it running' },
      async () => {
        try {
          const record = await cancelRun(view.workflowId, reason.value);
          notice.done(
            `The run accepted the cancel by ${record.by}${record.reason ? ` (${record.reason})` : ''}; it stops shortly.`,
          );
        } catch (error) {
          notice.refused(refusalText('Cancelling the run', error));
          return false;
        }
        await reread().catch(() => undefined);
        notice.element.focus();
        return true;
      },
    ),
  );
  return h(
    'section',
    { class: 'cancel', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, 'Cancel this run'),
    h(
      'p',
      { class: 'hint' },
      current?.scope === 'write'
        ? `The run stops its current step, runs its on_failure steps and ends cancelled; the cancel is recorded under ${current.actor}.`
        : 'A session with the write scope can cancel it: the run stops its current step, runs its on_failure steps and ends cancelled.',
    ),
    h('div', { class: 'field' }, h('label', { for: reasonId }, 'Reason (optional, recorded with the cancel)'), reason),
    button,
  );
}
