import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { actions, META_ACTION_INPUTS_FILE, metaActionInputs, renderActionDocs, type AnyAction } from '../activities';
import { projectRoot } from '../config';
import { loadActionPacks, type LoadedActionPack } from '../workers/action-packs';

/**
 * `npm run docs`: regenerates docs/actions.md from the action declarations, and the meta-actions' input schemas that
 * the interpreter checks steps against.
 *
 * `npm run docs -- --pack <entry> [--out <file>]`: writes one action pack's reference instead, in the same format,
 * from its declarations: the entry is loaded and checked as a worker loads a `FLOW_ACTION_PACKS` entry, resolved from
 * the directory the command was run in; the file defaults to `<pack>-actions.md` there.
 */

/** docs/actions.md: the built-in actions' reference, and where the packs' actions are listed. */
export function actionsDoc(list: readonly AnyAction[] = actions): string {
  const rendered = renderActionDocs(list);
  // The pointer goes just before the index of actions, after the page's introduction.
  const index = rendered.indexOf('\n- [`');
  if (index === -1) throw new Error('renderActionDocs no longer starts its index with "- [`"; update actionsDoc');
  const pointer = [
    '',
    'These are the built-in actions. Actions that teams add in action packs are listed by `GET /api/actions` and the',
    "console's actions page; see [Actions in packs](#actions-in-packs).",
    '',
  ].join('\n');
  return `${rendered.slice(0, index)}${pointer}${rendered.slice(index)}\n${PACKS_SECTION}`;
}

const PACKS_SECTION = `## Actions in packs

Teams add actions without changing Flow, in **action packs** of their own ([action-packs.md](action-packs.md)). This
page does not list them: it is generated from the actions that ship with Flow. A worker that loads a pack publishes
its actions to the registry at start, and the gateway lists them from there, with the built-in ones:

- \`GET /api/actions\` gives each pack action's description, input and output JSON Schema, examples and defaults, with
  its \`pack\`, \`packVersion\` and \`taskQueue\`, and, for every action that runs on a worker, whether one polls its
  queue now (\`worker\`);
- the console's actions page (\`/ui/actions\`) shows the same, with whether a worker polls each action's queue.

A pack's own reference, in the format of this page, is generated from its declarations:

\`\`\`sh
npm run docs -- --pack ./examples/action-pack          # writes webhooks-actions.md
npm run docs -- --pack @acme/flow-payments --out docs/payments-actions.md
\`\`\`

\`--pack\` takes what \`FLOW_ACTION_PACKS\` takes (a package name, or a path starting with \`./\`, \`../\` or \`/\`),
resolved from the directory the command runs in and checked as a worker checks it at start.
`;

/** A pack's action reference: the format of docs/actions.md, for the pack's actions only. */
export function packActionsDoc({ pack, source }: LoadedActionPack): string {
  const lines = renderActionDocs(pack.actions).split('\n');
  // renderActionDocs's own title and generated-by comment (its first three lines) give way to the pack's.
  if (lines[0] !== '# Actions' || !lines[2]?.startsWith('<!--')) {
    throw new Error('renderActionDocs no longer starts with its title and a comment; update packActionsDoc');
  }
  const queue = pack.taskQueue
    ? `Its actions run on task queue \`${pack.taskQueue}\`.`
    : "Its actions run on the task queue Flow's workflows run on (`FLOW_TASK_QUEUE`).";
  return [
    `# Actions of pack \`${pack.name}\` ${pack.version}`,
    '',
    `<!-- Generated from the pack's action declarations by \`npm run docs -- --pack ${source}\`. -->`,
    '',
    `A worker loads the pack with \`FLOW_ACTION_PACKS=${source}\`. ${queue}`,
    ...lines.slice(3),
  ].join('\n');
}

/** What `npm run docs` was asked for. */
export interface DocsArguments {
  /** The pack entry to document; the built-in docs when absent. */
  readonly pack?: string;
  readonly out?: string;
}

/** Reads `--pack <entry>` and `--out <file>`; anything else is refused with the usage. */
export function docsArguments(argv: readonly string[]): DocsArguments {
  const usage = 'usage: npm run docs [-- --pack <FLOW_ACTION_PACKS entry> [--out <file>]]';
  let values: { pack?: string | undefined; out?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { pack: { type: 'string' }, out: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; ${usage}`, { cause: error });
  }
  if (values.out !== undefined && values.pack === undefined) throw new Error(`--out goes with --pack; ${usage}`);
  return {
    ...(values.pack === undefined ? {} : { pack: values.pack }),
    ...(values.out === undefined ? {} : { out: values.out }),
  };
}

/** Writes the docs `argv` asks for, resolving a pack and its file from `cwd`; returns what it wrote, for the log. */
export function writeActionDocs(argv: readonly string[], cwd: string): string[] {
  const { pack: entry, out } = docsArguments(argv);
  if (entry !== undefined) {
    const [loaded] = loadActionPacks([entry], { cwd });
    const target = path.resolve(cwd, out ?? `${loaded!.pack.name}-actions.md`);
    fs.writeFileSync(target, packActionsDoc(loaded!));
    return [
      `wrote ${target} (pack "${loaded!.pack.name}" ${loaded!.pack.version}, ${loaded!.pack.actions.length} action${loaded!.pack.actions.length === 1 ? '' : 's'})`,
    ];
  }
  const target = path.join(projectRoot, 'docs', 'actions.md');
  fs.writeFileSync(target, actionsDoc());
  const inputs = metaActionInputs(actions);
  fs.writeFileSync(path.join(projectRoot, META_ACTION_INPUTS_FILE), `${JSON.stringify(inputs, null, 2)}\n`);
  return [
    `wrote ${path.relative(projectRoot, target)} (${actions.length} actions)`,
    `wrote ${META_ACTION_INPUTS_FILE} (${Object.keys(inputs).length} meta-actions)`,
  ];
}

if (require.main === module) {
  try {
    // npm runs scripts at the repository root; INIT_CWD is where the command was typed.
    for (const line of writeActionDocs(process.argv.slice(2), process.env['INIT_CWD'] ?? process.cwd())) {
      console.log(line);
    }
  } catch (error) {
    console.error(`npm run docs: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
