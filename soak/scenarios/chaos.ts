import { hitsByEvent, lostExamples } from '../ledger';
import { effectFigures, ReleaseBatch } from '../releases';
import { count, seconds, sleep, type SoakScenario } from '../scenario';
import { progress, type FlowProcess } from '../stack';

/**
 * Chaos: releases run on two workers while one of them, picked at random, is killed with SIGKILL every few seconds
 * and replaced at once by a new one. No release may be lost; the side effects a killed attempt had already made
 * are counted at the peers, by action.
 */
export const chaos: SoakScenario = {
  name: 'chaos',
  async run(stack, api, { quick, tag }) {
    const size = quick ? 20 : 200;
    const [minGapMs, maxGapMs] = [3_000, 6_000];
    // Kills go on while the releases run, for at most this long; then the survivors finish what is left.
    const windowMs = quick ? 40_000 : 180_000;
    const batch = new ReleaseBatch(stack, 'SOAKC', size, tag);
    while (stack.workers.length < 2) await stack.startWorker();
    progress(`chaos: ${size} releases, two workers, one killed every ${minGapMs / 1000}–${maxGapMs / 1000} s`);
    const started = Date.now();
    let kills = 0;
    let unfinishedAtLastKill = 0;
    // Releases whose webhook step (the fifth of six) has reached the receiver: a cheap look at how many are done.
    const completedSoFar = (): number => {
      const hits = hitsByEvent(stack.receiver.requests, '/release');
      return [...batch.ledger.accepted.keys()].filter((id) => hits.has(id)).length;
    };
    let stop = false;
    const replacements: Promise<FlowProcess>[] = [];
    const killer = (async () => {
      // The first kill comes as soon as a release has made its first side effect, so that even a quick run (which a
      // quiet machine finishes within seconds) loses a worker while releases are in flight; then every few seconds.
      const commented = (): boolean => batch.tickets.some((t) => stack.world.jira.issue(t).comments.length > 0);
      while (!stop && !commented()) await sleep(50);
      for (let first = true; !stop && Date.now() - started < windowMs; first = false) {
        if (!first) await sleep(minGapMs + Math.random() * (maxGapMs - minGapMs));
        if (stop) break;
        // Keep two workers: a replacement that is still starting counts, and only a polling worker is killed.
        const polling = stack.workers.filter((worker) => worker.ready);
        if (stack.workers.length < 2 || polling.length === 0) continue;
        const victim = polling[Math.floor(Math.random() * polling.length)]!;
        await victim.kill();
        unfinishedAtLastKill = size - completedSoFar();
        kills++;
        // Not awaited here, so the next kill may come while it starts; a start that fails is reported at the end.
        const replacement = stack.startWorker();
        replacement.catch(() => undefined);
        replacements.push(replacement);
      }
    })();
    let settled;
    try {
      await batch.post(api, 32);
      settled = await batch.settle(Date.now() + (quick ? 5 : 30) * 60_000);
    } finally {
      stop = true;
      await killer;
    }
    const failed = (await Promise.allSettled(replacements)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const effects = await batch.effects();
    const ranMs = Date.now() - started;
    progress(`chaos: ${settled.completed}/${size} completed after ${kills} kills`);
    return [
      {
        name: 'chaos',
        title: 'Chaos: workers killed',
        what:
          `${size} releases (a Jira comment, a Slack message, a 2 s sleep, a Jenkins build, a webhook call and an email ` +
          `each) posted by 32 senders to two workers; every ${minGapMs / 1000}–${maxGapMs / 1000} s one worker, picked ` +
          `at random, is killed with SIGKILL and a new one started, until every release has completed or for at most ` +
          `${seconds(windowMs)}.`,
        figures: [
          ['releases accepted', count(batch.ledger.accepted.size)],
          ['workers killed', count(kills)],
          ['releases not yet at their last steps at the last kill', count(unfinishedAtLastKill)],
          ['releases completed', count(settled.completed)],
          ['lost', count(settled.lost.length)],
          ['run twice', count(settled.runTwice.length)],
          ...effectFigures(effects),
          ['until every release had completed', seconds(ranMs)],
        ],
        lost: settled.lost.length,
        twice: settled.runTwice.length,
        problems: [
          ...batch.ledger.unexpected.map((text) => `unexpected answer ${text}`),
          ...lostExamples(settled),
          ...(kills === 0 ? ['no worker was killed: the releases finished before the first kill'] : []),
        ],
        notes: [],
      },
    ];
  },
};
