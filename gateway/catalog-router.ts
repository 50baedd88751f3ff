import { Router } from 'express';
import { z } from 'zod';
import type { AnyAction } from '../activities';

/** One action as `GET /api/actions` describes it; generated from the action's own declaration. */
export interface ActionDescription {
  readonly id: string;
  readonly description: string;
  readonly kind: 'activity' | 'meta';
  readonly input: unknown;
  readonly output: unknown;
  readonly examples: readonly { title: string; with: Readonly<Record<string, unknown>> }[];
  readonly defaults?: unknown;
}

/** Describes every action from its declaration: id, description, JSON Schemas, examples and defaults. */
export function describeActions(catalog: ReadonlyMap<string, AnyAction>): ActionDescription[] {
  return [...catalog.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((action) => ({
      id: action.id,
      description: action.description,
      kind: action.kind,
      input: z.toJSONSchema(action.input, { io: 'input', unrepresentable: 'any' }),
      output: z.toJSONSchema(action.output, { io: 'output', unrepresentable: 'any' }),
      examples: action.examples,
      ...(action.defaults ? { defaults: action.defaults } : {}),
    }));
}

/** `GET /api/actions`: the action catalog. */
export function catalogRouter(catalog: ReadonlyMap<string, AnyAction>): Router {
  const described = describeActions(catalog);
  const router = Router();
  router.get('/actions', (_req, res) => {
    res.json({ actions: described });
  });
  return router;
}
