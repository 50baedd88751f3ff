/**
 * One definition: what it is for, what it reacts to, its release train, its steps, every revision with who saved it
 * and why, its recent runs with a link to each in the Temporal UI, and a dry run of an event.
 */
import { actions, ApiError, definition, recentRuns, revisions } from '../api';
import type { RunSummary } from '../api-types';
import { h, type Child } from '../dom';
import { definitionFacts } from '../views/definition-facts';
import { dryRunPanel } from '../views/dry-run';
import { editPanel, revisionTools } from '../views/edit-panel';
import { pipeline } from '../views/steps';
import { subscribePanel } from '../views/subscribe-form';
import { code, dataTable, time } from '../views/tables';
import type { Page } from './page';

/** `/ui/definitions/:id`. */
export const definitionPage: Page = async ([id = '']) => {
  const [stored, history, catalog, runs] = await Promise.all([
    definition(id),
    revisions(id),
    actions(),
    // The runs come from Temporal, which may be unreachable while the registry answers: the rest of the page stays.
    recentRuns(id).catch((error: unknown) => {
      if (error instanceof ApiError) return error;
      throw error;
    }),
  ]);
  const def = stored.definition;
  return {
    title: def.name,
    content: [
      h('h1', null, def.name),
      h(
        'p',
        { class: 'muted' },
        `Revision ${stored.revision}, saved by ${stored.author ?? 'an unrecorded author'} `,
        time(stored.createdAt),
        stored.message ? [': ', h('q', null, stored.message)] : '',
      ),
      def.description ? h('p', { class: 'description' }, def.description) : null,
      definitionFacts(def, 'About this definition'),
      subscribePanel({ kind: 'definition', id: def.id, name: def.name }),
      editPanel(stored),
      pipeline(def, catalog, 'h2'),
      dryRunPanel(def),
      h('h2', null, 'Revisions'),
      dataTable(
        'Revisions, newest first',
        ['Revision', 'Saved', 'Author', 'Change message'],
        history.map((revision) => [
          [String(revision.revision), revision.current ? ' (current)' : ''],
          time(revision.createdAt),
          revision.author ?? 'not recorded',
          revision.message ?? '—',
        ]),
      ),
      revisionTools(id, history),
      h('h2', null, 'Recent runs'),
      runsView(runs),
    ],
  };
};

function runsView(runs: RunSummary[] | ApiError): Child {
  if (runs instanceof ApiError) return h('p', { class: 'warning' }, `The runs cannot be listed now: ${runs.message}`);
  if (runs.length === 0) return h('p', { class: 'none' }, 'No runs yet.');
  return dataTable(
    'Recent runs, newest first',
    ['Run', 'Status', 'Started', 'Duration', 'Revision', 'Temporal UI'],
    runs.map((run) => [
      code(run.workflowId),
      h('span', { class: `status status-${run.status}` }, run.status),
      time(run.startTime),
      duration(run.startTime, run.closeTime),
      run.revision === null ? '—' : String(run.revision),
      h('a', { href: run.ui, 'aria-label': `${run.workflowId} in the Temporal UI` }, 'Open'),
    ]),
  );
}

function duration(start: string, end: string | null): string {
  if (!end) return 'running';
  const seconds = Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 1000));
  if (Number.isNaN(seconds)) return '—';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
