/**
 * A notification by email: plain text through the worker's SMTP server (`SMTP_URL`, `SMTP_FROM`, with the rules of
 * `email.send`), with a `Message-ID` made from the delivery id, so that a retry that cannot know whether an earlier
 * attempt's message went out sends the same message again, which receivers that deduplicate by `Message-ID` show
 * once.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { sendSmtpMail } from '../actions/email-send';
import { FailureType } from '../failures';
import type { NotificationLink } from './links';

/** What an RFC 5322 `id-left` may hold (dot-atom-text), within reason. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** The stable `Message-ID` of a notification: `<delivery-id@flow>`, or a hash of it when it is not a dot-atom. */
export function notificationMessageId(delivery: string): string {
  const left =
    DOT_ATOM.test(delivery) && delivery.length <= 200
      ? delivery
      : `d.${createHash('sha256').update(delivery).digest('hex').slice(0, 40)}`;
  return `<${left}@flow>`;
}

/** Sends one notification; a recipient the server refused is a failure that retrying cannot fix. */
export async function sendNotificationMail(
  env: Readonly<Record<string, string | undefined>>,
  action: string,
  mail: {
    readonly to: string;
    readonly subject: string;
    readonly text: string;
    readonly delivery: string;
    readonly links: readonly NotificationLink[];
    readonly listUnsubscribe?: { readonly url: string };
    readonly signal: AbortSignal;
  },
): Promise<{ messageId: string }> {
  const messageId = notificationMessageId(mail.delivery);
  const links = mail.links.map((link) => `${link.label}: ${link.url}`);
  const sent = await sendSmtpMail(env, action, {
    to: [mail.to],
    subject: mail.subject,
    text: links.length > 0 ? `${mail.text}\n\n${links.join('\n')}\n` : `${mail.text}\n`,
    messageId,
    headers: {
      // RFC 3834: an automatic message, which auto-responders do not answer.
      'Auto-Submitted': 'auto-generated',
      ...(mail.listUnsubscribe
        ? { 'List-Unsubscribe': `<${mail.listUnsubscribe.url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' }
        : {}),
    },
    signal: mail.signal,
  });
  if (sent.accepted.length === 0) {
    throw ApplicationFailure.nonRetryable(`${action}: the SMTP server refused ${mail.to}`, FailureType.PeerRejected);
  }
  return { messageId };
}
