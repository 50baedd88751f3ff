import type { Command } from 'commander';
import { segment, type CliContext } from '../context';

/** A subscription as the API answers it (docs/subscriptions.md#api). */
interface SubscriptionView {
  readonly id: string;
  readonly revision: number;
  readonly author: string;
  readonly subscription: {
    readonly owner?: string;
    readonly on: { source?: string; type?: string; definition?: string; outcomes?: string[] };
    readonly deliver: { slack?: string; email?: string };
    readonly muted_until?: string;
  };
}

/** `flowctl get subscriptions` and `flowctl describe subscription`. */
export function registerSubscriptions(
  parents: { readonly get: Command; readonly describe: Command },
  context: CliContext,
): void {
  const { output } = context;
  parents.get
    .command('subscriptions')
    .description('List subscriptions: who is told about which events and outcomes, and how')
    .option('--owner <name>', "`me` for the caller's, or an owner's name")
    .option('--json', 'print {items: [...]}, every subscription as GET /api/subscriptions lists it')
    .action(async (options: { owner?: string; json?: boolean }) => {
      const client = context.client();
      const items: SubscriptionView[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await client.get<{ items: SubscriptionView[]; next: string | null }>('/api/subscriptions', {
          owner: options.owner,
          limit: 100,
          after,
        });
        items.push(...page.items);
        const last = page.items.at(-1);
        if (!page.next || !last) break;
        after = last.id;
      }
      if (options.json) return output.json({ items });
      output.table(
        ['ID', 'OWNER', 'ON', 'DELIVER', 'MUTED UNTIL'],
        items.map(({ id, subscription }) => [
          id,
          subscription.owner ?? '-',
          subscription.on.definition !== undefined
            ? `${subscription.on.definition}: ${(subscription.on.outcomes ?? []).join(',')}`
            : `${subscription.on.source ?? '?'}/${subscription.on.type ?? '?'}`,
          [subscription.deliver.slack, subscription.deliver.email].filter(Boolean).join(', '),
          subscription.muted_until ?? '',
        ]),
      );
    });

  parents.describe
    .command('subscription')
    .description('Show one subscription')
    .argument('<id>', 'the subscription id')
    .option('--json', "print the gateway's answer")
    .action(async (id: string, options: { json?: boolean }) => {
      const answer = await context.client().get<SubscriptionView>(`/api/subscriptions/${segment(id)}`);
      if (options.json) return output.json(answer);
      output.line(`${output.paint('bold', answer.id)}  r${answer.revision} by ${answer.author}`);
      output.line(JSON.stringify(answer.subscription, null, 2));
    });
}
