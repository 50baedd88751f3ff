/**
 * A line diff of two texts (two revisions' YAML, or the stored YAML and an edit), drawn as a table of changed
 * lines with a few lines of context: removed lines as deletions, added ones as insertions, with their line numbers
 * before and after.
 */
import { h, type Child } from '../dom';

/** One line of a diff. */
export interface DiffLine {
  readonly kind: 'same' | 'removed' | 'added';
  readonly text: string;
  /** Its number in the text before (not for an added line). */
  readonly before?: number;
  /** Its number in the text after (not for a removed line). */
  readonly after?: number;
}

/** Past this many cells the middle of two texts is shown as all removed, then all added. */
const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

/** The lines of `before` and `after` in order: kept, removed and added (a longest common subsequence of lines). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = lines(before);
  const b = lines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ kind: 'same', text: a[i] ?? '', before: i + 1, after: i + 1 });
  for (const [kind, i, j] of middle(midA, midB)) {
    const text = (kind === 'added' ? midB[j] : midA[i]) ?? '';
    if (kind === 'same') out.push({ kind, text, before: head + i + 1, after: head + j + 1 });
    else if (kind === 'removed') out.push({ kind, text, before: head + i + 1 });
    else out.push({ kind, text, after: head + j + 1 });
  }
  for (let k = 0; k < tail; k++) {
    const i = a.length - tail + k;
    const j = b.length - tail + k;
    out.push({ kind: 'same', text: a[i] ?? '', before: i + 1, after: j + 1 });
  }
  return out;
}

/** The middle of two texts (no common first or last line) as steps: [kind, index in a, index in b]. */
function middle(a: readonly string[], b: readonly string[]): [DiffLine['kind'], number, number][] {
  const steps: [DiffLine['kind'], number, number][] = [];
  if ((a.length + 1) * (b.length + 1) > MAX_CELLS) {
    a.forEach((_line, i) => steps.push(['removed', i, 0]));
    b.forEach((_line, j) => steps.push(['added', 0, j]));
    return steps;
  }
  // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
  const width = b.length + 1;
  const common = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i * width + j] =
        a[i] === b[j]
          ? (common[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(common[(i + 1) * width + j] ?? 0, common[i * width + j + 1] ?? 0);
    }
  }
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) steps.push(['same', i++, j++]);
    // Removed lines before added ones, as a reader expects of a changed line.
    else if (i < a.length && (j === b.length || (common[(i + 1) * width + j] ?? 0) >= (common[i * width + j + 1] ?? 0)))
      steps.push(['removed', i++, j]);
    else steps.push(['added', i, j++]);
  }
  return steps;
}

function lines(text: string): string[] {
  const split = text.split('\n');
  if (split.at(-1) === '') split.pop();
  return split;
}

/**
 * The diff as a table named `caption`: each changed line and up to three unchanged lines around it, a row saying
 * how many lines are skipped between; "No differences." when there are none.
 */
export function diffView(caption: string, diff: readonly DiffLine[]): HTMLElement {
  const changed = diff.map((line, index) => (line.kind === 'same' ? -1 : index)).filter((index) => index >= 0);
  if (changed.length === 0) return h('p', { class: 'none' }, `${caption}: no differences.`);
  const shown = new Set<number>();
  for (const index of changed) {
    for (let k = Math.max(0, index - CONTEXT); k <= Math.min(diff.length - 1, index + CONTEXT); k++) shown.add(k);
  }
  const rows: Child[] = [];
  let previous = -1;
  for (const index of [...shown].sort((x, y) => x - y)) {
    if (index > previous + 1) rows.push(skipped(index - previous - 1));
    previous = index;
    const line = diff[index];
    if (line) rows.push(diffRow(line));
  }
  if (previous < diff.length - 1) rows.push(skipped(diff.length - 1 - previous));
  const added = diff.filter((line) => line.kind === 'added').length;
  const removed = diff.filter((line) => line.kind === 'removed').length;
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'diff' },
      h('caption', null, `${caption}: ${added} added, ${removed} removed`),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Before', 'After', 'Line'].map((header) => h('th', { scope: 'col' }, header)),
        ),
      ),
      h('tbody', null, rows),
    ),
  );
}

function diffRow(line: DiffLine): HTMLElement {
  const text = line.text === '' ? ' ' : line.text;
  const content =
    line.kind === 'removed'
      ? h('del', null, h('span', { class: 'diff-sign', 'aria-hidden': 'true' }, '-'), text)
      : line.kind === 'added'
        ? h('ins', null, h('span', { class: 'diff-sign', 'aria-hidden': 'true' }, '+'), text)
        : h('span', null, h('span', { class: 'diff-sign', 'aria-hidden': 'true' }, ' '), text);
  return h(
    'tr',
    { class: `diff-${line.kind}` },
    h('td', { class: 'line-number' }, line.before === undefined ? '' : String(line.before)),
    h('td', { class: 'line-number' }, line.after === undefined ? '' : String(line.after)),
    h('td', { class: 'diff-text' }, content),
  );
}

function skipped(count: number): HTMLElement {
  return h(
    'tr',
    { class: 'diff-skipped' },
    h('td', { colspan: 3 }, `${count} unchanged line${count === 1 ? '' : 's'}`),
  );
}
