import semver from 'semver';
import { z } from 'zod';
import type { GuardedInput } from '../define-action';

/**
 * One path component of a ref name: a strict subset of what `git check-ref-format` accepts. Only letters, digits
 * and `._+-` are allowed, so no control characters, spaces, `~^:?*[\`, `@{` or shell metacharacters can appear,
 * and a component never starts with `.` or `-`.
 */
const REF_COMPONENT = '[A-Za-z0-9_+][A-Za-z0-9._+-]*';

/** A branch or tag name: components separated by single `/`, no `..`, no trailing `.`, `.lock` or `/`. */
const REF_NAME = new RegExp(`^(?!.*\\.\\.)(?!.*\\.lock(?:/|$))(?!.*\\.$)${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

const MAX_REF_LENGTH = 200;

/** Whether a string is a ref name Flow accepts (a strict subset of `git check-ref-format --allow-onelevel`). */
export function isSafeRefName(value: string): boolean {
  return value.length <= MAX_REF_LENGTH && REF_NAME.test(value);
}

const REF_NAME_MESSAGE =
  'must be a git ref name: letters, digits and ._+-/ only, not starting with - or ., without .., and not ending in ., / or .lock';

/** A branch name to create or update (`release/1.4`). */
export const branchName = z
  .string()
  .refine(isSafeRefName, REF_NAME_MESSAGE)
  .refine((value) => value !== 'HEAD' && !value.startsWith('refs/'), 'must be a short branch name, not HEAD or refs/…');

/** A ref to read: a branch or tag name, a full `refs/…` name, a commit sha, or `HEAD` (the default branch). */
export const refName = z.string().refine(isSafeRefName, REF_NAME_MESSAGE);

/** A semantic version without a prefix (`1.4.0`, `2.0.0-rc.1`). */
export const version = z
  .string()
  .max(100)
  .refine((value) => semver.valid(value) === value, 'must be a semantic version such as 1.4.0 (no leading v)');

/** The text before the version in tag names (`v` in `v1.4.0`); may be empty. */
export const tagPrefix = z
  .string()
  .max(50)
  .regex(/^(?:[A-Za-z0-9_+][A-Za-z0-9._+/-]*)?$/, 'must be letters, digits and ._+-/ and not start with - or .');

/** A commit or tag message: free text, passed to git as one argument and never through a shell. */
export const message = z
  .string()
  .min(1)
  .max(4000)
  // eslint-disable-next-line no-control-regex -- the point is to reject control characters other than tab and newline
  .refine((value) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value), 'must not contain control characters');

const HOST = '[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?';
const USER = '[A-Za-z0-9_][A-Za-z0-9._-]*';
const REPO_PATH = '[A-Za-z0-9._~+][A-Za-z0-9._~/+-]*';

/**
 * Repository URLs git may contact. Only these transports, with hosts and users that cannot start with `-` (so
 * they can never become ssh options), no credentials in the URL, no whitespace and no `::` (so no `ext::`
 * remote helpers). `file://` is accepted here but only used when the worker allows it (see `FLOW_GIT_ALLOW_FILE_URLS`).
 */
const REPOSITORY_URL = [
  new RegExp(`^https://${HOST}(?::\\d{1,5})?/${REPO_PATH}$`),
  new RegExp(`^ssh://(?:${USER}@)?${HOST}(?::\\d{1,5})?/${REPO_PATH}$`),
  new RegExp(`^${USER}@${HOST}:/?${REPO_PATH}$`),
  new RegExp(`^file:///${REPO_PATH}$`),
];

/**
 * The `repository` of every git action is guarded: the worker's git credentials (ssh keys, askpass helpers) are used
 * with whatever remote it names, and pushes go there.
 */
export const repositoryGuard: GuardedInput = {
  input: 'repository',
  decides: "chooses the remote the worker's git credentials are used with",
};

/** A repository URL: `https://`, `ssh://`, `user@host:path`, or `file://` (tests). */
export const repositoryUrl = z
  .string()
  .max(500)
  .refine(
    (value) => REPOSITORY_URL.some((pattern) => pattern.test(value)) && !value.split('/').includes('..'),
    'must be an https://, ssh://, git@host:path or file:// repository URL without credentials',
  );

/** The files `git.bump_version` knows how to edit, by base name. */
export const VERSION_FILE_NAMES = ['package.json', 'pom.xml', 'VERSION'] as const;

const PATH_COMPONENT = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

/** A file inside the repository: relative, no `..`, `.git` or empty components, not starting with `/` or `-`. */
export const versionFilePath = z
  .string()
  .max(300)
  .refine(
    (value) =>
      value.split('/').every((part) => PATH_COMPONENT.test(part) && part !== '..' && part.toLowerCase() !== '.git'),
    'must be a relative path inside the repository (letters, digits, ._+-/; no .., no leading / or -)',
  )
  .refine(
    (value) => (VERSION_FILE_NAMES as readonly string[]).includes(value.split('/').at(-1) ?? ''),
    `must name a ${VERSION_FILE_NAMES.join(', ')} file`,
  );
