/**
 * Webhook source adapters: one file per product, each a pure mapping from that product's native webhook request to
 * a Flow event, plus the authentication scheme the router must check first. The router serves
 * `POST /webhooks/<source>` for exactly the adapters listed in `webhookAdapters`, so adding a source means one file
 * here and one entry in that list.
 */
import type { WebhookAdapter } from '../adapter';
import { github } from './github';
import { gitlab } from './gitlab';
import { jenkins } from './jenkins';
import { jira } from './jira';

export { github } from './github';
export { gitlab } from './gitlab';
export { jenkins } from './jenkins';
export { jira } from './jira';

/** Every webhook source Flow accepts, in the order the router registers them. */
export const webhookAdapters: readonly WebhookAdapter[] = [jira, jenkins, github, gitlab];
