import { OUTAGE } from '../definitions';
import { hitsByEvent, settle, Ledger, lostExamples } from '../ledger';
import { count, postAll, seconds, sleep, type Send, type SoakScenario } from '../scenario';
import { progress } from '../stack';

/**
 * MongoDB outage under load: FerretDB is killed (SIGKILL) while events stream in, and started again after the outage.
 * During it one worker is killed and a new one started, so a worker that first meets the registry while it is down
 * must recover by itself too. Every event accepted, during the outage too, must run once the registry is back.
 */
export const mongoOutage: SoakScenario = {
  name: 'mongo-outage',
  async run(stack, api, { quick, tag }) {
    const total = quick ? 150 : 2_000;
    const outageMs = quick ? 5_000 : 30_000;
    const ledger = new Ledger();
    const sends: Send[] = Array.from({ length: total }, (_, i) => ({
      event: OUTAGE,
      body: { n: i },
      key: `${tag}-outage-${i}`,
    }));
    progress(`mongo-outage: ${total} events; FerretDB down for ${seconds(outageMs)} a fifth of the way in`);
    const started = Date.now();
    const posting = postAll(stack, api, ledger, sends, 8);
    while (ledger.posts < total / 5) await sleep(50);
    await stack.mongo.kill();
    const downAt = Date.now();
    const acceptedBefore = ledger.accepted.size;
    const refusedBefore = ledger.refused;
    // A worker dies during the outage and its replacement starts while the registry is down.
    const victim = stack.workers[0];
    await victim?.kill();
    const replacement = stack.startWorker();
    replacement.catch(() => undefined); // awaited (and its failure thrown) once the outage is over
    await sleep(outageMs);
    const acceptedDuring = ledger.accepted.size - acceptedBefore;
    const refusedDuring = ledger.refused - refusedBefore;
    const duringIds = new Set(
      [...ledger.accepted.values()].filter((e) => e.acceptedAt >= downAt).map((e) => e.eventId),
    );
    await stack.mongo.start();
    progress(
      `mongo-outage: FerretDB back; ${acceptedDuring} events accepted and ${refusedDuring} refused while it was down`,
    );
    await posting;
    await replacement;
    const settled = await settle(
      stack.client,
      ledger,
      'soak-ping',
      () => hitsByEvent(stack.receiver.requests, '/hit'),
      Date.now() + (quick ? 5 : 30) * 60_000,
    );
    const lostDuring = settled.lost.filter(({ eventId }) => duringIds.has(eventId)).length;
    return [
      {
        name: 'mongo-outage',
        title: 'MongoDB outage under load',
        what:
          `${count(total)} keyed events posted by 8 senders (a 503 is sent again a second later, as the docs advise); a ` +
          `fifth of the way in, FerretDB is killed with SIGKILL for ${seconds(outageMs)}, and one of the two workers is ` +
          'killed and replaced by one that starts while the registry is down.',
        figures: [
          ['POSTs', count(ledger.posts)],
          ['events accepted', count(ledger.accepted.size)],
          ['accepted while MongoDB was down', count(acceptedDuring)],
          ['refused while MongoDB was down (503, sent again later)', count(refusedDuring)],
          ['runs completed', count(settled.completed)],
          ['lost', count(settled.lost.length)],
          ['of them accepted during the outage', count(lostDuring)],
          ['run twice', count(settled.runTwice.length)],
          ['step repeated at the receiver (at least once)', count(settled.repeated.length)],
          ['until every run had completed', seconds(Date.now() - started)],
        ],
        lost: settled.lost.length,
        twice: settled.runTwice.length,
        problems: [...ledger.unexpected.map((text) => `unexpected answer ${text}`), ...lostExamples(settled)],
        notes: [],
      },
    ];
  },
};
