/** How the trains, runs and approvals pages show a run: a link to its page, its status, how long it took. */
import { h } from '../dom';
import { definitionHref } from './definition-facts';
import { code, type Fact } from './tables';

/** The address of a run's page. */
export function runHref(workflowId: string): string {
  return `/ui/runs/${encodeURIComponent(workflowId)}`;
}

/** The address of a train's page. */
export function trainHref(group: string): string {
  return `/ui/trains/${encodeURIComponent(group)}`;
}

/** A link to a run's page, named by its workflow id. */
export function runLink(workflowId: string): HTMLElement {
  return h('a', { href: runHref(workflowId) }, workflowId);
}

/** A run's or a step's status, marked so that it can be told apart at a glance (the word is always there). */
export function statusBadge(status: string): HTMLElement {
  const known = /^[a-z_-]{1,40}$/.test(status) ? status : 'unknown';
  return h('span', { class: `status status-${known}` }, status);
}

/** How long something took, in words a person reads at a glance: `850 ms`, `42 s`, `3 min 5 s`, `2 h 10 min`. */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** The time from `start` to `end`, or `running` while there is no end. */
export function elapsed(start: string | null, end: string | null): string {
  if (!start) return '—';
  if (!end) return 'running';
  return durationText(Date.parse(end) - Date.parse(start));
}

/** A size in bytes: `96 B`, `4.2 KB`, `1.3 MB`. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Where a run comes from, as rows of a fact table: its definition (with the revision) and its event. */
export function runOrigin(run: {
  readonly definition: string | null;
  readonly revision: number | null;
  readonly eventId: string | null;
}): Fact[] {
  return [
    [
      'Definition',
      run.definition
        ? [
            h('a', { href: definitionHref(run.definition) }, run.definition),
            run.revision === null ? '' : `, revision ${run.revision}`,
          ]
        : 'not recorded',
    ],
    ['Event', run.eventId ? code(run.eventId) : 'not recorded'],
  ];
}
