import assert from 'node:assert/strict';
import type { AddressObject } from 'mailparser';
import { emailSend } from '../../activities/actions/email-send';
import { exampleStepErrors, renderExample } from '../support/example-steps';
import { failureOf } from '../support/failure-of';
import { runAction } from '../support/run-action';
import { SmtpReceiver } from '../support/smtp-receiver';

const PASS = 's3cret-Pa55';

/** The addresses of a parsed To/Cc header. */
function addresses(header: AddressObject | AddressObject[] | undefined): string[] {
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return list.flatMap((object) => object.value.map((entry) => entry.address ?? ''));
}

describe('activities: email.send', () => {
  let smtp: SmtpReceiver;
  let env: Record<string, string>;
  before(async () => {
    smtp = await new SmtpReceiver({ user: 'flow', pass: PASS }).start();
    env = { SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${smtp.port}`, SMTP_FROM: 'Flow <flow@example.com>' };
  });
  after(() => smtp.stop());
  beforeEach(() => {
    smtp.received.length = 0;
    smtp.refuse.clear();
  });

  it('sends from the step’s sender to every recipient with subject, text and HTML, logged in with SMTP_URL’s credentials', async () => {
    const output = await runAction(
      emailSend,
      {
        from: 'Release Bot <release-bot@example.com>',
        to: ['ada@example.com', 'grace@example.com'],
        cc: ['qa@example.com'],
        subject: 'Release 2.4.0 is ready for sign-off',
        text: 'Release 2.4.0 passed all checks.',
        html: '<p>Release <b>2.4.0</b> passed all checks.</p>',
      },
      { env },
    );

    assert.equal(smtp.received.length, 1);
    const { mail, envelopeFrom, envelopeTo, user } = smtp.received[0]!;
    assert.equal(user, 'flow');
    assert.equal(envelopeFrom, 'release-bot@example.com');
    assert.deepEqual([...envelopeTo].sort(), ['ada@example.com', 'grace@example.com', 'qa@example.com']);
    assert.deepEqual(mail.from?.value, [{ address: 'release-bot@example.com', name: 'Release Bot' }]);
    assert.deepEqual(addresses(mail.to), ['ada@example.com', 'grace@example.com']);
    assert.deepEqual(addresses(mail.cc), ['qa@example.com']);
    assert.equal(mail.subject, 'Release 2.4.0 is ready for sign-off');
    assert.equal(mail.text?.trim(), 'Release 2.4.0 passed all checks.');
    assert.equal(mail.html, '<p>Release <b>2.4.0</b> passed all checks.</p>');
    assert.deepEqual(output, {
      message_id: mail.messageId,
      accepted: ['ada@example.com', 'grace@example.com', 'qa@example.com'],
      rejected: [],
    });
  });

  it('sends from SMTP_FROM when the step names no sender', async () => {
    await runAction(emailSend, { to: ['ada@example.com'], subject: 'Hi', text: 'Plain text only' }, { env });
    const { mail } = smtp.received[0]!;
    assert.deepEqual(mail.from?.value, [{ address: 'flow@example.com', name: 'Flow' }]);
    assert.equal(mail.html, false, 'no HTML part was sent');
    assert.equal(mail.text?.trim(), 'Plain text only');
  });

  it('delivers to the recipients the server accepts and lists the refused ones in rejected', async () => {
    smtp.refuse.set('gone@example.com', 550);
    const output = await runAction(
      emailSend,
      { to: ['ada@example.com', 'gone@example.com'], subject: 'Partial', text: 'x' },
      { env },
    );
    assert.deepEqual((output as { accepted: string[] }).accepted, ['ada@example.com']);
    assert.deepEqual((output as { rejected: string[] }).rejected, ['gone@example.com']);
    assert.deepEqual(smtp.received[0]?.envelopeTo, ['ada@example.com']);
  });

  it('fails without retrying when the server permanently refuses every recipient', async () => {
    smtp.refuse.set('gone@example.com', 550);
    smtp.refuse.set('left@example.com', 550);
    const failure = await failureOf(
      runAction(emailSend, { to: ['gone@example.com', 'left@example.com'], subject: 'x', text: 'x' }, { env }),
    );
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'PeerRejected');
    assert.match(failure.message, /refused the sender or every recipient: 550 /);
    assert.deepEqual(failure.details, [
      { code: 'EENVELOPE', response_code: 550, rejected: ['gone@example.com', 'left@example.com'] },
    ]);
    assert.equal(smtp.received.length, 0);
  });

  it('retries when the server only temporarily refuses the recipients', async () => {
    smtp.refuse.set('busy@example.com', 450);
    const failure = await failureOf(
      runAction(emailSend, { to: ['busy@example.com'], subject: 'x', text: 'x' }, { env }),
    );
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.type, 'PeerUnavailable');
    assert.match(failure.message, /deferred the message: 450 /);
  });

  it('fails without retrying when the server refuses the credentials, never quoting the password', async () => {
    const failure = await failureOf(
      runAction(
        emailSend,
        { to: ['ada@example.com'], subject: 'x', text: 'x' },
        { env: { ...env, SMTP_URL: `smtp://flow:wrong-${PASS}@127.0.0.1:${smtp.port}` } },
      ),
    );
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.type, 'PeerRejected');
    assert.match(failure.message, /refused the credentials in SMTP_URL: 535 /);
    assert.ok(!JSON.stringify([failure.message, failure.details]).includes(PASS));
    assert.equal(smtp.received.length, 0);
  });

  it('retries when the SMTP server cannot be reached, naming host and port but not the password', async () => {
    const failure = await failureOf(
      runAction(
        emailSend,
        { to: ['ada@example.com'], subject: 'x', text: 'x' },
        { env: { ...env, SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:1` } },
      ),
    );
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.type, 'PeerUnavailable');
    assert.match(failure.message, /cannot reach the SMTP server at 127\.0\.0\.1:1 /);
    assert.ok(!failure.message.includes(PASS));
  });

  it('fails with MissingConfiguration when SMTP_URL is unset or not an SMTP URL, or when there is no sender', async () => {
    const input = { to: ['ada@example.com'], subject: 'x', text: 'x' };
    const unset = await failureOf(runAction(emailSend, input, { env: { SMTP_FROM: 'flow@example.com' } }));
    assert.equal(unset.type, 'MissingConfiguration');
    assert.equal(unset.nonRetryable, true);
    assert.match(unset.message, /SMTP_URL/);

    const wrong = await failureOf(
      runAction(emailSend, input, { env: { ...env, SMTP_URL: `https://flow:${PASS}@mail.example.com` } }),
    );
    assert.equal(wrong.type, 'MissingConfiguration');
    assert.match(wrong.message, /smtp:\/\/ or smtps:\/\//);
    assert.ok(!wrong.message.includes(PASS));

    const noSender = await failureOf(runAction(emailSend, input, { env: { SMTP_URL: env['SMTP_URL'] } }));
    assert.equal(noSender.type, 'MissingConfiguration');
    assert.match(noSender.message, /SMTP_FROM/);
    assert.equal(smtp.received.length, 0);
  });

  it('refuses bad addresses, a multi-line subject and more than 100 recipients before connecting', async () => {
    const cases: [unknown, RegExp][] = [
      [{ to: ['not-an-address'], subject: 'x', text: 'x' }, /to\.0: /],
      [{ to: [], subject: 'x', text: 'x' }, /to: /],
      [{ to: ['ada@example.com'], subject: 'x\r\nBcc: all@example.com', text: 'x' }, /subject: must be one line/],
      [{ to: Array.from({ length: 101 }, (_, i) => `user${i}@example.com`), subject: 'x', text: 'x' }, /to: /],
      [{ to: ['ada@example.com'], subject: 'x', text: 'x', from: 'Eve <not an address>' }, /from: /],
      [{ to: ['ada@example.com'], subject: 'x' }, /text: /],
    ];
    for (const [input, field] of cases) {
      const failure = await failureOf(runAction(emailSend, input, { env }));
      assert.equal(failure.type, 'InvalidActionInput');
      assert.match(failure.message, field);
    }
    assert.equal(smtp.received.length, 0);
  });

  it('has examples that are valid steps and send once their expressions have values', async () => {
    const values = {
      'vars.version': '2.4.0',
      'vars.notes': 'Faster builds.',
      'event.reporter_email': 'reporter@example.com',
    };
    for (const example of emailSend.examples) {
      assert.deepEqual(exampleStepErrors(emailSend, example), [], example.title);
      await runAction(emailSend, renderExample(example.with, values), { env });
    }
    assert.equal(smtp.received.length, emailSend.examples.length);
    assert.equal(smtp.received[1]?.mail.subject, 'Release notes for 2.4.0');
  });
});
