import type { Request } from 'express';
import { RevisionConflictError, type SaveResult } from '../registry';
import { ProblemError } from './problem';

/**
 * What a write of a definition requires of its current revision, from `If-Match` or `If-None-Match`:
 * - `revisions`: one of these is current (`If-Match: "3"`, `If-Match: 3`, or the tag a GET sent, `"<id>@3"`);
 * - `exists`: any revision is current (`If-Match: *`);
 * - `absent`: the definition does not exist, or was deleted (`If-None-Match: *`).
 */
export type RevisionPrecondition =
  | { readonly kind: 'revisions'; readonly revisions: readonly number[] }
  | { readonly kind: 'exists' }
  | { readonly kind: 'absent' };

const HOW =
  'Send If-Match with the revision the change was made against, as the ETag of GET /api/definitions/:id gives it ("<id>@<n>") or as "<n>", or * for any revision; or If-None-Match: * to create it only when it does not exist.';

/** The write's precondition, or undefined for a request without one (the write then happens whatever is current). */
export function revisionPrecondition(req: Request, id: string): RevisionPrecondition | undefined {
  const ifMatch = req.get('If-Match');
  const ifNoneMatch = req.get('If-None-Match');
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw bad('Send If-Match or If-None-Match, not both.');
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw bad(`If-None-Match on a write of a definition can only be *; got ${quoted(ifNoneMatch)}. ${HOW}`);
    }
    return { kind: 'absent' };
  }
  if (ifMatch === undefined) return undefined;
  if (ifMatch.trim() === '*') return { kind: 'exists' };
  const revisions = ifMatch.split(',').map((item) => revisionOfTag(item.trim(), id, ifMatch));
  return { kind: 'revisions', revisions: [...new Set(revisions)] };
}

/** `"3"`, `3`, `"<id>@3"` or `"<id>@3.yaml"` (the tags GET sends for the JSON and the YAML) → 3. */
function revisionOfTag(tag: string, id: string, header: string): number {
  if (tag.startsWith('W/')) {
    throw bad(`If-Match ${quoted(header)} holds a weak tag, which never matches a write's strong comparison. ${HOW}`);
  }
  const match = /^(?:"(?:([a-z0-9-]{1,64})@)?(\d{1,9})(\.yaml)?"|(\d{1,9}))$/.exec(tag);
  const number = match?.[2] ?? match?.[4];
  if (!match || number === undefined || (match[3] !== undefined && match[1] === undefined)) {
    throw bad(`If-Match ${quoted(header)} is not a revision of definition ${id}. ${HOW}`);
  }
  if (match[1] !== undefined && match[1] !== id) {
    throw bad(`If-Match ${quoted(header)} is a tag of definition ${match[1]}, not of ${id}. ${HOW}`);
  }
  const revision = Number(number);
  if (revision < 1) {
    throw bad(`If-Match ${quoted(header)}: revisions start at 1. ${HOW}`);
  }
  return revision;
}

/**
 * Runs `save` (a `DefinitionStore.save` given the revision it expects) under `precondition`: answers 412 when it does
 * not hold, and nothing is stored. A revision is passed to the store, which checks it under the definition's lock, so
 * a save in between cannot slip through. For `*` and a list of revisions the current one is read first and expected;
 * should it move meanwhile, the check is made again against the new one.
 */
export async function saveUnder(
  id: string,
  precondition: RevisionPrecondition | undefined,
  currentRevision: () => Promise<number>,
  save: (expectedRevision?: number) => Promise<SaveResult>,
): Promise<SaveResult> {
  if (precondition === undefined) return save();
  if (precondition.kind === 'absent') return conflictsAsProblems(id, precondition, () => save(0));
  const only =
    precondition.kind === 'revisions' && precondition.revisions.length === 1 ? precondition.revisions[0] : undefined;
  if (only !== undefined) return conflictsAsProblems(id, precondition, () => save(only));
  for (let attempt = 1; ; attempt++) {
    const current = await currentRevision();
    checkPrecondition(id, precondition, current);
    try {
      return await save(current);
    } catch (error) {
      if (!(error instanceof RevisionConflictError) || attempt >= 3) throw asProblem(id, precondition, error);
    }
  }
}

/** Answers 412 when `precondition` does not hold for `current` (0: no definition); a dry save's check. */
export function checkPrecondition(id: string, precondition: RevisionPrecondition | undefined, current: number): void {
  if (precondition === undefined) return;
  const holds =
    precondition.kind === 'absent'
      ? current === 0
      : precondition.kind === 'exists'
        ? current > 0
        : precondition.revisions.includes(current);
  if (!holds) throw preconditionFailed(id, precondition, current);
}

async function conflictsAsProblems(
  id: string,
  precondition: RevisionPrecondition,
  save: () => Promise<SaveResult>,
): Promise<SaveResult> {
  try {
    return await save();
  } catch (error) {
    throw asProblem(id, precondition, error);
  }
}

function asProblem(id: string, precondition: RevisionPrecondition, error: unknown): unknown {
  return error instanceof RevisionConflictError ? preconditionFailed(id, precondition, error.current) : error;
}

/**
 * 412: what is current (`currentRevision`, 0 when there is no definition), what the write expected, and what to do.
 * Nothing was stored.
 */
export function preconditionFailed(id: string, precondition: RevisionPrecondition, current: number): ProblemError {
  const expected = precondition.kind === 'revisions' ? precondition.revisions : [];
  const against = expected.length === 1 ? `revision ${expected[0]}` : `one of revisions ${expected.join(', ')}`;
  const detail =
    precondition.kind === 'absent'
      ? `Definition ${id} exists already (revision ${current}), and If-None-Match: * saves only a new one. Nothing was stored; choose another id, or reload it, re-apply your change, and save again with If-Match: "${current}".`
      : current === 0
        ? `Definition ${id} does not exist (or was deleted), but this write ${precondition.kind === 'exists' ? 'requires it to exist (If-Match: *)' : `was made against ${against}`}. Nothing was stored; reload it, re-apply your change, and save again (a PUT without If-Match creates it).`
        : `Definition ${id} is at revision ${current}, but this write was made against ${against}: someone saved it meanwhile. Nothing was stored; reload, re-apply your change, and save again (with If-Match: "${current}").`;
  return new ProblemError(412, 'Precondition Failed', detail, {
    id,
    currentRevision: current,
    ...(precondition.kind === 'revisions' ? { expectedRevision: expected.length === 1 ? expected[0] : expected } : {}),
  });
}

function bad(detail: string): ProblemError {
  return new ProblemError(400, 'Bad Request', detail);
}

function quoted(header: string): string {
  return JSON.stringify(header.slice(0, 80));
}
