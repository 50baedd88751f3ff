/** One line of a line diff: kept (` `), removed (`-`) or added (`+`). */
interface DiffLine {
  readonly kind: ' ' | '-' | '+';
  readonly text: string;
}

/** Above this many line pairs the diff falls back to "all removed, all added" rather than spend the memory. */
const MAX_CELLS = 4_000_000;

/**
 * A unified diff (`diff -u` style, 3 lines of context) of two texts, headed by the two labels; empty when the texts
 * are equal. Lines are compared exactly, so a change of whitespace or of a comment shows.
 */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const lines = diffLines(a, b);
  const hunks: string[] = [];
  let index = 0;
  while (index < lines.length) {
    while (index < lines.length && lines[index]?.kind === ' ') index++;
    if (index >= lines.length) break;
    const start = Math.max(0, index - context);
    let end = index;
    // Extend the hunk while the next change is within 2 * context kept lines.
    for (;;) {
      while (end < lines.length && lines[end]?.kind !== ' ') end++;
      let next = end;
      while (next < lines.length && lines[next]?.kind === ' ') next++;
      if (next < lines.length && next - end <= context * 2) end = next;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const slice = lines.slice(start, stop);
    const oldStart = lines.slice(0, start).filter((line) => line.kind !== '+').length;
    const newStart = lines.slice(0, start).filter((line) => line.kind !== '-').length;
    const oldCount = slice.filter((line) => line.kind !== '+').length;
    const newCount = slice.filter((line) => line.kind !== '-').length;
    hunks.push(
      `@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`,
      ...slice.map((line) => `${line.kind}${line.text}`),
    );
    index = stop;
  }
  return [`--- ${labels.from}`, `+++ ${labels.to}`, ...hunks].join('\n');
}

function range(start: number, count: number): string {
  const first = count === 0 ? start : start + 1;
  return count === 1 ? String(first) : `${first},${count}`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The longest common subsequence of lines, as kept, removed and added lines in order. */
function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  // Common head and tail first: most edits touch a few lines of a long file.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const kept = (lines: readonly string[]): DiffLine[] => lines.map((text) => ({ kind: ' ', text }));
  return [...kept(a.slice(0, head)), ...lcs(midA, midB), ...kept(a.slice(a.length - tail))];
}

function lcs(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [...a.map((text) => ({ kind: '-' as const, text })), ...b.map((text) => ({ kind: '+' as const, text }))];
  }
  // table[i][j]: the LCS length of a[i..] and b[j..].
  const table = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number): number => table[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      table[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i] ?? '' });
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) out.push({ kind: '-', text: a[i++] ?? '' });
    else out.push({ kind: '+', text: b[j++] ?? '' });
  }
  while (i < n) out.push({ kind: '-', text: a[i++] ?? '' });
  while (j < m) out.push({ kind: '+', text: b[j++] ?? '' });
  return out;
}
