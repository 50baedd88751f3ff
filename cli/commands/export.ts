import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { segment, type CliContext } from '../context';
import { DEFINITION_ID } from '../../common/definition';
import { CliError, EXIT } from '../errors';
import { listAllDefinitions } from './definitions';

/** `flowctl export [ids…] -o <dir>`: the YAML of definitions, as `apply` reads it back unchanged. */
export function registerExport(program: Command, context: CliContext): void {
  program
    .command('export')
    .description('Write definitions as YAML files (<dir>/<id>.yaml) that apply reads back unchanged')
    .argument('[ids...]', 'definition ids (default: every definition)')
    .requiredOption('-o, --output <dir>', 'the folder to write to (created if missing)')
    .option('--json', 'print {items: [{id, revision, file}]}')
    .addHelpText(
      'after',
      `
A definition saved as YAML is written exactly as it was saved, comments included, so applying the folder again
changes nothing; one saved as JSON is written as YAML generated from it.

Examples:
  flowctl export -o definitions/
  flowctl --url https://flow.staging.example export release hotfix -o promote/`,
    )
    .action(async (ids: string[], options: { output: string; json?: boolean }) => {
      const client = context.client();
      for (const id of ids)
        if (!DEFINITION_ID.test(id))
          throw new CliError(
            `${JSON.stringify(id)} is not a definition id.`,
            EXIT.usage,
            'Ids are lowercase letters, digits and dashes.',
          );
      const wanted = ids.length > 0 ? ids : (await listAllDefinitions(client)).map(({ id }) => id);
      fs.mkdirSync(options.output, { recursive: true });
      const items: { id: string; revision: number; file: string }[] = [];
      for (const [index, id] of wanted.entries()) {
        if (wanted.length >= 10) context.output.progress(index, wanted.length, `exporting ${id}`);
        const answer = await client.request('GET', `/api/definitions/${segment(id)}`, { accept: 'application/yaml' });
        const file = path.join(options.output, `${id}.yaml`);
        fs.writeFileSync(file, answer.text);
        items.push({ id, revision: Number(answer.headers.get('flow-revision')), file });
      }
      context.output.clearProgress();
      if (options.json) return context.output.json({ items });
      for (const item of items) context.output.line(`${item.file}  ${item.id} r${item.revision}`);
      context.output.note(`Exported ${items.length} definition${items.length === 1 ? '' : 's'} to ${options.output}.`);
    });
}
