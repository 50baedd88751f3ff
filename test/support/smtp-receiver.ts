import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A message the receiver accepted: its SMTP envelope, who logged in, and the parsed message. */
export interface ReceivedMail {
  readonly envelopeFrom: string | undefined;
  readonly envelopeTo: readonly string[];
  readonly user: unknown;
  readonly mail: ParsedMail;
}

/** One AUTH command the receiver saw: who tried, and whether the connection was encrypted by then. */
export interface SmtpLogin {
  readonly username: string;
  readonly secure: boolean;
}

/** Options of {@link SmtpReceiver}. */
export interface SmtpReceiverOptions {
  /** The only credentials AUTH accepts. */
  readonly user: string;
  readonly pass: string;
  /**
   * A key and certificate (PEM) to offer STARTTLS with; AUTH is then refused until the client has upgraded. Without
   * them the server offers no STARTTLS and accepts AUTH over plain text, like a relay on the same host.
   */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/**
 * A real SMTP server (`smtp-server`) on loopback that parses every message it receives with `mailparser`, with or
 * without STARTTLS. Recipients can be refused with a chosen SMTP reply code.
 */
export class SmtpReceiver {
  readonly received: ReceivedMail[] = [];
  /** Every AUTH attempt, accepted or not. */
  readonly logins: SmtpLogin[] = [];
  /** Recipient address → the SMTP reply code RCPT TO answers for it (550 permanent, 450 temporary). */
  readonly refuse = new Map<string, number>();
  private readonly server: SMTPServer;

  constructor(options: SmtpReceiverOptions) {
    this.server = new SMTPServer({
      authOptional: true,
      ...(options.tls
        ? { key: options.tls.key, cert: options.tls.cert, allowInsecureAuth: false }
        : { allowInsecureAuth: true, disabledCommands: ['STARTTLS'] }),
      logger: false,
      onAuth: (auth, session, callback) => {
        this.logins.push({ username: auth.username ?? '', secure: session.secure });
        if (auth.username === options.user && auth.password === options.pass) {
          callback(null, { user: auth.username });
        } else {
          callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
        }
      },
      onRcptTo: (address, _session, callback) => {
        const code = this.refuse.get(address.address);
        if (code === undefined) return callback();
        const text = code >= 500 ? 'mailbox unavailable' : 'mailbox busy, try again later';
        callback(Object.assign(new Error(`<${address.address}>: ${text}`), { responseCode: code }));
      },
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            const from = session.envelope.mailFrom;
            this.received.push({
              envelopeFrom: from ? from.address : undefined,
              envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              user: session.user,
              mail,
            });
            callback();
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
