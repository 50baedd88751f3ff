import type { Command } from 'commander';
import { segment, type CliContext } from '../context';

/** A train as the API shows it (README: Release trains). */
interface TrainView {
  readonly group: string;
  readonly holder: { eventId: string; definition: string; workflowId: string; since?: string } | null;
  readonly queue: readonly {
    eventId: string;
    definition: string;
    workflowId: string;
    position: number;
    since: string;
  }[];
  readonly unavailable?: string;
}

/** `flowctl trains list|show|remove` and `flowctl get trains`. */
export function registerTrains(program: Command, parents: { readonly get: Command }, context: CliContext): void {
  const { output } = context;
  const trains = program.command('trains').description('Busy concurrency groups: who holds each, who waits');
  const list = async (options: { json?: boolean }): Promise<void> => {
    const answer = await context.client().get<{ items: TrainView[] }>('/api/trains');
    if (options.json) return output.json(answer);
    output.table(
      ['GROUP', 'HOLDER', 'WAITING', 'NOTE'],
      answer.items.map((train) => [
        train.group,
        train.holder?.workflowId ?? '-',
        String(train.queue.length),
        train.unavailable ?? '',
      ]),
    );
  };
  for (const command of [
    trains.command('list').description('Every busy group'),
    parents.get.command('trains').description('Every busy concurrency group (as trains list)'),
  ])
    command.option('--json', "print the gateway's answer ({items: [...]})").action(list);

  trains
    .command('show')
    .description('One group: its holder and its queue in order')
    .argument('<group>', "the group, as the definition's concurrency.group rendered it (release-REL)")
    .option('--json', "print the gateway's answer (GET /api/trains/:group)")
    .action(async (group: string, options: { json?: boolean }) => {
      const train = await context.client().get<TrainView>(`/api/trains/${segment(group)}`);
      if (options.json) return output.json(train);
      output.line(
        `${output.paint('bold', train.group)}  held by ${train.holder ? `${train.holder.workflowId} (${train.holder.definition}, event ${train.holder.eventId})` : 'nobody'}`,
      );
      if (train.queue.length === 0) output.line('Nobody waits.');
      else
        output.table(
          ['POS', 'EVENT', 'DEFINITION', 'WORKFLOW ID', 'SINCE'],
          train.queue.map((entry) => [
            String(entry.position),
            entry.eventId,
            entry.definition,
            entry.workflowId,
            entry.since,
          ]),
        );
    });

  trains
    .command('remove')
    .description("Take a waiting run out of a group's line; it ends without running a step")
    .argument('<group>', 'the group')
    .argument('<eventId>', 'the event id of the waiting run')
    .option('--json', "print the gateway's answer")
    .addHelpText('after', '\nExample:\n  flowctl trains remove release-REL jira-REL-9')
    .action(async (group: string, eventId: string, options: { json?: boolean }) => {
      const answer = await context
        .client()
        .request('DELETE', `/api/trains/${segment(group)}/queue/${segment(eventId)}`);
      if (options.json) return output.json(answer.body);
      output.line(`Removed the run of event ${eventId} from train ${group}.`);
    });
}
