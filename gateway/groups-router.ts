import { Router, type Request } from 'express';
import { GROUP_NAME, GROUP_PREFIX, groupProblems } from '../common/approver-groups';
import type { ApproverGroup, GroupStore } from '../registry';
import { actorOf } from './auth';
import { ProblemError, type ProblemFieldError } from './problem';
import { jsonBody, requireJsonObject, routeParam } from './request-body';

/**
 * `/api/groups`: the approver groups a `flow.approval` step names as `group:<name>` (see docs/approvals.md). Reading
 * needs the read scope, saving and deleting the write scope; a save records its author (the acting token's name).
 * An approval expands its groups when it opens, so a change here reaches approvals opened afterwards, never one that
 * waits already.
 */
export function groupsRouter(store: GroupStore): Router {
  const router = Router();

  router.get('/groups', async (req, res) => {
    const limit = Math.min(Math.max(Number(req.query['limit'] ?? 100) || 100, 1), 1_000);
    const after = typeof req.query['after'] === 'string' ? req.query['after'] : undefined;
    const groups = await store.list({ limit, ...(after === undefined ? {} : { after }) });
    const last = groups.at(-1);
    res.json({
      items: groups.map(groupBody),
      next:
        groups.length === limit && last ? `/api/groups?after=${encodeURIComponent(last.name)}&limit=${limit}` : null,
    });
  });

  router.get('/groups/:name', async (req, res) => {
    const name = groupNameParam(req);
    const group = await store.get(name);
    if (!group) throw notFound(name);
    res.json(groupBody(group));
  });

  router.put('/groups/:name', jsonBody, async (req, res) => {
    const name = groupNameParam(req);
    const body = requireJsonObject(req);
    const problems: ProblemFieldError[] = [
      ...Object.keys(body)
        .filter((key) => key !== 'members')
        .map((key) => ({ path: key.slice(0, 64), message: 'is not a field; send members' })),
      ...groupProblems(name, body['members']),
    ];
    if (problems.length > 0) throw invalidGroup(problems);
    const saved = await store.put(name, body['members'], actorOf(res));
    res.status(saved.created ? 201 : 200).json({ ...groupBody(saved.group), unchanged: saved.unchanged });
  });

  router.delete('/groups/:name', async (req, res) => {
    const name = groupNameParam(req);
    if (!(await store.delete(name))) throw notFound(name);
    res.json({ name, deleted: true });
  });

  return router;
}

function groupBody(group: ApproverGroup): Record<string, unknown> {
  return { name: group.name, members: group.members, updatedAt: group.updatedAt, author: group.author };
}

function groupNameParam(req: Request): string {
  const name = routeParam(req, 'name');
  if (!GROUP_NAME.test(name)) {
    throw new ProblemError(
      400,
      'Bad Request',
      `${JSON.stringify(name.slice(0, 80))} is not a group name: use a lowercase letter, then up to 62 lowercase letters, digits and dashes, such as release-managers (without "${GROUP_PREFIX}", which only approvers lists use).`,
    );
  }
  return name;
}

function notFound(name: string): ProblemError {
  return new ProblemError(
    404,
    'Not Found',
    `There is no approver group ${name}. GET /api/groups lists the groups; PUT /api/groups/${name} with {"members": [...]} creates it.`,
  );
}

/** 422 with every problem of the body and its path, such as `members[2]`. */
function invalidGroup(errors: readonly ProblemFieldError[]): ProblemError {
  const first = errors[0];
  return new ProblemError(
    422,
    'Unprocessable Content',
    `The group was not saved: ${errors.length} error${errors.length === 1 ? '' : 's'}${first ? `, the first at ${first.path}: ${first.message}` : ''}.`,
    { errors },
  );
}
