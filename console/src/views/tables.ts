/** Small tables of facts: a caption names the table, and each row is a heading cell and its value. */
import { h, type Child } from '../dom';

/** A row of a {@link factTable}: what it is, and its value. */
export type Fact = readonly [label: string, value: Child];

/** A table named by `caption`, one row per fact; rows whose value is undefined are left out. */
export function factTable(caption: string, facts: readonly (Fact | undefined)[], className = 'facts'): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: className },
      h('caption', null, caption),
      h(
        'tbody',
        null,
        facts
          .filter((fact): fact is Fact => fact !== undefined)
          .map(([label, value]) => h('tr', null, h('th', { scope: 'row' }, label), h('td', null, value))),
      ),
    ),
  );
}

/** A table with a header row and one row per item. */
export function dataTable(
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
): HTMLElement {
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data' },
      h('caption', null, caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((header) => h('th', { scope: 'col' }, header)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((cells) =>
          h(
            'tr',
            null,
            cells.map((cell) => h('td', null, cell)),
          ),
        ),
      ),
    ),
  );
}

/** Code as text, such as a CEL condition or an id. */
export function code(text: string, className?: string): HTMLElement {
  return h('code', { class: className }, text);
}

/** A time as the reader's locale shows it, with the exact instant in `datetime`. */
export function time(iso: string | null): Child {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : h('time', { datetime: iso }, date.toLocaleString());
}
