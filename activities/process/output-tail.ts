import { StringDecoder } from 'node:string_decoder';

/** Lines kept by default: enough to see why a build failed, small enough for heartbeats and workflow history. */
export const TAIL_MAX_LINES = 200;
/** Bytes kept by default. */
export const TAIL_MAX_BYTES = 64 * 1024;

/** Which pipe a line came from. */
export type OutputStream = 'stdout' | 'stderr';

interface PendingLine {
  readonly decoder: StringDecoder;
  text: string;
}

/**
 * The last lines a process wrote, bounded in lines and bytes however much it prints. stdout and stderr are merged
 * in arrival order, but each keeps its own unfinished line so that their partial writes never interleave mid-line.
 * A carriage return without a newline overwrites the line, as on a terminal, so progress bars keep only their last
 * state.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private bytes = 0;
  private readonly pending = new Map<OutputStream, PendingLine>();

  constructor(
    private readonly maxLines = TAIL_MAX_LINES,
    private readonly maxBytes = TAIL_MAX_BYTES,
    private readonly onLine?: (line: string, stream: OutputStream) => void,
  ) {}

  /** Adds a chunk a process wrote; bytes of a multi-byte character split across chunks are joined. */
  write(stream: OutputStream, chunk: Buffer): void {
    const pending = this.pendingOf(stream);
    const parts = (pending.text + pending.decoder.write(chunk)).split('\n');
    pending.text = clipToBytes(parts.pop() ?? '', this.maxBytes);
    for (const part of parts) this.push(part, stream);
  }

  /** Completes the unfinished lines once the process has closed its pipes. */
  end(): void {
    for (const [stream, pending] of this.pending) {
      const rest = pending.text + pending.decoder.end();
      pending.text = '';
      if (rest !== '') this.push(rest, stream);
    }
  }

  /** The kept output, at most `maxBytes` long, with unfinished lines last. */
  toString(): string {
    const unfinished = [...this.pending.values()].map((pending) => overwrite(pending.text)).filter(Boolean);
    return clipToBytes([...this.lines, ...unfinished].join('\n'), this.maxBytes);
  }

  /** The last `count` lines of {@link toString}. */
  last(count: number): string {
    return lastLines(this.toString(), count);
  }

  private pendingOf(stream: OutputStream): PendingLine {
    let pending = this.pending.get(stream);
    if (!pending) {
      pending = { decoder: new StringDecoder('utf8'), text: '' };
      this.pending.set(stream, pending);
    }
    return pending;
  }

  private push(raw: string, stream: OutputStream): void {
    const line = clipToBytes(overwrite(raw), this.maxBytes);
    this.onLine?.(line, stream);
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line) + 1;
    while (this.lines.length > this.maxLines || (this.bytes > this.maxBytes && this.lines.length > 1)) {
      this.bytes -= Buffer.byteLength(this.lines.shift() ?? '') + 1;
    }
  }
}

/** The last `count` lines of a text. */
export function lastLines(text: string, count: number): string {
  const lines = text.split('\n');
  return lines.length <= count ? text : lines.slice(-count).join('\n');
}

/** What a terminal would show for a line: a trailing CR (CRLF) is dropped, text before any other CR is overwritten. */
function overwrite(line: string): string {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const lastReturn = trimmed.lastIndexOf('\r');
  return lastReturn === -1 ? trimmed : trimmed.slice(lastReturn + 1);
}

/** Keeps the end of a text that is longer than `maxBytes` in UTF-8. */
function clipToBytes(text: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short texts need no encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  // Start on a character boundary rather than in the middle of a multi-byte sequence.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}
