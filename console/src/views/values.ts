/**
 * A step's `with`, split the way people read it: fixed params (static values, the ones a team changes, such as a
 * channel or a tag prefix) and expressions (`${{ … }}`, computed from the event and earlier steps when the run gets
 * there). Nested objects are flattened to dotted paths (`parameters.BRANCH`), so each value has its own row.
 */

/** One value of a step's `with`. */
export interface Param {
  /** Its path below `with`, such as `channel` or `parameters.BRANCH`. */
  readonly path: string;
  readonly value: unknown;
  /** `expression` when the value holds a `${{ … }}` anywhere, `fixed` otherwise. */
  readonly kind: 'fixed' | 'expression';
}

const EXPRESSION = /\$\{\{[\s\S]*?\}\}/;

/** Every value of `with`, in the order written, nested objects flattened. */
export function paramsOf(values: Readonly<Record<string, unknown>>): Param[] {
  const params: Param[] = [];
  const walk = (value: unknown, path: string): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
      return;
    }
    params.push({ path, value, kind: holdsExpression(value) ? 'expression' : 'fixed' });
  };
  for (const [key, value] of Object.entries(values)) walk(value, key);
  return params;
}

/** True when `value` is or holds a string with a `${{ … }}` expression. */
export function holdsExpression(value: unknown): boolean {
  if (typeof value === 'string') return EXPRESSION.test(value);
  if (Array.isArray(value)) return value.some(holdsExpression);
  if (isPlainObject(value)) return Object.values(value).some(holdsExpression);
  return false;
}

/** A value as text: a string as it is, anything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
