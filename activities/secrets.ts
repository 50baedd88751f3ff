/**
 * Secret scrubbing: the last line of defence that keeps credentials out of workflow history. Definitions cannot
 * hold credentials (the registry refuses them) and actions read them only from the worker's environment, but a
 * peer may still echo one back in a response body or an error message. Every activity result, failure and
 * heartbeat passes through {@link SecretScrubber.scrub} before it leaves the worker.
 */
import { isOriginsVariable } from './secret-origins';

/** Environment variable names whose values are credentials. */
const SECRET_NAME = /(^FLOW_SECRET_|TOKEN|SECRET|PASSWORD|PASSWD|_PASS$|API_KEY|PRIVATE_KEY|CREDENTIAL)/i;
/** A password in a connection URL, such as `smtp://user:password@host`. */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*:([^@\s/]+)@/i;
/** Shorter values are not scrubbed: replacing every "abc" in every output would mangle results. */
export const MIN_SECRET_LENGTH = 6;
export const REDACTED = '[redacted]';

/** Replaces every occurrence of the worker's secrets in values that are about to be recorded. */
export class SecretScrubber {
  private readonly secrets: readonly string[];

  constructor(env: Readonly<Record<string, string | undefined>>) {
    const found = new Set<string>();
    for (const [name, value] of Object.entries(env)) {
      if (!value) continue;
      if (SecretScrubber.isSecretName(name)) found.add(value);
      const password = URL_PASSWORD.exec(value)?.[1];
      if (password) {
        found.add(password);
        found.add(safeDecode(password));
      }
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...found].filter((value) => value.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  /**
   * The names of the environment variables {@link SecretScrubber} treats as secret. A secret's `_ORIGINS` list is
   * not one: scrubbing it would hide the origins from the very messages that explain a refusal.
   */
  static isSecretName(name: string): boolean {
    return SECRET_NAME.test(name) && !isOriginsVariable(name);
  }

  /** A copy of `value` (JSON-like data) with every secret replaced by `[redacted]`, in strings and in keys. */
  scrub<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    return this.walk(value, 0) as T;
  }

  /** Scrubs an error in place (message, stack, failure details, and its causes) and returns it. */
  scrubError<E>(error: E): E {
    if (this.secrets.length === 0) return error;
    const seen = new Set<unknown>();
    let current: unknown = error;
    while (current instanceof Error && !seen.has(current)) {
      seen.add(current);
      current.message = this.text(current.message);
      if (current.stack) current.stack = this.text(current.stack);
      const withDetails = current as Error & { details?: unknown };
      if (Array.isArray(withDetails.details)) withDetails.details = this.scrub(withDetails.details);
      current = current.cause;
    }
    return error;
  }

  private text(value: string): string {
    let out = value;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (depth > 100 || typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item) => this.walk(item, depth + 1));
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      Object.defineProperty(out, this.text(key), {
        value: this.walk(inner, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
