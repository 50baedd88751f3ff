import type { AnyAction } from './define-action';
import { buildRun } from './actions/build-run';
import { deployHttpUpload } from './actions/deploy-http-upload';
import { deployRsync } from './actions/deploy-rsync';
import { emailSend } from './actions/email-send';
import { flowEmitEvent } from './actions/flow-emit-event';
import { flowSet } from './actions/flow-set';
import { flowSleep } from './actions/flow-sleep';
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
export const actions: readonly AnyAction[] = [
  flowSet,
  flowSleep,
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

/** The actions by id. */
export function actionsById(): ReadonlyMap<string, AnyAction> {
  return new Map(actions.map((action) => [action.id, action]));
}
