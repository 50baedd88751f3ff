import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A channel the fake workspace has; the app can post only where it is a member. */
export interface FakeChannel {
  readonly id: string;
  readonly name: string;
  readonly member: boolean;
}

/** A message the fake accepted through chat.postMessage, with its form fields decoded. */
export interface PostedMessage {
  /** The channel id the message landed in, whatever name the request used. */
  readonly channel: string;
  readonly text: string | undefined;
  /** `blocks` parsed from the JSON string Slack's form encoding carries; undefined when none were sent. */
  readonly blocks: unknown;
  readonly thread_ts: string | undefined;
  readonly ts: string;
  /** `metadata` parsed from its JSON string (`{event_type, event_payload}`); undefined when none was sent. */
  readonly metadata?: { readonly event_type: string; readonly event_payload: Record<string, unknown> };
  /** The formatting arguments as sent (`mrkdwn`, `parse`, `link_names`), when sent. */
  readonly formatting?: Readonly<Record<string, string>>;
}

/** A user of the fake workspace, for `users.list` and direct messages (`conversations.open`). */
export interface FakeUser {
  readonly id: string;
  readonly name: string;
}

/** An edit the fake accepted through chat.update, with its form fields decoded. */
export interface MessageUpdate {
  readonly channel: string;
  readonly ts: string;
  readonly text: string | undefined;
  /** `blocks` parsed from their JSON string; undefined when none were sent. */
  readonly blocks: unknown;
}

/** A Web API request the fake received. */
export interface SlackRequest {
  readonly method: string;
  /** The API method, such as `chat.postMessage`. */
  readonly apiMethod: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The form-encoded body, decoded. */
  readonly form: Readonly<Record<string, string>>;
}

/** How to fail one upcoming request: a Slack error code (HTTP 200, `ok: false`), or an HTTP status. */
export type SlackFailure =
  { readonly error: string } | { readonly status: number; readonly retryAfterSeconds?: number; readonly body?: string };

/** Options of {@link FakeSlack}. */
export interface FakeSlackOptions {
  /** The bot token requests must carry as `Authorization: Bearer …`. */
  readonly token: string;
  readonly channels?: readonly FakeChannel[];
  /** Users a DM can be opened with (`conversations.open`), each then a conversation `D<user id>`. */
  readonly users?: readonly FakeUser[];
}

const DEFAULT_CHANNELS: readonly FakeChannel[] = [
  { id: 'C0RELEASES', name: 'releases', member: true },
  { id: 'C0GENERAL', name: 'general', member: false },
];

/**
 * A Slack Web API on loopback, for the real `@slack/web-api` client: `chat.postMessage` and `chat.update` with
 * form-encoded arguments, bearer-token auth, channel lookup by id or name (`chat.update` by id only, as Slack), membership,
 * and Slack's `{ok: false, error}` answers. Also `conversations.open` (a DM with a user), `conversations.history` (by
 * id, newest first, `oldest`, `limit` and `cursor`, with each message's `metadata` when `include_all_metadata` is set),
 * `conversations.replies` (a thread, oldest first), `conversations.list` and `users.list`, {@link loseNextPostAnswer}
 * (a post recorded, then answered 500), and {@link holdNextPost}: a post that is recorded but not answered, as when a
 * worker dies after Slack took its message.
 */
export class FakeSlack {
  /** Messages as they are now: an edit through chat.update replaces the text and blocks of its message. */
  readonly messages: PostedMessage[] = [];
  /** Every edit accepted through chat.update, in order. */
  readonly updates: MessageUpdate[] = [];
  readonly requests: SlackRequest[] = [];
  private readonly failures: SlackFailure[] = [];
  private readonly channels: readonly FakeChannel[];
  private server: http.Server | undefined;
  private sequence = 0;
  private holds = 0;
  private readonly lostAnswers: number[] = [];
  private readonly held: (() => void)[] = [];

  constructor(private readonly options: FakeSlackOptions) {
    this.channels = [
      ...(options.channels ?? DEFAULT_CHANNELS),
      ...(options.users ?? []).map((user) => ({ id: `D${user.id}`, name: `dm-${user.id}`, member: true })),
    ];
  }

  /**
   * The next `count` chat.postMessage calls are recorded (the message is in the channel) but not answered until
   * {@link releaseHeld}, or until the client goes away: a worker killed after Slack took its message.
   */
  holdNextPost(count = 1): void {
    this.holds += count;
  }

  /**
   * The next chat.postMessage is recorded (the message is in the channel) and then answered with HTTP `status`
   * instead of its result: a response lost after Slack took the message.
   */
  loseNextPostAnswer(status = 500): void {
    this.lostAnswers.push(status);
  }

  /** Answers every held post. */
  releaseHeld(): void {
    for (const release of this.held.splice(0)) release();
  }

  /** How many posts are held unanswered now. */
  get heldCount(): number {
    return this.held.length;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  /** The Web API base URL, ending in `/api/` like `https://slack.com/api/`. */
  get url(): string {
    if (!this.server) throw new Error('FakeSlack is not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/`;
  }

  /** Answers the next requests (one each, in order) with these failures instead of handling them. */
  failNext(...failures: SlackFailure[]): void {
    this.failures.push(...failures);
  }

  /** Forgets recorded messages, requests and pending failures. */
  reset(): void {
    this.messages.length = 0;
    this.updates.length = 0;
    this.requests.length = 0;
    this.failures.length = 0;
    this.holds = 0;
    this.lostAnswers.length = 0;
    this.releaseHeld();
  }

  async stop(): Promise<void> {
    this.releaseHeld();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const apiMethod = path.startsWith('/api/') ? path.slice('/api/'.length) : path;
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? Object.fromEntries(new URLSearchParams(body))
      : {};
    this.requests.push({ method: req.method ?? '', apiMethod, headers: req.headers, form });

    const failure = this.failures.shift();
    if (failure && 'status' in failure) {
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain' };
      if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
      res.writeHead(failure.status, headers);
      res.end(failure.body ?? http.STATUS_CODES[failure.status] ?? '');
      return;
    }
    if (failure) return answer(res, { ok: false, error: failure.error });

    if (req.method !== 'POST' || !path.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const authorization = req.headers.authorization;
    if (!authorization) return answer(res, { ok: false, error: 'not_authed' });
    if (authorization !== `Bearer ${this.options.token}`) return answer(res, { ok: false, error: 'invalid_auth' });
    if (apiMethod === 'chat.postMessage') {
      const posted = this.postMessage(form);
      const lost = posted['ok'] === true ? this.lostAnswers.shift() : undefined;
      if (lost !== undefined) {
        res.writeHead(lost, { 'content-type': 'text/plain' });
        res.end(http.STATUS_CODES[lost] ?? 'error');
        return;
      }
      if (posted['ok'] === true && this.holds > 0) {
        this.holds -= 1;
        this.held.push(() => answer(res, posted));
        return;
      }
      return answer(res, posted);
    }
    if (apiMethod === 'chat.update') return answer(res, this.update(form));
    if (apiMethod === 'conversations.open') return answer(res, this.open(form));
    if (apiMethod === 'conversations.history') return answer(res, this.history(form));
    if (apiMethod === 'conversations.replies') return answer(res, this.replies(form));
    if (apiMethod === 'conversations.list')
      return answer(res, {
        ok: true,
        channels: this.channels
          .filter((channel) => !channel.id.startsWith('D'))
          .map((channel) => ({ id: channel.id, name: channel.name, is_member: channel.member })),
        response_metadata: { next_cursor: '' },
      });
    if (apiMethod === 'users.list')
      return answer(res, {
        ok: true,
        members: (this.options.users ?? []).map((user) => ({ id: user.id, name: user.name, deleted: false })),
        response_metadata: { next_cursor: '' },
      });
    answer(res, { ok: false, error: 'unknown_method' });
  }

  private open(form: Record<string, string>): Record<string, unknown> {
    const users = (form['users'] ?? '').split(',').filter((user) => user !== '');
    if (users.length !== 1)
      return { ok: false, error: users.length === 0 ? 'users_list_not_supplied' : 'not_implemented' };
    const user = (this.options.users ?? []).find((candidate) => candidate.id === users[0]);
    if (!user) return { ok: false, error: 'user_not_found' };
    return { ok: true, channel: { id: `D${user.id}` } };
  }

  private history(form: Record<string, string>): Record<string, unknown> {
    // As Slack: by id only, newest first, where the app is a member.
    const channel = this.memberChannel(form);
    if ('error' in channel) return channel;
    const oldest = Number(form['oldest'] ?? 0);
    return this.messagePage(
      this.messages
        .filter((message) => message.channel === channel.id && !message.thread_ts && Number(message.ts) > oldest)
        .reverse(),
      form,
    );
  }

  private replies(form: Record<string, string>): Record<string, unknown> {
    // As Slack: the thread's parent and its replies, oldest first, by channel id, where the app is a member.
    const channel = this.memberChannel(form);
    if ('error' in channel) return channel;
    const thread = form['ts'];
    const oldest = Number(form['oldest'] ?? 0);
    return this.messagePage(
      this.messages.filter(
        (message) =>
          message.channel === channel.id &&
          (message.ts === thread || message.thread_ts === thread) &&
          (message.ts === thread || Number(message.ts) > oldest),
      ),
      form,
    );
  }

  /** The channel a history read names by id, or Slack's error when it is unknown or the app is not in it. */
  private memberChannel(form: Record<string, string>): { id: string } | { ok: false; error: string } {
    const channel = this.channels.find((candidate) => candidate.id === form['channel']);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (!channel.member) return { ok: false, error: 'not_in_channel' };
    return channel;
  }

  /** One page of `all` as Slack pages history: `limit` (at most 1,000) from the `cursor`, metadata when asked. */
  private messagePage(all: readonly PostedMessage[], form: Record<string, string>): Record<string, unknown> {
    const limit = Math.min(Number(form['limit'] ?? 100) || 100, 1000);
    const start = Number(form['cursor'] ?? 0) || 0;
    const withMetadata = form['include_all_metadata'] === 'true';
    const more = start + limit < all.length;
    return {
      ok: true,
      messages: all.slice(start, start + limit).map((message) => ({
        type: 'message',
        ts: message.ts,
        text: message.text ?? '',
        ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
        ...(withMetadata && message.metadata ? { metadata: message.metadata } : {}),
      })),
      has_more: more,
      response_metadata: { next_cursor: more ? String(start + limit) : '' },
    };
  }

  private update(form: Record<string, string>): Record<string, unknown> {
    // Slack's chat.update takes a channel id only; a #name is channel_not_found.
    const channel = this.channels.find((candidate) => candidate.id === form['channel']);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const index = this.messages.findIndex((message) => message.channel === channel.id && message.ts === form['ts']);
    if (index < 0) return { ok: false, error: 'message_not_found' };
    const blocks = parseBlocks(form['blocks']);
    if (blocks === 'invalid') return { ok: false, error: 'invalid_blocks_format' };
    const text = form['text'];
    if (!text && blocks === undefined) return { ok: false, error: 'no_text' };
    const message = this.messages[index]!;
    this.messages[index] = { ...message, text, blocks };
    this.updates.push({ channel: channel.id, ts: message.ts, text, blocks });
    return { ok: true, channel: channel.id, ts: message.ts, text: text ?? '', message: { text: text ?? '' } };
  }

  private postMessage(form: Record<string, string>): Record<string, unknown> {
    const wanted = form['channel'];
    if (!wanted) return { ok: false, error: 'channel_not_found' };
    const channel = this.channels.find(
      (candidate) => candidate.id === wanted || candidate.name === wanted.replace(/^#/, ''),
    );
    if (!channel) return { ok: false, error: 'channel_not_found' };
    if (!channel.member) return { ok: false, error: 'not_in_channel' };
    const blocks = parseBlocks(form['blocks']);
    if (blocks === 'invalid') return { ok: false, error: 'invalid_blocks_format' };
    if (blocks !== undefined && blocks.length > 50) return { ok: false, error: 'invalid_blocks' };
    const text = form['text'];
    if (!text && blocks === undefined) return { ok: false, error: 'no_text' };
    this.sequence += 1;
    // Now, as Slack's ts is, so that conversations.history's `oldest` means what it does in Slack.
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.sequence).padStart(6, '0')}`;
    const metadata = parseMetadata(form['metadata']);
    if (metadata === 'invalid') return { ok: false, error: 'invalid_metadata_format' };
    const formatting = Object.fromEntries(
      ['mrkdwn', 'parse', 'link_names'].flatMap((key) => (form[key] === undefined ? [] : [[key, form[key]]])),
    ) as Record<string, string>;
    this.messages.push({
      channel: channel.id,
      text,
      blocks,
      thread_ts: form['thread_ts'],
      ts,
      ...(metadata ? { metadata } : {}),
      ...(Object.keys(formatting).length > 0 ? { formatting } : {}),
    });
    return {
      ok: true,
      channel: channel.id,
      ts,
      message: { type: 'message', subtype: 'bot_message', text: text ?? '', ts, bot_id: 'B0FLOW' },
    };
  }
}

/** The `metadata` form field parsed: `{event_type, event_payload}`, undefined when absent, `'invalid'` otherwise. */
function parseMetadata(field: string | undefined): PostedMessage['metadata'] | 'invalid' {
  if (field === undefined) return undefined;
  try {
    const metadata: unknown = JSON.parse(field);
    if (typeof metadata !== 'object' || metadata === null) return 'invalid';
    const { event_type: type, event_payload: payload } = metadata as Record<string, unknown>;
    if (typeof type !== 'string' || typeof payload !== 'object' || payload === null) return 'invalid';
    return { event_type: type, event_payload: payload as Record<string, unknown> };
  } catch {
    return 'invalid';
  }
}

/** The `blocks` form field parsed: an array, undefined when absent, `'invalid'` when not a JSON array. */
function parseBlocks(field: string | undefined): unknown[] | undefined | 'invalid' {
  if (field === undefined) return undefined;
  try {
    const blocks: unknown = JSON.parse(field);
    return Array.isArray(blocks) ? blocks : 'invalid';
  } catch {
    return 'invalid';
  }
}

function answer(res: http.ServerResponse, body: Record<string, unknown>): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
