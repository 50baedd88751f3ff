import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createTransport, type NodemailerError } from 'nodemailer';
import { z } from 'zod';
import { stepDelivery } from '../clients/delivery';
import { defineAction } from '../define-action';
import { FailureType, peerUnreachable, requireEnv } from '../failures';

const ID = 'email.send';

/** Generous SMTP timeouts: a slow server is retried by Temporal, not waited on for nodemailer's 2-10 minutes. */
const SMTP_TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 } as const;

/**
 * The worker setting that lets `email.send` log in over an unencrypted connection. It exists for a relay on the
 * worker's own host (loopback), where nothing crosses a network; anywhere else the password could be read in transit.
 */
export const ALLOW_PLAINTEXT_AUTH_ENV = 'FLOW_SMTP_ALLOW_PLAINTEXT_AUTH';

/** The failure type when sending would put the SMTP password on the wire unencrypted. */
export const SMTP_TLS_REQUIRED = 'SmtpTlsRequired';

/** What to do about a refused unencrypted login, the end of every {@link SMTP_TLS_REQUIRED} message. */
const TLS_ADVICE =
  'use smtps:// (implicit TLS, usually port 465) or a server that offers STARTTLS; only for a relay on the ' +
  `worker's own host (loopback), set ${ALLOW_PLAINTEXT_AUTH_ENV}=1 to allow logging in without TLS`;

/** Nodemailer error codes that are a problem with the configuration, which retrying cannot fix. */
const CONFIGURATION_ERRORS = new Set(['ECONFIG', 'ENOAUTH', 'EREQUIRETLS']);

const email = z.email('must be an email address such as release@example.com');

/** `release@example.com` or `Release Bot <release@example.com>`. */
const SENDER = /^\s*(?:([^<>\r\n]*?)\s*<([^<>\s]+)>|([^<>\s]+))\s*$/;

const sender = z
  .string()
  .max(320)
  .refine((value) => {
    const match = SENDER.exec(value);
    return email.safeParse(match?.[2] ?? match?.[3]).success;
  }, 'must be an address such as release@example.com or "Release Bot <release@example.com>"');

const body = z.string().max(500_000);

/** Sends one email through the SMTP server named in the worker environment. */
export const emailSend = defineAction({
  id: ID,
  guarantee: {
    level: 'at-least-once',
    explanation:
      'SMTP has no idempotency: a retry after a lost answer sends the mail again. Every attempt of the same run and step carries the same Message-ID (derived from the run and step), so mail clients and archives that drop duplicates by Message-ID show it once.',
  },
  description:
    'Sends an email through the SMTP server in SMTP_URL (smtp://user:pass@host:587, or smtps:// for implicit TLS) ' +
    'and returns {message_id, accepted, rejected}. The sender is `from`, else SMTP_FROM from the worker ' +
    'environment. `text` is always sent; `html`, when given, is the alternative that mail clients prefer. When the ' +
    'server refuses some recipients the mail still goes to the others and the refused ones are listed in ' +
    '`rejected`; when it permanently refuses all of them (or the credentials) the step fails without retrying. ' +
    'Connection failures and temporary (4xx) refusals are retried. With credentials in SMTP_URL, smtp:// must ' +
    'upgrade with STARTTLS before logging in: a server without it fails the step without retrying (type ' +
    `${SMTP_TLS_REQUIRED}), unless ${ALLOW_PLAINTEXT_AUTH_ENV}=1, meant only for a relay on the worker's own host. ` +
    'The Message-ID is the same in every attempt of the step: `<flow.<workflow id>/<step id>@<sender domain>>` (a ' +
    'hash of the run and step when they are not plain enough for a Message-ID).',
  input: z.strictObject({
    to: z.array(email).min(1).max(100),
    cc: z.array(email).max(100).optional(),
    subject: z
      .string()
      .min(1)
      .max(998)
      .regex(/^[^\r\n]*$/, 'must be one line'),
    text: body,
    html: body.optional(),
    from: sender.optional(),
  }),
  output: z.object({
    message_id: z.string(),
    accepted: z.array(z.string()),
    rejected: z.array(z.string()),
  }),
  env: ['SMTP_URL', 'SMTP_FROM', ALLOW_PLAINTEXT_AUTH_ENV],
  defaults: { timeout: '2m' },
  examples: [
    {
      title: 'Tell the release managers',
      with: {
        to: ['release-managers@example.com'],
        subject: 'Release ${{ vars.version }} is ready for sign-off',
        text: 'Release ${{ vars.version }} passed all checks and waits for your sign-off.',
      },
    },
    {
      title: 'Release notes from a named sender, with an HTML part',
      with: {
        from: 'Release Bot <release-bot@example.com>',
        to: ['${{ event.reporter_email }}'],
        cc: ['qa@example.com'],
        subject: 'Release notes for ${{ vars.version }}',
        text: '${{ vars.notes }}',
        html: '<h1>Release ${{ vars.version }}</h1><p>${{ vars.notes }}</p>',
      },
    },
  ],
  async run(input, { deps, step, signal }) {
    const from = input.from ?? deps.env['SMTP_FROM'];
    return sendSmtpMail(deps.env, ID, {
      ...(input.from === undefined ? {} : { from: input.from }),
      ...(from === undefined ? {} : { messageId: stepMessageId(stepDelivery(step), from) }),
      to: input.to,
      ...(input.cc?.length ? { cc: input.cc } : {}),
      subject: input.subject,
      text: input.text,
      ...(input.html === undefined ? {} : { html: input.html }),
      signal,
    });
  },
});

/** RFC 5322's dot-atom-text: what the left of a Message-ID may be without quoting. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * The Message-ID of a step's mail, the same in every attempt: `<flow.<delivery>@<sender's domain>>`, with a hash of
 * the delivery instead when it is not a dot-atom or is long. The sender's domain keeps two Flow installations (whose
 * run ids may coincide) from sending mails with one Message-ID, which a mailbox would take for duplicates.
 */
export function stepMessageId(delivery: string, from: string): string {
  const match = SENDER.exec(from);
  const address = match?.[2] ?? match?.[3] ?? '';
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const right = DOT_ATOM.test(domain) ? domain.toLowerCase() : 'flow';
  const left =
    DOT_ATOM.test(delivery) && delivery.length <= 200
      ? `flow.${delivery}`
      : `flow.${createHash('sha256').update(delivery).digest('hex').slice(0, 40)}`;
  return `<${left}@${right}>`;
}

/** One message for {@link sendSmtpMail}. */
export interface SmtpMail {
  /** The sender; SMTP_FROM from the worker environment when absent. */
  readonly from?: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  /** The `Message-ID` header, such as `<id@host>`; nodemailer makes one up when absent. */
  readonly messageId?: string;
  /** Further headers (values are folded and encoded by nodemailer). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
}

/**
 * Sends one message through the SMTP server in SMTP_URL, for `action` (the name its failures carry), with the rules
 * of `email.send`: smtp:// with credentials must upgrade with STARTTLS before logging in (unless
 * {@link ALLOW_PLAINTEXT_AUTH_ENV}), no file or URL access, permanent refusals fail without retrying.
 */
export async function sendSmtpMail(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  mail: SmtpMail,
): Promise<{ message_id: string; accepted: string[]; rejected: string[] }> {
  const { signal } = mail;
  const { SMTP_URL } = requireEnv(env, action, ['SMTP_URL']);
  const server = URL.canParse(SMTP_URL) ? new URL(SMTP_URL) : undefined;
  if (!server || !/^smtps?:$/.test(server.protocol) || !server.hostname) {
    // The value may hold a password, so the message describes it instead of quoting it.
    throw ApplicationFailure.nonRetryable(
      `${action} needs SMTP_URL to be an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587`,
      FailureType.MissingConfiguration,
    );
  }
  const from = mail.from ?? env['SMTP_FROM'];
  if (!from) {
    throw ApplicationFailure.nonRetryable(
      action === ID
        ? `${ID} needs a sender: set \`from\` in the step, or SMTP_FROM in the worker's environment`
        : `${action} needs a sender: set SMTP_FROM in the worker's environment`,
      FailureType.MissingConfiguration,
    );
  }
  const where = `${server.hostname}:${server.port || (server.protocol === 'smtps:' ? 465 : 587)}`;
  // smtps:// is encrypted from the first byte; smtp:// with credentials must upgrade with STARTTLS before AUTH,
  // because nodemailer otherwise logs in unencrypted when the server (or someone in between) offers no STARTTLS.
  const mustEncrypt =
    (server.username !== '' || server.password !== '') &&
    server.protocol === 'smtp:' &&
    !flagSet(env[ALLOW_PLAINTEXT_AUTH_ENV]);
  const transport = createTransport({
    url: SMTP_URL,
    ...SMTP_TIMEOUTS,
    ...(mustEncrypt ? { requireTLS: true } : {}),
  });
  // Options in SMTP_URL's query override the ones given here, so check what nodemailer will actually do.
  if (mustEncrypt && transport.options.secure !== true && transport.options.requireTLS !== true) {
    transport.close();
    throw ApplicationFailure.nonRetryable(
      `${action}: SMTP_URL turns requireTLS off for ${where}, which would send its password unencrypted; remove ` +
        `requireTLS from its query, or ${TLS_ADVICE}`,
      SMTP_TLS_REQUIRED,
    );
  }
  try {
    const info = await transport.sendMail({
      from,
      to: [...mail.to],
      ...(mail.cc?.length ? { cc: [...mail.cc] } : {}),
      subject: mail.subject,
      text: mail.text,
      ...(mail.html === undefined ? {} : { html: mail.html }),
      ...(mail.messageId === undefined ? {} : { messageId: mail.messageId }),
      ...(mail.headers === undefined ? {} : { headers: { ...mail.headers } }),
      // Nothing from a definition may make the worker read its own files or fetch URLs into the message.
      disableFileAccess: true,
      disableUrlAccess: true,
      signal,
    });
    return { message_id: info.messageId, accepted: info.accepted, rejected: info.rejected };
  } catch (error) {
    if (signal.aborted && signal.reason instanceof Error) throw signal.reason;
    throw smtpFailure(action, error, where, mustEncrypt);
  } finally {
    transport.close();
  }
}

/** Whether a worker flag is on: `1` or `true` (any case); anything else, including unset, is off. */
function flagSet(value: string | undefined): boolean {
  return ['1', 'true'].includes(value?.trim().toLowerCase() ?? '');
}

/**
 * Maps a nodemailer error to a Temporal failure: permanent SMTP refusals fail at once, the rest is retried.
 * `mustEncrypt` says the connection had to upgrade with STARTTLS before logging in.
 */
function smtpFailure(action: string, error: unknown, where: string, mustEncrypt: boolean): ApplicationFailure {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as NodemailerError;
  const reply = failure.response ? `: ${failure.response}` : '';
  const details = {
    code: failure.code ?? null,
    response_code: failure.responseCode ?? null,
    rejected: failure.rejected ?? [],
  };
  // The server answered STARTTLS with a permanent refusal (it does not offer it), so nodemailer stopped before AUTH.
  if (mustEncrypt && failure.code === 'ETLS' && failure.command === 'STARTTLS' && failure.permanent === true) {
    const answer = JSON.stringify(failure.response ?? '');
    return ApplicationFailure.nonRetryable(
      `${action}: the SMTP server at ${where} does not offer STARTTLS (it answered ${answer}), so the password in ` +
        `SMTP_URL was not sent; ${TLS_ADVICE}`,
      SMTP_TLS_REQUIRED,
      details,
    );
  }
  if (failure.code === 'EAUTH' && failure.permanent !== false) {
    return ApplicationFailure.nonRetryable(
      `${action}: the SMTP server at ${where} refused the credentials in SMTP_URL${reply}`,
      FailureType.PeerRejected,
      details,
    );
  }
  if (failure.code !== undefined && CONFIGURATION_ERRORS.has(failure.code)) {
    return ApplicationFailure.nonRetryable(
      `${action}: cannot send through ${where} as configured (${failure.code}: ${failure.message})`,
      FailureType.MissingConfiguration,
      details,
    );
  }
  if (failure.permanent === true) {
    const what = failure.code === 'EENVELOPE' ? 'refused the sender or every recipient' : 'refused the message';
    return ApplicationFailure.nonRetryable(
      `${action}: the SMTP server at ${where} ${what}${reply}`,
      FailureType.PeerRejected,
      details,
    );
  }
  if (failure.responseCode !== undefined) {
    return ApplicationFailure.retryable(
      `${action}: the SMTP server at ${where} deferred the message${reply}`,
      FailureType.PeerUnavailable,
      details,
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return peerUnreachable(`${action}: cannot reach the SMTP server at ${where} (${reason})`);
}
