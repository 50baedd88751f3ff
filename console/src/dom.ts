/**
 * Building the page: elements are made with `document.createElement` and every value is set as text
 * (`createTextNode`) or as an attribute value (`setAttribute`), never parsed as HTML. A description holding `<script>`
 * is shown as those characters. There is no `innerHTML` in the console.
 */

/** What {@link h} accepts as a child: nodes, text, and nothing (null, undefined, booleans), in nested lists. */
export type Child = Node | string | number | boolean | null | undefined | readonly Child[];

type Listener = (event: Event) => void;

/**
 * Attributes of {@link h}: a string or number is set with `setAttribute`, `true` sets an empty attribute, and
 * `false`, null or undefined leave it out. A function under `on<event>` becomes a listener; a string there is refused.
 */
export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined | Listener>>;

const URL_ATTRIBUTES: ReadonlySet<string> = new Set(['href', 'src', 'action', 'formaction']);
/** Links go to a path of this origin, a fragment, or an http(s) URL; never `javascript:` or `data:`. */
const SAFE_URL = /^(?:\/(?![/\\])|#|https?:\/\/)/i;

/** An element with attributes and children; see {@link Attrs} and {@link Child}. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') {
      if (!name.startsWith('on')) throw new Error(`h(${tag}): ${name} is a function but not an on<event> listener`);
      element.addEventListener(name.slice(2), value);
      continue;
    }
    if (/^on/i.test(name)) throw new Error(`h(${tag}): ${name} must be a function, not text`);
    const text = value === true ? '' : String(value);
    if (URL_ATTRIBUTES.has(name.toLowerCase()) && !SAFE_URL.test(text)) {
      throw new Error(`h(${tag}): refusing ${name}=${JSON.stringify(text.slice(0, 80))}`);
    }
    element.setAttribute(name, text);
  }
  append(element, children);
  return element;
}

/** Appends children to `parent`, text as text nodes. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || typeof child === 'boolean') continue;
    if (child instanceof Node) parent.appendChild(child);
    else if (typeof child === 'string' || typeof child === 'number')
      parent.appendChild(document.createTextNode(String(child)));
    else append(parent, child);
  }
}

/** Replaces everything in `parent` with `children`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;

/** An id unique in this page, for `aria-labelledby` and label `for`. */
export function uniqueId(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
