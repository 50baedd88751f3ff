import fs from 'node:fs';
import os from 'node:os';
import type { ScenarioReport } from './scenario';

/** A whole soak's outcome. */
export interface SoakReport {
  readonly date: string;
  readonly quick: boolean;
  readonly minutes: number;
  readonly machine: string;
  readonly scenarios: readonly ScenarioReport[];
}

/** The markers around the soak's section of docs/reliability.md; everything between them is replaced. */
export const BEGIN = '<!-- soak:begin (written by npm run soak; edit soak/report.ts instead) -->';
export const END = '<!-- soak:end -->';

export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`;
}

/** Whether a scenario kept every promise. */
export function kept(scenario: ScenarioReport): boolean {
  return scenario.lost === 0 && scenario.twice === 0 && scenario.problems.length === 0;
}

/** The report as the Markdown that goes between the markers. */
export function toMarkdown(report: SoakReport): string {
  const lines = [
    `Last ${report.quick ? 'quick' : 'full'} run: ${report.date}, \`npm run soak${report.quick ? ' -- --quick' : ''}\`, ` +
      `${report.minutes.toFixed(0)} minutes on ${report.machine}. Everything on that one machine: the Temporal dev server ` +
      'with its database file, FerretDB, two gateways and two workers (`gateway/main.ts` and `workers/main.ts` as ' +
      '`npm start` runs them), and the local peers.',
    '',
    `| Scenario | Lost | Run twice | Promises broken |`,
    '|---|---:|---:|---|',
    ...report.scenarios.map(
      (s) => `| ${s.title} | ${s.lost} | ${s.twice} | ${s.problems.length === 0 ? 'none' : s.problems.join('; ')} |`,
    ),
  ];
  for (const scenario of report.scenarios) {
    lines.push('', `### ${scenario.title}`, '', scenario.what, '', '| | |', '|---|---:|');
    for (const [label, value] of scenario.figures) lines.push(`| ${label} | ${value} |`);
    for (const note of scenario.notes) lines.push('', note);
  }
  return lines.join('\n');
}

/** Replaces the soak section of a Markdown file (between {@link BEGIN} and {@link END}) with `markdown`. */
export function writeSection(file: string, markdown: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${file} has no soak section (${BEGIN} … ${END})`);
  fs.writeFileSync(file, `${text.slice(0, begin + BEGIN.length)}\n${markdown}\n${text.slice(end)}`);
}
