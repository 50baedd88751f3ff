import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookAuth } from './adapter';

/** Why a delivery was not authenticated; the message is safe to show to the sender. */
export class WebhookAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAuthError';
  }
}

/**
 * Checks a delivery against the source's secret, in constant time: an HMAC-SHA256 of the raw body bytes (GitHub,
 * Jira), or the secret itself in a header (GitLab, Jenkins). Throws {@link WebhookAuthError} when it does not match.
 */
export function verifyDelivery(
  auth: WebhookAuth,
  secret: string,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: Buffer,
): void {
  const sent = headers[auth.header];
  const name = auth.header.replace(
    /(^|-)([a-z])/g,
    (_m, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`,
  );
  if (!sent)
    throw new WebhookAuthError(
      `The ${name} header is missing; configure the webhook with the secret set in FLOW_WEBHOOK_SECRET_*.`,
    );
  if (auth.kind === 'token') {
    if (!timingSafeEqual(sha256(sent), sha256(secret)))
      throw new WebhookAuthError(`The ${name} header does not match the configured secret.`);
    return;
  }
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = sent.startsWith(auth.prefix) ? Buffer.from(sent.slice(auth.prefix.length), 'hex') : Buffer.alloc(0);
  // Buffer.from(hex) drops invalid characters, so a wrong length means a malformed signature: compare digests of both.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new WebhookAuthError(
      `The ${name} signature does not match the body; the secret differs or the body was changed in transit.`,
    );
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
