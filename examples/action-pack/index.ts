/**
 * The `webhooks` action pack: an example of a pack a team keeps in its own package. A Flow worker loads it when its
 * `FLOW_ACTION_PACKS` names this module (`./examples/action-pack` from the repository root); see README.md here and
 * docs/action-packs.md.
 */
import { defineActionPack } from 'flow/sdk';
import { postSigned } from './post-signed';

/** The pack: its name is the namespace of its action ids (`webhooks.*`). */
export default defineActionPack({
  name: 'webhooks',
  version: '1.0.0',
  actions: [postSigned],
});
