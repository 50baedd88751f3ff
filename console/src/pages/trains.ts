/**
 * Release trains: every busy concurrency group with the run holding it, the runs waiting in line with their
 * positions, and its recent departures, read from the trains API (docs/trains.md). A write session can take a
 * waiting run out of the line; a read session sees the control disabled, with the reason.
 */
import { ApiError, session } from '../api';
import { editButton } from '../controls';
import { h, replace, uniqueId, type Child } from '../dom';
import { removeFromLine, train, trains, type TrainDeparture, type TrainView } from '../operations-api';
import { confirmInPlace, noticeArea, refreshButton, refusalText, type Notice } from '../views/confirmation';
import { definitionHref } from '../views/definition-facts';
import { runLink, trainHref } from '../views/run-values';
import { code, dataTable, factTable, time } from '../views/tables';
import type { Page } from './page';

/** `/ui/trains`. */
export const trainsPage: Page = async () => {
  const notice = noticeArea();
  const list = h('div', { class: 'trains' });
  const draw = async (): Promise<void> => {
    const busy = await trains();
    replace(
      list,
      busy.length === 0
        ? h('p', { class: 'none' }, 'No train is busy: no run holds or waits in any concurrency group.')
        : busy.map((view) => trainSection(view, { notice, redraw: draw, linkHeading: true })),
    );
  };
  await draw();
  return {
    title: 'Trains',
    content: [
      h('h1', null, 'Trains'),
      h(
        'p',
        { class: 'lead' },
        'Every concurrency group with a run holding it or waiting in line. One run of a group goes at a time; the others wait in arrival order.',
      ),
      refreshButton(notice, 'Reading the trains', draw),
      notice.element,
      list,
    ],
  };
};

/** `/ui/trains/:group`. */
export const trainPage: Page = async ([group = '']) => {
  const notice = noticeArea();
  const body = h('div', { class: 'trains' });
  const draw = async (): Promise<void> => {
    try {
      replace(body, trainSection(await train(group), { notice, redraw: draw, linkHeading: false }));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
      replace(
        body,
        h('p', { class: 'none' }, error.message),
        h('p', null, h('a', { href: '/ui/trains' }, 'See every busy train.')),
      );
    }
  };
  await draw();
  return {
    title: `Train ${group}`,
    content: [h('h1', null, `Train ${group}`), refreshButton(notice, 'Reading the trains', draw), notice.element, body],
  };
};

interface SectionOptions {
  readonly notice: Notice;
  /** Reads the trains again and draws them. */
  readonly redraw: () => Promise<void>;
  /** On the list, the group's heading links to its own page. */
  readonly linkHeading: boolean;
}

function trainSection(view: TrainView, options: SectionOptions): HTMLElement {
  const headingId = uniqueId('train');
  const { group } = view;
  return h(
    'section',
    { class: 'train', 'aria-labelledby': headingId },
    h('h2', { id: headingId }, options.linkHeading ? h('a', { href: trainHref(group) }, group) : group),
    view.unavailable
      ? h('p', { class: 'warning' }, `This train's state is unknown: ${view.unavailable}`)
      : [holderView(view), queueView(view, options), departuresView(view)],
  );
}

function holderView({ group, holder }: TrainView): Child {
  if (!holder)
    return h('p', { class: 'none' }, 'No run holds the train at this moment; the next in line is being let on.');
  return factTable(`Holder of ${group}`, [
    ['Run', runLink(holder.workflowId)],
    ['Definition', h('a', { href: definitionHref(holder.definition) }, holder.definition)],
    ['Event', code(holder.eventId)],
    ['Holding since', time(holder.grantedAt)],
    ['In the train since', time(holder.since)],
  ]);
}

function queueView({ group, queue }: TrainView, options: SectionOptions): Child {
  if (queue.length === 0) return h('p', { class: 'none' }, 'Nobody waits in line.');
  const who = session() ?? { scope: 'read' as const };
  return dataTable(
    `Waiting in ${group}`,
    ['Position', 'Run', 'Definition', 'Event', 'Waiting since', 'Action'],
    queue.map((entry) => {
      const remove: HTMLButtonElement = editButton(who, 'Remove from the line', () =>
        confirmInPlace(
          remove,
          ['Take ', code(entry.workflowId), ` out of the line of ${group}? It ends without running a step.`],
          { yes: 'Yes, remove it', no: 'Keep it in line' },
          async () => {
            try {
              const departure = await removeFromLine(group, entry.eventId);
              options.notice.done(`Removed ${departure.workflowId} from the line of ${group}, as ${departure.by}.`);
            } catch (error) {
              options.notice.refused(refusalText('Removing the run from the line', error));
              return false;
            }
            await options
              .redraw()
              .catch((error: unknown) => options.notice.refused(refusalText('Reading the train', error)));
            options.notice.element.focus();
            return true;
          },
        ),
      );
      remove.setAttribute('aria-label', `Remove from the line: ${entry.workflowId}`);
      return [
        String(entry.position),
        runLink(entry.workflowId),
        h('a', { href: definitionHref(entry.definition) }, entry.definition),
        code(entry.eventId),
        time(entry.since),
        remove,
      ];
    }),
  );
}

function departuresView({ group, recent }: TrainView): Child {
  if (recent.length === 0) return null;
  return dataTable(
    `Recent departures from ${group}, newest first`,
    ['Run', 'Definition', 'Event', 'How it left', 'By', 'When'],
    recent.map((departure) => [
      runLink(departure.workflowId),
      h('a', { href: definitionHref(departure.definition) }, departure.definition),
      code(departure.eventId),
      exitText(departure),
      departure.by === undefined ? '—' : departure.exit === 'superseded' ? runLink(departure.by) : departure.by,
      time(departure.at),
    ]),
  );
}

function exitText(departure: TrainDeparture): string {
  switch (departure.exit) {
    case 'closed':
      return `ran, then closed${departure.status ? ` (${departure.status.toLowerCase()})` : ''}`;
    case 'removed':
      return 'removed from the line';
    case 'superseded':
      return 'replaced by a newer run';
    case 'never-started':
      return 'never started';
  }
}
