/** The longest ticket pattern accepted; real ones are a few dozen characters. */
export const MAX_TICKET_PATTERN_LENGTH = 200;

/** Subjects are cut to this length before matching, so even a slow pattern only ever sees short input. */
export const MAX_SUBJECT_LENGTH = 300;

/** At most this many unbounded quantifiers (`*`, `+`, `{n,}`): adjacent ones cost polynomial time in their number. */
const MAX_UNBOUNDED_QUANTIFIERS = 3;

/**
 * Why a user-supplied ticket pattern is refused, or undefined when it is acceptable. JavaScript regexes backtrack,
 * so a pattern such as `(a+)+` can take exponential time; this rejects the usual culprits by their shape: a
 * repeated group that itself contains a quantifier or an alternation, back-references, and more than a few
 * unbounded quantifiers. It is a heuristic, backed by the subject length cap: matching runs on the worker's event
 * loop, so a runaway pattern would stall every activity of the process.
 */
export function ticketPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > MAX_TICKET_PATTERN_LENGTH) return `must be at most ${MAX_TICKET_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'g');
  } catch (error) {
    return `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
  if (/\\[1-9]|\\k</.test(pattern)) return 'must not use back-references';
  if (countUnboundedQuantifiers(pattern) > MAX_UNBOUNDED_QUANTIFIERS) {
    return `must not have more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (*, +, {n,})`;
  }
  if (hasRepeatedComplexGroup(pattern)) {
    return 'must not repeat a group that contains a quantifier or | (such as (a+)+), which can take exponential time';
  }
  if (new RegExp(pattern).test('')) return 'must not match the empty string';
  return undefined;
}

/** Compiles a pattern that {@link ticketPatternProblem} accepted. */
export function compileTicketPattern(pattern: string): RegExp {
  return new RegExp(pattern, 'g');
}

/** Every distinct match of the pattern in a subject (cut to {@link MAX_SUBJECT_LENGTH}), in order. */
export function findTickets(pattern: RegExp, subject: string): string[] {
  const found = new Set<string>();
  for (const match of subject.slice(0, MAX_SUBJECT_LENGTH).matchAll(pattern)) found.add(match[0]);
  return [...found];
}

function countUnboundedQuantifiers(pattern: string): number {
  // Escapes and character classes first, so `\+` or `[+*]` do not count.
  const bare = pattern.replace(/\\./g, '').replace(/\[(?:\\.|[^\]])*\]/g, '');
  return (bare.match(/[*+]|\{\d+,\}/g) ?? []).length;
}

interface OpenGroup {
  /** The group's content has a quantifier, an alternation or a group that has one. */
  complex: boolean;
}

function hasRepeatedComplexGroup(pattern: string): boolean {
  const stack: OpenGroup[] = [];
  const markComplex = (): void => {
    const top = stack.at(-1);
    if (top) top.complex = true;
  };
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    switch (char) {
      case '[':
        inClass = true;
        break;
      case '(':
        stack.push({ complex: false });
        // Skip the group kind (`?:`, `?=`, `?!`, `?<=`, `?<!`, `?<name>`), whose `?` is not a quantifier.
        if (pattern[i + 1] === '?') {
          const kind = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i + 1));
          i += kind ? kind[0].length : 1;
        }
        break;
      case ')': {
        const group = stack.pop();
        const next = pattern[i + 1];
        const repeated = next === '*' || next === '+' || next === '{';
        if (group?.complex && repeated) return true;
        if (group?.complex || repeated || next === '?') markComplex();
        break;
      }
      case '*':
      case '+':
      case '?':
      case '{':
      case '|':
        markComplex();
        break;
      default:
        break;
    }
  }
  return false;
}
