import assert from 'node:assert/strict';
import type { AddressObject } from 'mailparser';
import { emailSend, SMTP_TLS_REQUIRED } from '../../activities/actions/email-send';
import { exampleStepErrors, renderExample } from '../support/example-steps';
import { failureOf } from '../support/failure-of';
import { runAction } from '../support/run-action';
import { hasOpenssl, selfSignedCertificate } from '../support/self-signed-certificate';
import { SmtpReceiver } from '../support/smtp-receiver';
import { WireTap } from '../support/wire-tap';

const PASS = 's3cret-Pa55';

/** The forms the password takes on the wire: as typed, for AUTH LOGIN, and inside AUTH PLAIN's `\0user\0pass`. */
const PASSWORD_ON_THE_WIRE = [
  PASS,
  Buffer.from(PASS).toString('base64'),
  Buffer.from(`\0flow\0${PASS}`).toString('base64'),
];

/** The first password form found in `bytes`, or undefined. */
function passwordIn(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  return PASSWORD_ON_THE_WIRE.find((form) => text.includes(form));
}

const message = { to: ['ada@example.com'], subject: 'TLS check', text: 'x' };

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
    // This receiver has no STARTTLS, like a relay on the worker's own host: the case the opt-out is for.
    env = {
      SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${smtp.port}`,
      SMTP_FROM: 'Flow <flow@example.com>',
      FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: '1',
    };
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

  describe('TLS before logging in', () => {
    let tap: WireTap;
    before(async () => {
      tap = await new WireTap(smtp.port).start();
    });
    after(() => tap.stop());
    beforeEach(() => {
      tap.clear();
      smtp.logins.length = 0;
    });
    const secured = () => ({ SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${tap.port}`, SMTP_FROM: 'flow@example.com' });

    it('refuses to log in to a server without STARTTLS, without retrying, and never sends the password', async () => {
      const failure = await failureOf(runAction(emailSend, message, { env: secured() }));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, SMTP_TLS_REQUIRED);
      assert.match(
        failure.message,
        /the SMTP server at 127\.0\.0\.1:\d+ does not offer STARTTLS \(it answered "5\d\d /,
      );
      assert.match(failure.message, /use smtps:\/\/ .* or a server that offers STARTTLS/);
      assert.match(failure.message, /on the worker's own host \(loopback\), set FLOW_SMTP_ALLOW_PLAINTEXT_AUTH=1/);
      assert.ok(!JSON.stringify([failure.message, failure.details]).includes(PASS));
      const wire = tap.clientBytes();
      assert.match(wire.toString('latin1'), /^STARTTLS\r$/m, 'the client asked to upgrade');
      assert.doesNotMatch(wire.toString('latin1'), /^AUTH /m, 'the client never started to log in');
      assert.equal(passwordIn(wire), undefined, 'the password crossed the wire');
      assert.deepEqual(smtp.logins, []);
      assert.equal(smtp.received.length, 0);
    });

    it('logs in without TLS when FLOW_SMTP_ALLOW_PLAINTEXT_AUTH=1 says the relay is local', async () => {
      for (const flag of ['1', 'true']) {
        await runAction(emailSend, message, { env: { ...secured(), FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: flag } });
      }
      assert.deepEqual(smtp.logins, [
        { username: 'flow', secure: false },
        { username: 'flow', secure: false },
      ]);
      assert.equal(smtp.received.length, 2);
      assert.ok(passwordIn(tap.clientBytes()), 'the opt-out sends the password as the server asked');
    });

    it('keeps refusing for any other value of FLOW_SMTP_ALLOW_PLAINTEXT_AUTH', async () => {
      for (const flag of ['0', 'false', 'yes please', '']) {
        const failure = await failureOf(
          runAction(emailSend, message, { env: { ...secured(), FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: flag } }),
        );
        assert.equal(failure.type, SMTP_TLS_REQUIRED, flag);
      }
      assert.equal(passwordIn(tap.clientBytes()), undefined);
      assert.deepEqual(smtp.logins, []);
    });

    it('refuses an SMTP_URL whose query turns requireTLS off, before connecting', async () => {
      const env = { ...secured(), SMTP_URL: `${secured().SMTP_URL}?requireTLS=false` };
      const failure = await failureOf(runAction(emailSend, message, { env }));
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, SMTP_TLS_REQUIRED);
      assert.match(failure.message, /SMTP_URL turns requireTLS off for 127\.0\.0\.1:\d+/);
      assert.ok(!failure.message.includes(PASS));
      assert.equal(tap.clientBytes().length, 0, 'nothing was sent');
    });

    it('sends without credentials through a relay without STARTTLS, as before', async () => {
      await runAction(emailSend, message, {
        env: { SMTP_URL: `smtp://127.0.0.1:${tap.port}`, SMTP_FROM: 'flow@example.com' },
      });
      assert.equal(smtp.received.length, 1);
      assert.deepEqual(smtp.logins, []);
    });

    describe('with a server that offers STARTTLS', () => {
      let tlsSmtp: SmtpReceiver;
      let tlsTap: WireTap;
      let env: Record<string, string>;
      before(async function () {
        if (!hasOpenssl()) this.skip(); // the self-signed certificate is made with the openssl command
        const certificate = selfSignedCertificate();
        tlsSmtp = await new SmtpReceiver({ user: 'flow', pass: PASS, tls: certificate }).start();
        tlsTap = await new WireTap(tlsSmtp.port).start();
        // The test's certificate is the only CA the client trusts, so the upgrade is verified, not waved through.
        const ca = encodeURIComponent(certificate.cert);
        env = { SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${tlsTap.port}?tls.ca=${ca}`, SMTP_FROM: 'flow@example.com' };
      });
      after(async () => {
        await tlsTap?.stop();
        await tlsSmtp?.stop();
      });
      beforeEach(() => {
        tlsTap?.clear();
        if (tlsSmtp) tlsSmtp.logins.length = 0;
      });

      it('upgrades with STARTTLS before AUTH, so the password only travels encrypted', async () => {
        const output = await runAction(emailSend, message, { env });
        assert.deepEqual((output as { accepted: string[] }).accepted, ['ada@example.com']);
        assert.deepEqual(tlsSmtp.logins, [{ username: 'flow', secure: true }]);
        const wire = tlsTap.clientBytes();
        const plain = wire.toString('latin1');
        assert.match(plain, /^EHLO .*\r\nSTARTTLS\r\n/, 'the client upgraded right after its first EHLO');
        assert.doesNotMatch(plain, /AUTH /, 'no AUTH command in clear text');
        assert.equal(passwordIn(wire), undefined, 'the password crossed the wire unencrypted');
      });

      it('still upgrades when FLOW_SMTP_ALLOW_PLAINTEXT_AUTH=1, which only matters without STARTTLS', async () => {
        await runAction(emailSend, message, { env: { ...env, FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: '1' } });
        assert.deepEqual(tlsSmtp.logins, [{ username: 'flow', secure: true }]);
        assert.equal(passwordIn(tlsTap.clientBytes()), undefined);
      });

      it('fails when the certificate is not trusted, sending no password', async () => {
        const untrusted = { ...env, SMTP_URL: `smtp://flow:${PASS}@127.0.0.1:${tlsTap.port}` };
        const failure = await failureOf(runAction(emailSend, message, { env: untrusted }));
        assert.match(failure.message, /certificate/);
        assert.ok(!failure.message.includes(PASS));
        assert.deepEqual(tlsSmtp.logins, []);
        assert.equal(passwordIn(tlsTap.clientBytes()), undefined);
      });
    });
  });
});
