import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  APPROVAL_BUTTONS,
  isApprovalButton,
  parseButtonValue,
  SLACK_USER_ID,
} from '../../activities/approvals/slack-buttons';
import { depthExceeds, MAX_JSON_DEPTH } from '../../common/json-depth';
import { RUN_HANDLERS, type ApprovalAnswer, type ApprovalView } from '../../common/run-control';
import {
  findInterpreterRun,
  temporalOutage,
  temporalUnavailable,
  updateFailureOf,
  type DeploymentTemporal,
  type TemporalDeadline,
} from '../interpreter-runs';
import { ProblemError } from '../problem';
import { decodeUtf8, rawBody, rawBodyOf } from '../request-body';
import { verifyDelivery, WebhookAuthError } from './verify';

/** Where the Slack app's Interactivity Request URL points: `<gateway>/webhooks/slack/interactions`. */
export const SLACK_INTERACTIONS_PATH = '/webhooks/slack/interactions';

/** The gateway environment variable holding the Slack app's signing secret. */
export const SLACK_SIGNING_SECRET = 'FLOW_SLACK_SIGNING_SECRET';

/** How far a request's timestamp may be from the gateway's clock, either way, before it counts as a replay. */
const MAX_CLOCK_SKEW_S = 5 * 60;

/** How long the gateway may take to answer a click: Slack shows an error after 3 s. */
const ANSWER_BUDGET_MS = 2_500;

/** What the Slack interactions route needs. */
export interface SlackInteractionDeps {
  /** This deployment's Temporal client and task queue; read per request, so building the app connects nothing. */
  readonly temporal: DeploymentTemporal;
  /** The gateway's environment, holding {@link SLACK_SIGNING_SECRET}. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The clock the timestamp is checked against, in milliseconds (tests move it). */
  readonly now?: () => number;
}

/** The parts of a `block_actions` payload this route reads; everything in it is checked before use. */
const blockActions = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string() }),
  actions: z.array(z.looseObject({ action_id: z.unknown(), value: z.unknown() })).max(25),
});

/**
 * `POST /webhooks/slack/interactions`: the Approve and Reject buttons of approval requests. Each request is verified
 * against the Slack app's signing secret (an HMAC of the timestamp and the raw body, no older than five minutes)
 * before its body is read. A click becomes the `answerApproval` update of the run the button names, answered by the
 * clicking Slack user, once the run is checked to be an interpreter run of this deployment. Slack wants a 200 within
 * three seconds: every click gets one, with a `text` saying what was recorded or why not. The payload's
 * `response_url` is never followed: the gateway calls nowhere a request tells it to.
 */
export function slackInteractionsRouter(deps: SlackInteractionDeps): Router {
  const now = deps.now ?? Date.now;
  const router = Router();
  router.post(SLACK_INTERACTIONS_PATH, rawBody, async (req, res) => {
    const startedAt = now();
    const secret = deps.env[SLACK_SIGNING_SECRET];
    if (!secret) {
      throw new ProblemError(
        503,
        'Service Unavailable',
        `Slack interactions are not set up on this gateway: set ${SLACK_SIGNING_SECRET} to the Slack app's signing secret (Basic Information, App Credentials) and restart the gateway.`,
      );
    }
    const raw = rawBodyOf(req);
    verifySlackRequest(secret, req, raw, startedAt);
    const click = approvalClick(interactionPayload(req, raw));
    if (click.kind === 'ignored') {
      res.status(200).end();
      return;
    }
    reply(res, click.kind === 'refused' ? click.text : await answer(deps.temporal, click, clickDeadline()));
  });
  return router;
}

/** A click on an approval button, checked; or why it is refused; or a payload that is not one (nothing to do). */
type Click =
  | { readonly kind: 'answer'; readonly workflowId: string; readonly stepId: string; readonly answer: ApprovalAnswer }
  | { readonly kind: 'refused'; readonly text: string }
  | { readonly kind: 'ignored' };

/** Checks Slack's signature: `v0=` + HMAC-SHA256 of `v0:<timestamp>:<raw body>`, over the bytes as received. */
function verifySlackRequest(secret: string, req: Request, raw: Buffer, nowMs: number): void {
  const timestamp = req.get('x-slack-request-timestamp') ?? '';
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw unauthorized('The X-Slack-Request-Timestamp header is missing or not a Unix time in seconds.');
  }
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_CLOCK_SKEW_S) {
    throw unauthorized(
      `The request was signed more than ${MAX_CLOCK_SKEW_S / 60} minutes away from the gateway's clock, so it may be a replay; nothing was done. If Slack's clicks keep failing this way, check the gateway's clock.`,
    );
  }
  const signature = req.get('x-slack-signature');
  if (!signature) throw unauthorized('The X-Slack-Signature header is missing; only Slack can send interactions here.');
  try {
    verifyDelivery(
      { kind: 'hmac-sha256', header: 'x-slack-signature', prefix: 'v0=' },
      secret,
      { 'x-slack-signature': signature },
      Buffer.concat([Buffer.from(`v0:${timestamp}:`, 'utf8'), raw]),
    );
  } catch (error) {
    if (error instanceof WebhookAuthError) {
      throw unauthorized(`${error.message} Check that ${SLACK_SIGNING_SECRET} is the Slack app's signing secret.`);
    }
    throw error;
  }
}

/** The `payload` field of Slack's form-encoded body, parsed as a JSON object. */
function interactionPayload(req: Request, raw: Buffer): Record<string, unknown> {
  if (!req.is('application/x-www-form-urlencoded')) {
    throw new ProblemError(
      415,
      'Unsupported Media Type',
      `Slack sends interactions as application/x-www-form-urlencoded (got ${(req.get('content-type') ?? 'none').slice(0, 100)}).`,
    );
  }
  const field = new URLSearchParams(decodeUtf8(req, raw)).get('payload');
  if (field === null) throw badRequest('The body has no payload field; Slack sends payload=<JSON>.');
  let payload: unknown;
  try {
    payload = JSON.parse(field);
  } catch {
    throw badRequest('The payload field is not valid JSON.');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw badRequest('The payload field must be a JSON object.');
  }
  if (depthExceeds(payload, MAX_JSON_DEPTH)) {
    throw badRequest(`The payload nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return payload as Record<string, unknown>;
}

/** What a payload asks: an answer when it is a click on an approval button whose every value checks out. */
function approvalClick(payload: Record<string, unknown>): Click {
  if (payload['type'] !== 'block_actions') return { kind: 'ignored' };
  const parsed = blockActions.safeParse(payload);
  if (!parsed.success)
    return { kind: 'refused', text: 'This interaction is not a click Flow understands; nothing was recorded.' };
  const action = parsed.data.actions.find((candidate) => isApprovalButton(candidate.action_id));
  if (!action || !isApprovalButton(action.action_id)) return { kind: 'ignored' };
  const target = parseButtonValue(action.value);
  if (!target)
    return { kind: 'refused', text: 'This button does not name a Flow run and approval step; nothing was recorded.' };
  const user = parsed.data.user.id;
  if (!SLACK_USER_ID.test(user))
    return { kind: 'refused', text: 'The click does not name a Slack user; nothing was recorded.' };
  return {
    kind: 'answer',
    workflowId: target.w,
    stepId: target.s,
    answer: { stepId: target.s, decision: APPROVAL_BUTTONS[action.action_id], by: user, via: 'slack' },
  };
}

/** The deadline of a click's Temporal calls, all of them together, and the 503 when Temporal cannot answer by then. */
function clickDeadline(): TemporalDeadline {
  return {
    at: Date.now() + ANSWER_BUDGET_MS,
    // A 503, so Slack shows the click failed.
    unavailableDetail: () => 'Temporal did not answer in time, so the click was not recorded; click again shortly.',
  };
}

/** Sends the answer to the run, and says in a sentence what became of it. */
async function answer(
  temporal: DeploymentTemporal,
  click: Extract<Click, { kind: 'answer' }>,
  deadline: TemporalDeadline,
): Promise<string> {
  const { workflowId, stepId } = click;
  // Dispatchers, trains and another deployment's runs (its own task queue) cannot be answered from here.
  const run = await findInterpreterRun(temporal, workflowId, deadline);
  if (!run) return `There is no Flow run ${workflowId} here; nothing was recorded.`;
  if (run.description.status.name !== 'RUNNING') return `Run ${workflowId} already ended; nothing was recorded.`;
  try {
    const view = await temporal.client.withDeadline(deadline.at, () =>
      run.handle.executeUpdate<ApprovalView, [ApprovalAnswer]>(RUN_HANDLERS.answerApproval, { args: [click.answer] }),
    );
    return recorded(view, click.answer);
  } catch (error) {
    const failure = updateFailureOf(error);
    if (failure?.kind === 'refused') return `Not recorded: ${failure.message}`;
    if (failure?.kind === 'unsupported') {
      return `Run ${workflowId} was started by a Flow without approvals, so it cannot be answered; nothing was recorded.`;
    }
    if (failure?.kind === 'ended') return `Run ${workflowId} ended before the answer arrived; nothing was recorded.`;
    if (temporalOutage(error)?.kind === 'deadline') {
      return `Flow could not confirm your answer to ${stepId} in time, so it may or may not be recorded; the request message shows the outcome once the approval is decided.`;
    }
    throw temporalUnavailable(error, deadline) ?? error;
  }
}

/** What the run recorded, in a sentence for the person who clicked. */
function recorded(view: ApprovalView, answer: ApprovalAnswer): string {
  const title = view.title.length > 200 ? `${view.title.slice(0, 199)}…` : view.title;
  if (view.status === 'approved') return `"${title}" is approved; the run goes on.`;
  if (view.status === 'rejected') return `"${title}" is rejected.`;
  const approvals = view.answers.filter((recordedAnswer) => recordedAnswer.decision === 'approved').length;
  return `Your ${answer.decision === 'approved' ? 'approval' : 'rejection'} of "${title}" is recorded: ${approvals} of ${view.required} approvals so far.`;
}

function reply(res: Response, text: string): void {
  // `replace_original: false`: should Slack ever read the body, it must not replace the request message with it.
  res.status(200).json({ text, response_type: 'ephemeral', replace_original: false });
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'Unauthorized', detail);
}

function badRequest(detail: string): ProblemError {
  return new ProblemError(400, 'Bad Request', detail);
}
