import { isMetaAction } from '../common/meta-actions';
import { UnknownMetaActionError, type AnyAction, type BuiltinAction } from './define-action';
import { describeActions } from './describe-actions';
import { buildRun } from './actions/build-run';
import { deployHttpUpload } from './actions/deploy-http-upload';
import { deployRsync } from './actions/deploy-rsync';
import { emailSend } from './actions/email-send';
import { flowEmitEvent } from './actions/flow-emit-event';
import { flowSet } from './actions/flow-set';
import { flowApproval } from './actions/flow-approval';
import { flowSleep } from './actions/flow-sleep';
import { flowWaitForEvent } from './actions/flow-wait-for-event';
import { gitBumpVersion } from './actions/git-bump-version';
import { gitChangelog } from './actions/git-changelog';
import { gitCheckout } from './actions/git-checkout';
import { gitCreateBranch } from './actions/git-create-branch';
import { gitMerge } from './actions/git-merge';
import { gitTag } from './actions/git-tag';
import { httpRequest } from './actions/http-request';
import { jenkinsGetArtifacts } from './actions/jenkins-get-artifacts';
import { jenkinsTriggerBuild } from './actions/jenkins-trigger-build';
import { jenkinsWaitForBuild } from './actions/jenkins-wait-for-build';
import { jiraAddWatchers } from './actions/jira-add-watchers';
import { jiraComment } from './actions/jira-comment';
import { jiraGetIssue } from './actions/jira-get-issue';
import { jiraLinkIssues } from './actions/jira-link-issues';
import { jiraSearch } from './actions/jira-search';
import { jiraTransition } from './actions/jira-transition';
import { slackPostMessage } from './actions/slack-post-message';
import { versionNext } from './actions/version-next';

/**
 * Every action Flow ships, in one explicit list. Adding an action is one file in `actions/` plus one line here; the
 * worker registration, the `/api/actions` catalog and save-time validation all come from this list.
 */
export const actions: readonly BuiltinAction[] = [
  flowSet,
  flowApproval,
  flowSleep,
  flowWaitForEvent,
  flowEmitEvent,
  httpRequest,
  versionNext,
  gitCreateBranch,
  gitChangelog,
  gitTag,
  gitBumpVersion,
  gitMerge,
  gitCheckout,
  jiraGetIssue,
  jiraSearch,
  jiraTransition,
  jiraComment,
  jiraLinkIssues,
  jiraAddWatchers,
  slackPostMessage,
  emailSend,
  jenkinsTriggerBuild,
  jenkinsWaitForBuild,
  jenkinsGetArtifacts,
  buildRun,
  deployRsync,
  deployHttpUpload,
];

checkMetaActions(actions);

/** The actions by id, for the registry's validation and the catalog API; refuses meta-actions the interpreter lacks. */
export function actionsById(list: readonly AnyAction[] = actions): ReadonlyMap<string, AnyAction> {
  checkMetaActions(list);
  return new Map(list.map((action) => [action.id, action]));
}

/**
 * Throws {@link UnknownMetaActionError} when `list` declares a `kind: 'meta'` action that `META_ACTIONS` does not run:
 * saving a step with it would succeed and every run of the step would fail.
 */
export function checkMetaActions(list: readonly AnyAction[]): void {
  const unknown = list.filter((action) => action.kind === 'meta' && !isMetaAction(action.id)).map(({ id }) => id);
  if (unknown.length > 0) throw new UnknownMetaActionError(unknown);
}

/** Where the input schemas of the meta-actions are generated for the interpreter (by `npm run docs`). */
export const META_ACTION_INPUTS_FILE = 'common/meta-action-inputs.json';

/**
 * The input JSON Schema of each meta-action in `list`, by id: the same schema `GET /api/actions` shows, which the
 * interpreter checks a step's rendered input against (common/input-schema.ts) without bundling zod.
 */
export function metaActionInputs(list: readonly AnyAction[] = actions): Record<string, unknown> {
  const described = describeActions(list.filter((action) => action.kind === 'meta'));
  return Object.fromEntries(
    described.map(({ id, input }) => {
      const { $schema: _dialect, ...schema } = input as Record<string, unknown>;
      return [id, schema];
    }),
  );
}
