import fs from 'node:fs';
import path from 'node:path';
import { actions, renderActionDocs } from '../activities';
import { projectRoot } from '../config';

/** `npm run docs`: regenerates docs/actions.md from the action declarations. */
const target = path.join(projectRoot, 'docs', 'actions.md');
fs.writeFileSync(target, renderActionDocs(actions));
console.log(`wrote ${path.relative(projectRoot, target)} (${actions.length} actions)`);
