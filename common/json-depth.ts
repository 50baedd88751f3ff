/** Deepest nesting of objects and arrays Flow accepts in an event body or a definition. */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects and arrays deeper than `limit`; iterative, so hostile input cannot overflow the stack. */
export function depthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
