import { actionsById } from '../activities/catalog';
import { RELEASE } from './definitions';
import type { GatewayClient } from './gateway-client';
import { hitsByEvent, Ledger, settle, type Settlement } from './ledger';
import { count, postAll, type Send } from './scenario';
import { SOAK_JOB, type SoakStack } from './stack';

/** The side effects a release run makes, by action. */
export const RELEASE_EFFECTS = [
  'jira.comment',
  'slack.post_message',
  'jenkins.trigger_build',
  'http.request',
  'email.send',
];

/** Release runs of one scenario: one Jira ticket each, in a project of the scenario's own. */
export class ReleaseBatch {
  readonly ledger = new Ledger();
  readonly tickets: string[];

  constructor(
    private readonly stack: SoakStack,
    private readonly project: string,
    size: number,
    private readonly tag: string,
  ) {
    this.tickets = Array.from({ length: size }, (_, i) => `${project}-${i + 1}`);
    for (const ticket of this.tickets) stack.world.jira.addIssue(ticket, { summary: `Soak release ${ticket}` });
  }

  /** Posts one release event per ticket (keyed, so a sender's retry is the same event). */
  async post(api: GatewayClient, concurrency: number): Promise<void> {
    const sends: Send[] = this.tickets.map((issue) => ({
      event: RELEASE,
      body: { issue },
      key: `${this.tag}-${issue.toLowerCase()}`,
    }));
    await postAll(this.stack, api, this.ledger, sends, concurrency);
  }

  /** Waits for every accepted release to end, and reads what arrived at the receiver. */
  settle(deadline: number): Promise<Settlement> {
    const hits = (): Map<string, number> => hitsByEvent(this.stack.receiver.requests, '/release');
    return settle(this.stack.client, this.ledger, 'soak-release', hits, deadline);
  }

  /**
   * Side effects counted at the peers for this batch's tickets, by action: how many were made, and how many of them
   * repeated one already made for the same run (a duplicate a user would see).
   */
  async effects(): Promise<Record<string, { made: number; duplicates: number }>> {
    const { world, receiver } = this.stack;
    const mine = new Set(this.tickets);
    const perTicket = (tickets: readonly string[]): { made: number; duplicates: number } => {
      const counts = new Map<string, number>();
      for (const ticket of tickets) if (mine.has(ticket)) counts.set(ticket, (counts.get(ticket) ?? 0) + 1);
      const made = [...counts.values()].reduce((a, b) => a + b, 0);
      return { made, duplicates: made - counts.size };
    };
    const comments = this.tickets.flatMap((ticket) => world.jira.issue(ticket).comments.map(() => ticket));
    const messages = world.slack.messages.map((message) => /^Releasing (\S+)$/.exec(message.text ?? '')?.[1] ?? '');
    const builds = (await this.jenkinsQueue()).map((parameters) => parameters['TICKET'] ?? '');
    const mails = world.smtp.received.map((mail) => /^Released (\S+)$/.exec(mail.mail.subject ?? '')?.[1] ?? '');
    const ids = new Map([...this.ledger.accepted.values()].map((event) => [event.eventId, event.eventId]));
    const calls = [...hitsByEvent(receiver.requests, '/release').entries()]
      .filter(([id]) => ids.has(id))
      .map(([, n]) => ({ made: n, duplicates: n - 1 }));
    return {
      'jira.comment': perTicket(comments),
      'slack.post_message': perTicket(messages),
      'jenkins.trigger_build': perTicket(builds),
      'http.request': {
        made: calls.reduce((n, c) => n + c.made, 0),
        duplicates: calls.reduce((n, c) => n + c.duplicates, 0),
      },
      'email.send': perTicket(mails),
    };
  }

  /** The parameters of every build waiting in the soak job's queue, read as a Jenkins client would. */
  private async jenkinsQueue(): Promise<Record<string, string>[]> {
    const { jenkins, credentials } = this.stack.world;
    const auth = Buffer.from(`flow:${credentials.jenkinsToken}`).toString('base64');
    const response = await fetch(`${jenkins.url}/queue/api/json`, { headers: { authorization: `Basic ${auth}` } });
    const queue = (await response.json()) as {
      items: { task: { name: string }; actions: { parameters?: { name: string; value: unknown }[] }[] }[];
    };
    return queue.items
      .filter((item) => item.task.name === SOAK_JOB)
      .map((item) =>
        Object.fromEntries(
          item.actions.flatMap((action) => action.parameters ?? []).map((p) => [p.name, String(p.value)]),
        ),
      );
  }
}

/**
 * The side effects as table rows: `made, duplicates` per action, and whether its step ran as a local or a remote
 * activity (the release's steps set none, so each runs as its action's default: docs/engine.md, "Local steps"). A
 * worker killed during a workflow task runs its local steps again, so the local ones are where duplicates would show.
 */
export function effectFigures(
  effects: Record<string, { made: number; duplicates: number }>,
): (readonly [string, string])[] {
  const catalog = actionsById();
  return Object.entries(effects).map(([action, { made, duplicates }]) => {
    const execution = catalog.get(action)?.defaults?.execution ?? 'remote';
    return [
      `\`${action}\` (${execution} step) at its peer: made, of them duplicates`,
      `${count(made)}, ${count(duplicates)}`,
    ];
  });
}
