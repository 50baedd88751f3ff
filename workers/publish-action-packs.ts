/**
 * Publishing a worker's packs to the registry at start (issue 17, part 4): each pack's actions as `GET /api/actions`
 * describes them (`describeActions`), with the pack's name, version and task queue, so the gateway validates and lists
 * them without the pack's code, and Flow workers that did not load a pack still route its steps.
 */
import { describeActions } from '../activities';
import { ActionPublicationError, type ActionCatalogStore, type PackPublication } from '../registry';
import type { LoadedActionPack } from './action-packs';
import { waitForService, type WaitOptions } from './wait-for-service';

/** What each pack publishes: its name, version, task queue and every action's description. */
export function packPublication({ pack }: LoadedActionPack): PackPublication {
  return {
    name: pack.name,
    version: pack.version,
    ...(pack.taskQueue === undefined ? {} : { taskQueue: pack.taskQueue }),
    actions: describeActions(pack.actions),
  };
}

/**
 * Publishes every loaded pack, one line each in the log. While MongoDB does not answer it waits and says so, retrying
 * (`wait`: what to name and how often), so a worker started before its database starts once the database is up. A
 * publication the registry refuses ({@link ActionPublicationError}, such as an action id another pack holds) is thrown:
 * the worker must not start with actions the gateway would validate against another pack's schema.
 */
export async function publishActionPacks(
  store: ActionCatalogStore,
  packs: readonly LoadedActionPack[],
  wait: WaitOptions,
): Promise<void> {
  for (const loaded of packs) {
    const publication = packPublication(loaded);
    const outcome = await waitForService(async () => {
      try {
        return await store.publish(publication);
      } catch (error) {
        // Returned, not thrown: waiting would not change the answer.
        if (error instanceof ActionPublicationError) return error;
        throw error;
      }
    }, wait);
    if (outcome instanceof ActionPublicationError) {
      throw new ActionPublicationError(
        `cannot start: ${outcome.message} (FLOW_ACTION_PACKS entry "${loaded.source}")`,
        { cause: outcome },
      );
    }
    const label = `action pack "${publication.name}" ${publication.version}`;
    if (!outcome.changed) wait.log(`${label} is already published in the registry`);
    else {
      const replaced = outcome.replacedVersion === undefined ? '' : `, replacing ${outcome.replacedVersion}`;
      const removed =
        outcome.removed.length === 0 ? '' : `; removed ${outcome.removed.join(', ')}, which it no longer has`;
      wait.log(`published ${label} to the registry${replaced}${removed}`);
    }
  }
}
