/**
 * How flowctl writes: results on stdout (a table for people, `--json` for scripts), everything else (progress,
 * warnings, errors) on stderr. Colours only on a terminal and never with NO_COLOR. Every write passes through
 * {@link Output.redact}, so a secret flowctl knows (the token) never reaches either stream, whatever a server echoes.
 */
export class Output {
  private readonly secrets = new Set<string>();
  private progressShown = false;

  constructor(
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Never write `secret`: it is replaced by `***` wherever it appears. */
  addSecret(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  /** `text` with every known secret replaced. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }

  /** One line (or several) of the result, on stdout. */
  line(text = ''): void {
    this.clearProgress();
    this.stdout.write(`${this.redact(text)}\n`);
  }

  /** A value as JSON on stdout (two-space indented, one trailing newline). */
  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  /** A note for people, on stderr: what flowctl is doing, or a warning. */
  note(text: string): void {
    this.clearProgress();
    this.stderr.write(`${this.redact(text)}\n`);
  }

  /** An error and what to do about it, on stderr. */
  error(message: string, hint?: string): void {
    this.clearProgress();
    this.stderr.write(`${this.paint('red', 'error:', this.stderr)} ${this.redact(message)}\n`);
    if (hint) this.stderr.write(`${this.redact(hint)}\n`);
  }

  /** Columns padded to their widest cell; the header in bold on a terminal. */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    // eslint-disable-next-line no-control-regex -- the escape sequences paint() writes
    const visible = (cell: string): number => cell.replace(/\x1b\[[0-9;]*m/g, '').length;
    const widths = headers.map((header, index) =>
      Math.max(header.length, ...rows.map((row) => visible(row[index] ?? ''))),
    );
    const format = (cells: readonly string[]): string =>
      cells
        .map((cell, index) =>
          index === cells.length - 1 ? cell : `${cell}${' '.repeat(Math.max(0, (widths[index] ?? 0) - visible(cell)))}`,
        )
        .join('  ')
        .trimEnd();
    this.line(this.paint('bold', format(headers)));
    for (const row of rows) this.line(format(row));
  }

  /**
   * A progress line on stderr (`[12/300] applying release`), rewritten in place; only on a terminal, so logs of CI
   * jobs stay clean. The next regular write clears it.
   */
  progress(done: number, total: number, label: string): void {
    if (!this.stderr.isTTY) return;
    const width = 20;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const text = `[${bar}] ${done}/${total} ${label}`.slice(0, Math.max((this.stderr.columns || 80) - 1, 20));
    this.stderr.write(`\r\x1b[2K${this.redact(text)}`);
    this.progressShown = true;
  }

  /** Removes the progress line, if one is shown. */
  clearProgress(): void {
    if (!this.progressShown) return;
    this.stderr.write('\r\x1b[2K');
    this.progressShown = false;
  }

  /** `text` in a colour when stdout (or `stream`) is a terminal and NO_COLOR is not set. */
  paint(colour: Colour, text: string, stream: NodeJS.WriteStream = this.stdout): string {
    if (!this.colours(stream)) return text;
    return `\x1b[${COLOURS[colour]}m${text}\x1b[0m`;
  }

  private colours(stream: NodeJS.WriteStream): boolean {
    const noColour = this.env['NO_COLOR'];
    if (noColour !== undefined && noColour !== '') return false;
    if (this.env['TERM'] === 'dumb') return false;
    return stream.isTTY === true;
  }
}

/** The colours flowctl uses. */
export type Colour = 'red' | 'green' | 'yellow' | 'cyan' | 'bold' | 'dim';

const COLOURS: Record<Colour, string> = { red: '31', green: '32', yellow: '33', cyan: '36', bold: '1', dim: '2' };
