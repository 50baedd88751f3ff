/**
 * Approver groups: a `flow.approval` step may list `group:<name>` among its approvers, and the registry holds each
 * group's members. Shared by the registry (which stores and checks groups), the gateway (`/api/groups`), the step's
 * schema and the approval in the workflow sandbox, so everything here is pure.
 *
 * Why a prefix: an approver is a token name, a Slack member id, a Jira account id or an email, and a bare word such
 * as `alice` is a token name. None of those can start with `group:` (token names have no `:`; Slack ids are upper
 * case; Jira account ids are hex or `<number>:<uuid>`; an email's local part has no unquoted `:`), so `group:` says
 * unambiguously that an entry is a group, and an entry without it is never looked up.
 */

/** What an approver entry starts with when it names a group: `group:release-managers`. */
export const GROUP_PREFIX = 'group:';

/** A group's name: a lowercase letter, then up to 62 lowercase letters, digits and dashes. */
export const GROUP_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** How many members a group has at most. */
export const MAX_GROUP_MEMBERS = 200;

/** The longest member name: as long as an approver entry may be. */
export const MAX_MEMBER_CHARS = 200;

/** The most distinct approvers an approval may have once its groups are expanded; each answer carries the list. */
export const MAX_EXPANDED_APPROVERS = 500;

/** Failure types of a `flow.approval` step whose groups could not be expanded when it opened. */
export const APPROVER_GROUP_FAILURES = {
  /** A `group:<name>` entry names no group in the registry. */
  unknown: 'UnknownApproverGroup',
  /** After expansion there are fewer distinct approvers than `required`. */
  tooFew: 'NotEnoughApprovers',
  /** After expansion there are more than {@link MAX_EXPANDED_APPROVERS} distinct approvers. */
  tooMany: 'TooManyApprovers',
  /** The registry could not be read before the approval's deadline. */
  unavailable: 'ApproverGroupsUnavailable',
} as const;

/** What `resolveApprovers` answers: the approvers with each group replaced by its members, and those groups. */
export interface ResolvedApprovers {
  /** Distinct, in the order written, each group's members where the group was listed. */
  readonly approvers: string[];
  /** The members of each group that was listed and exists, by group name (without the prefix). */
  readonly groups: Record<string, string[]>;
}

/** The group name an entry refers to (`group:ops` → `ops`), or undefined when the entry is a person's name. */
export function groupReference(entry: string): string | undefined {
  return entry.startsWith(GROUP_PREFIX) ? entry.slice(GROUP_PREFIX.length) : undefined;
}

/** Why an entry that starts with {@link GROUP_PREFIX} is not a usable group reference; undefined when it is fine. */
export function groupReferenceProblem(entry: string): string | undefined {
  const name = groupReference(entry);
  if (name === undefined || GROUP_NAME.test(name)) return undefined;
  return `"${entry.slice(0, 80)}" starts with "${GROUP_PREFIX}" but "${name.slice(0, 70)}" is not a group name: use a lowercase letter, then up to 62 lowercase letters, digits and dashes`;
}

/** The distinct group names `approvers` refers to, in the order written. */
export function referencedGroups(approvers: readonly string[]): string[] {
  return [
    ...new Set(
      approvers.map(groupReference).filter((name): name is string => name !== undefined && GROUP_NAME.test(name)),
    ),
  ];
}

/**
 * Replaces each `group:<name>` entry with the members of that group in `groups`; an entry naming a group that
 * `groups` lacks is dropped (the caller reports it). Duplicates count once.
 */
export function expandApprovers(
  approvers: readonly string[],
  groups: Readonly<Record<string, readonly string[]>>,
): string[] {
  const expanded = approvers.flatMap((entry) => {
    const name = groupReference(entry);
    if (name === undefined) return [entry];
    return Object.hasOwn(groups, name) ? (groups[name] ?? []) : [];
  });
  return [...new Set(expanded)];
}

/** Every problem with a group's name and members, each with its path (`name`, `members[2]`); empty when it is valid. */
export function groupProblems(name: string, members: unknown): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!GROUP_NAME.test(name))
    problems.push({
      path: 'name',
      message:
        'must be a lowercase letter, then up to 62 lowercase letters, digits and dashes, such as release-managers',
    });
  if (!Array.isArray(members)) {
    problems.push({ path: 'members', message: 'must be a list of approver names, such as ["alice", "U0123ABCD"]' });
    return problems;
  }
  if (members.length === 0 || members.length > MAX_GROUP_MEMBERS)
    problems.push({ path: 'members', message: `must list 1-${MAX_GROUP_MEMBERS} members; it lists ${members.length}` });
  const seen = new Set<string>();
  members.forEach((member: unknown, index) => {
    const path = `members[${index}]`;
    if (typeof member !== 'string' || member.length === 0 || member.length > MAX_MEMBER_CHARS)
      problems.push({ path, message: `must be a name of 1-${MAX_MEMBER_CHARS} characters` });
    else if (member.trim() !== member)
      problems.push({ path, message: 'must not start or end with white space: answers would never match it' });
    else if (groupReference(member) !== undefined)
      problems.push({ path, message: `"${member.slice(0, 80)}" names a group; groups do not nest, list its members` });
    else if (seen.has(member)) problems.push({ path, message: `"${member.slice(0, 80)}" is listed twice` });
    else seen.add(member);
  });
  return problems;
}
