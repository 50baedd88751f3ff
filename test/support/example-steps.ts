import { actionsById, type ActionExample, type AnyAction } from '../../activities';
import { createExpressionEngine, findTemplateExpressions } from '../../common/expressions';
import { validateDefinition } from '../../registry';

/**
 * Validates an action's example as a step of a definition, as saving one would, for actions not yet in the catalog.
 * Earlier steps the example reads (`steps.<id>.output`) stand in as flow.set steps. Returns the errors, if any.
 */
export function exampleStepErrors(action: AnyAction, example: ActionExample): unknown[] {
  const engine = createExpressionEngine();
  const earlier = new Set(
    findTemplateExpressions(example.with, 'with').flatMap((found) => engine.check(found.expression).steps),
  );
  const definition = {
    id: 'example',
    name: 'Example',
    on: [{ source: 'test', type: 'example' }],
    steps: [
      ...[...earlier].map((id) => ({ id, action: 'flow.set', with: {} })),
      { id: 'example_step', action: action.id, with: example.with },
    ],
  };
  const result = validateDefinition(definition, new Map([...actionsById(), [action.id, action]]));
  return result.ok ? [] : result.errors;
}

/**
 * Replaces every `${{ expr }}` in an example's `with` by `values[expr]`: a string that is one whole expression takes
 * the value as is (so numbers stay numbers), an expression inside a longer string is interpolated. An expression
 * missing from `values` throws, so a test never runs an example half-rendered.
 */
export function renderExample(value: unknown, values: Readonly<Record<string, unknown>>): unknown {
  const lookup = (expression: string): unknown => {
    if (!(expression in values)) throw new Error(`no test value for \${{ ${expression} }}`);
    return values[expression];
  };
  if (typeof value === 'string') {
    const whole = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(value);
    if (whole) return lookup(whole[1]!);
    return value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expression: string) => String(lookup(expression)));
  }
  if (Array.isArray(value)) return value.map((item) => renderExample(item, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, renderExample(inner, values)]));
  }
  return value;
}
