/** A version file that cannot be read or updated: its content is not what its name promises. */
export class VersionFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'VersionFileError';
  }
}

/** Where a version file keeps its version: the text span of the value, so edits keep the rest byte for byte. */
interface VersionSpan {
  readonly start: number;
  readonly end: number;
  /** The version as written (trimmed). */
  readonly current: string;
}

/** The result of putting a version into a file's content. */
export interface VersionEdit {
  readonly previous: string;
  readonly content: string;
  readonly changed: boolean;
}

/**
 * Replaces the version in a version file's content, chosen by the file's base name: the top-level `"version"` of a
 * `package.json`, the project's own `<version>` of a `pom.xml` (not its parent's or a dependency's), or the whole
 * content of a `VERSION` file. Everything else in the file is kept as it was.
 */
export function setVersion(file: string, content: string, version: string): VersionEdit {
  const name = file.split('/').at(-1);
  const span =
    name === 'package.json'
      ? packageJsonVersion(file, content)
      : name === 'pom.xml'
        ? pomVersion(file, content)
        : plainVersion(file, content);
  if (span.current === version) return { previous: span.current, content, changed: false };
  return {
    previous: span.current,
    content: content.slice(0, span.start) + version + content.slice(span.end),
    changed: true,
  };
}

function plainVersion(file: string, content: string): VersionSpan {
  const match = /^(\s*)(\S*)\s*$/.exec(content);
  if (!match) throw new VersionFileError(file, 'must hold only a version, on one line');
  const leading = match[1] ?? '';
  const current = match[2] ?? '';
  return { start: leading.length, end: leading.length + current.length, current };
}

function packageJsonVersion(file: string, content: string): VersionSpan {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new VersionFileError(file, `is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VersionFileError(file, 'must hold a JSON object');
  }
  if (typeof (parsed as Record<string, unknown>)['version'] !== 'string') {
    throw new VersionFileError(file, 'has no top-level "version" string');
  }
  // The content is valid JSON, so a small scanner can find the top-level key without a full parser.
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < content.length; i++) {
    const char = content[i];
    if (char === '"') {
      const end = endOfString(content, i);
      if (depth === 1 && expectKey && JSON.parse(content.slice(i, end + 1)) === 'version') {
        const value = /^\s*:\s*"/.exec(content.slice(end + 1));
        if (value) {
          const start = end + 1 + value[0].length;
          const close = endOfString(content, start - 1);
          return { start, end: close, current: JSON.parse(content.slice(start - 1, close + 1)) as string };
        }
      }
      expectKey = false;
      i = end;
    } else if (char === '{' || char === '[') {
      depth++;
      expectKey = char === '{';
    } else if (char === '}' || char === ']') {
      depth--;
    } else if (char === ',') {
      // After a comma inside an object comes a key; inside an array a value, which is never `"version"` at depth 1.
      expectKey = true;
    }
  }
  throw new VersionFileError(file, 'has no top-level "version" string');
}

/** Index of the closing quote of the JSON string that opens at `start`. */
function endOfString(content: string, start: number): number {
  for (let i = start + 1; i < content.length; i++) {
    if (content[i] === '\\') i++;
    else if (content[i] === '"') return i;
  }
  return content.length;
}

/**
 * Finds `<project><version>` by walking the element structure, skipping comments, CDATA, processing instructions
 * and the doctype, so a `<version>` inside `<parent>`, `<dependencies>` or a comment is never taken.
 */
function pomVersion(file: string, content: string): VersionSpan {
  const stack: string[] = [];
  let i = 0;
  while (i < content.length) {
    const open = content.indexOf('<', i);
    if (open < 0) break;
    if (content.startsWith('<!--', open)) {
      i = skipPast(content, open, '-->');
    } else if (content.startsWith('<![CDATA[', open)) {
      i = skipPast(content, open, ']]>');
    } else if (content.startsWith('<?', open)) {
      i = skipPast(content, open, '?>');
    } else if (content.startsWith('<!', open)) {
      i = skipPast(content, open, '>');
    } else {
      const close = content.indexOf('>', open);
      if (close < 0) break;
      const tag = content.slice(open + 1, close);
      const name = /^\/?\s*([^\s/>]+)/.exec(tag)?.[1] ?? '';
      if (tag.startsWith('/')) {
        if (stack.pop() !== name) throw new VersionFileError(file, `is not well-formed XML near </${name}>`);
      } else if (!tag.endsWith('/')) {
        if (name === 'version' && stack.length === 1 && stack[0] === 'project') {
          const end = content.indexOf('</version>', close + 1);
          if (end < 0) throw new VersionFileError(file, 'has an unclosed <version>');
          const inner = content.slice(close + 1, end);
          const current = inner.trim();
          if (!/^[A-Za-z0-9._+-]+$/.test(current)) {
            throw new VersionFileError(file, `has a project <version> that is not a literal version (${current})`);
          }
          const start = close + 1 + inner.indexOf(current);
          return { start, end: start + current.length, current };
        }
        stack.push(name);
      }
      i = close + 1;
    }
  }
  if (!content.includes('<project')) throw new VersionFileError(file, 'has no <project> element');
  throw new VersionFileError(file, 'has no <version> directly under <project> (it inherits its parent’s)');
}

function skipPast(content: string, from: number, terminator: string): number {
  const end = content.indexOf(terminator, from);
  return end < 0 ? content.length : end + terminator.length;
}
