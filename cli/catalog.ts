import fs from 'node:fs';
import { z } from 'zod';
import type { AnyAction } from '../activities/define-action';
import type { ActionDescription } from '../activities/describe-actions';
import { actionFromDescription } from '../registry/json-schema-input';
import type { FlowClient } from './client';
import { CliError, EXIT } from './errors';

/** One action as `GET /api/actions` lists it (and as a `--catalog` file holds it). */
export type ListedAction = ActionDescription & { readonly pack?: string; readonly packVersion?: string };

/**
 * The catalog a definition is validated against, as the gateway that listed `listed` validates: every action it
 * lists, and no other. A built-in action whose published input schema is the one this flowctl declares is checked
 * with its own zod schema, exactly as the gateway checks it (refinements included); a pack's action, or a built-in
 * one of another Flow version, is checked with Ajv against its published JSON Schema, as the gateway's registry
 * catalog does (registry/json-schema-input.ts).
 */
export async function catalogFromListing(listed: readonly ListedAction[]): Promise<ReadonlyMap<string, AnyAction>> {
  const local = new Map(builtinActions().map((action) => [action.id, action]));
  const catalog = new Map<string, AnyAction>();
  for (const action of listed) {
    const own = action.pack === undefined ? local.get(action.id) : undefined;
    if (own && sameSchema(own, action)) catalog.set(action.id, own);
    else catalog.set(action.id, actionFromDescription(action));
  }
  return catalog;
}

/** The built-in actions of this flowctl, for `--catalog builtin`. */
export async function builtinCatalog(): Promise<ReadonlyMap<string, AnyAction>> {
  return new Map(builtinActions().map((action) => [action.id, action]));
}

/** Flow's built-in actions, loaded only by the commands that validate: they pull in every peer's client library. */
function builtinActions(): readonly AnyAction[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazily, so other commands start faster
  return (require('../activities/catalog') as { actions: readonly AnyAction[] }).actions;
}

/** The catalog a command validates with: `--catalog <file>`, `--catalog builtin`, or the gateway's `/api/actions`. */
export async function loadCatalog(
  option: string | undefined,
  client: () => FlowClient,
): Promise<{ catalog: ReadonlyMap<string, AnyAction>; from: string }> {
  if (option === 'builtin') return { catalog: await builtinCatalog(), from: "flowctl's built-in actions" };
  if (option !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(option, 'utf8')) as unknown;
    } catch (error) {
      throw new CliError(
        `Cannot read the catalog ${option}: ${error instanceof Error ? error.message : String(error)}`,
        EXIT.usage,
        'Write one with: flowctl get actions --json > catalog.json',
      );
    }
    return { catalog: await catalogFromListing(listedActions(parsed, option)), from: option };
  }
  const api = client();
  const answer = await api.get<unknown>('/api/actions');
  return { catalog: await catalogFromListing(listedActions(answer, `${api.baseUrl}/api/actions`)), from: api.baseUrl };
}

/** The actions of a `GET /api/actions` answer (`{actions: [...]}`) or of a bare list of them. */
function listedActions(value: unknown, where: string): ListedAction[] {
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && Array.isArray((value as { actions?: unknown }).actions)
      ? (value as { actions: unknown[] }).actions
      : undefined;
  const valid = list?.every(
    (entry) =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as { id?: unknown }).id === 'string' &&
      typeof (entry as { input?: unknown }).input === 'object',
  );
  if (!list || !valid)
    throw new CliError(
      `${where} is not an action catalog: expected {"actions": [{id, input, …}]} as GET /api/actions answers.`,
      EXIT.usage,
      'Write one with: flowctl get actions --json > catalog.json',
    );
  return list as ListedAction[];
}

function sameSchema(own: AnyAction, listed: ListedAction): boolean {
  if (own.kind !== listed.kind) return false;
  const declared = z.toJSONSchema(own.input, { io: 'input', unrepresentable: 'any' });
  return JSON.stringify(declared) === JSON.stringify(listed.input);
}
