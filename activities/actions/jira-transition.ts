import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { callJira, issueKey, JIRA_ENV, jiraClient, jiraStatus, readJira } from '../clients/jira';
import { defineAction } from '../define-action';

const ID = 'jira.transition';

/** A transition name as Jira workflows spell them ("In Progress", "Won't Do"), or a numeric transition id. */
const transitionRef = z.union([
  z
    .number()
    .int()
    .positive()
    .transform((id) => String(id)),
  z
    .string()
    .trim()
    .max(255)
    .regex(
      /^[\p{L}\p{N}][\p{L}\p{N} _.,'&()/!?:+-]*$/u,
      'must be a transition name such as "Done" or a numeric transition id such as 31',
    ),
]);

const statusRef = z.object({ id: z.string().optional(), name: z.string() });
type StatusRef = z.output<typeof statusRef>;

const issueStatus = z.object({ fields: z.object({ status: jiraStatus }) });
const transitionList = z.object({
  transitions: z.array(z.object({ id: z.string(), name: z.string(), to: jiraStatus.optional() })).default([]),
});

/** What an attempt records before it asks Jira to transition, so a retry can tell the work was already done. */
const attempt = z.object({
  issue: z.string(),
  transition: z.object({ id: z.string(), name: z.string() }),
  to: statusRef,
});

/** Moves an issue through its workflow; a no-op when the issue already has the transition's target status. */
export const jiraTransition = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation:
      'Idempotent: a retry finds the issue already in the status the transition leads to and does not transition again (changed: false).',
  },
  env: JIRA_ENV,
  description:
    'Moves a Jira issue through its workflow by transition name (matched case-insensitively) or numeric transition id. ' +
    'When the issue already has the status the transition leads to, the step succeeds without transitioning and ' +
    'reports changed: false, so retries and re-runs are safe. A transition the issue does not offer fails without ' +
    'retrying and lists the ones it does offer. Needs JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN in the worker environment.',
  input: z.strictObject({ issue: issueKey, transition: transitionRef }),
  output: z.object({
    issue: z.string(),
    /** The transition applied (or that would have been); `id` is unknown only when Jira no longer offers it. */
    transition: z.object({ id: z.string().optional(), name: z.string() }),
    /** The issue's status after the step. */
    status: z.string(),
    changed: z.boolean(),
  }),
  defaults: { timeout: '2m' },
  examples: [
    { title: 'Close the release ticket', with: { issue: '${{ event.issue }}', transition: 'Done' } },
    { title: 'Apply a transition by id', with: { issue: 'REL-42', transition: 31 } },
  ],
  async run(input, context) {
    const { deps, signal, lastHeartbeat } = context;
    const jira = jiraClient(deps.env, ID, signal);
    const key = input.issue;

    const issue = await callJira(ID, `read the status of ${key}`, () =>
      jira.issues.getIssue({ issueIdOrKey: key, fields: ['status'] }),
    );
    const current = readJira(ID, `read the status of ${key}`, issueStatus, issue).fields.status;
    const offered = await callJira(ID, `read the transitions of ${key}`, () =>
      jira.issues.getTransitions({ issueIdOrKey: key }),
    );
    const { transitions } = readJira(ID, `read the transitions of ${key}`, transitionList, offered);

    const wanted = /^\d+$/.test(input.transition)
      ? transitions.find((t) => t.id === input.transition)
      : transitions.find((t) => sameName(t.name, input.transition));
    const unchanged = (transition: { id?: string; name: string }) => ({
      issue: key,
      transition,
      status: current.name,
      changed: false,
    });

    if (wanted) {
      const transition = { id: wanted.id, name: wanted.name };
      if (wanted.to && isStatus(current, wanted.to)) return unchanged(transition);
      context.heartbeat({ issue: key, transition, to: wanted.to ?? { name: wanted.name } });
      await callJira(ID, `apply transition "${wanted.name}" (${wanted.id}) to ${key}`, () =>
        jira.issues.doTransition({ issueIdOrKey: key, transition: { id: wanted.id } }),
      );
      return { issue: key, transition, status: wanted.to?.name ?? wanted.name, changed: true };
    }

    // Jira offers only the transitions out of the current status, so after a transition it usually stops offering it.
    // A previous attempt that recorded the target status, or a status named like the transition, means nothing to do.
    const previous = attempt.safeParse(lastHeartbeat);
    if (
      previous.success &&
      previous.data.issue === key &&
      (previous.data.transition.id === input.transition || sameName(previous.data.transition.name, input.transition)) &&
      isStatus(current, previous.data.to)
    ) {
      return unchanged(previous.data.transition);
    }
    if (sameName(current.name, input.transition)) return unchanged({ name: current.name });

    const available = transitions.map((t) => `"${t.name}" (${t.id})`).join(', ') || 'none';
    throw ApplicationFailure.nonRetryable(
      `${ID}: ${key} (status "${current.name}") offers no transition "${input.transition}"; available: ${available}`,
      'JiraTransitionNotFound',
      { status: current.name, available: transitions.map((t) => ({ id: t.id, name: t.name })) },
    );
  },
});

function sameName(a: string, b: string): boolean {
  return a.localeCompare(b, undefined, { sensitivity: 'accent' }) === 0;
}

/** Whether the issue's current status is `target`: by id when both have one, else by name. */
function isStatus(current: StatusRef, target: StatusRef): boolean {
  return current.id !== undefined && target.id !== undefined
    ? current.id === target.id
    : sameName(current.name, target.name);
}
