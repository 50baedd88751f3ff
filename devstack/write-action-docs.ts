import fs from 'node:fs';
import path from 'node:path';
import { actions, renderActionDocs } from '../activities';
import { META_ACTION_INPUTS_FILE, metaActionInputs } from '../activities';
import { projectRoot } from '../config';

/**
 * `npm run docs`: regenerates docs/actions.md from the action declarations, and the meta-actions' input schemas that
 * the interpreter checks steps against.
 */
const target = path.join(projectRoot, 'docs', 'actions.md');
fs.writeFileSync(target, renderActionDocs(actions));
console.log(`wrote ${path.relative(projectRoot, target)} (${actions.length} actions)`);
const inputs = metaActionInputs(actions);
fs.writeFileSync(path.join(projectRoot, META_ACTION_INPUTS_FILE), `${JSON.stringify(inputs, null, 2)}\n`);
console.log(`wrote ${META_ACTION_INPUTS_FILE} (${Object.keys(inputs).length} meta-actions)`);
