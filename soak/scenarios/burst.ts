import { mapLimit } from '../../common/map-limit';
import { PING, REDELIVER } from '../definitions';
import { dispatcherCount, hitsByEvent, settle, Ledger, lostExamples } from '../ledger';
import { count, postAll, seconds, type Send, type SoakScenario } from '../scenario';
import { progress } from '../stack';

/**
 * Burst: as many events as the machine takes, half with idempotency keys and a quarter of those posted twice, while
 * (redeliveries) a hundred keys are each posted ten times at once. Every accepted event must have one dispatcher and
 * one completed run, and its step must reach the receiver once.
 */
export const burst: SoakScenario = {
  name: 'burst',
  async run(stack, api, { quick, tag }) {
    const total = quick ? 300 : 10_000;
    const keys = quick ? 10 : 100;
    const copies = 10;
    const sends: Send[] = [];
    for (let i = 0; i < total; i++) {
      const keyed = i % 2 === 0;
      sends.push({ event: PING, body: { n: i }, ...(keyed ? { key: `${tag}-burst-${i}` } : {}) });
    }
    // A quarter of the keyed events go again, later in the burst (some while their first post is still in flight).
    const again = sends.filter((_, i) => i % 8 === 0);
    again.forEach((send, j) => sends.splice(Math.min(sends.length, 8 * j + 8 + 37), 0, send));

    const ledger = new Ledger();
    const redeliveries = new Ledger();
    progress(`burst: ${count(sends.length)} posts (${count(total)} events), ${keys} keys × ${copies} concurrent posts`);
    const started = Date.now();
    let lastReport = started;
    const ticker = setInterval(() => {
      const now = Date.now();
      if (now - lastReport < 10_000) return;
      lastReport = now;
      progress(
        `  burst: ${count(ledger.posts)}/${count(sends.length)} posted, ${count(ledger.accepted.size)} accepted`,
      );
    }, 1_000);
    const redelivering = (async () => {
      // The redeliveries start once the burst is under way.
      while (ledger.posts < sends.length / 4) await new Promise((resolve) => setTimeout(resolve, 100));
      // Four keys at a time, each posted `copies` times at once.
      await mapLimit(
        Array.from({ length: keys }, (_, k) => k),
        4,
        async (k) => {
          const send: Send = { event: REDELIVER, body: { k }, key: `${tag}-redeliver-${k}` };
          await postAll(stack, api, redeliveries, Array<Send>(copies).fill(send), copies);
        },
      );
    })();
    try {
      await postAll(stack, api, ledger, sends, 64);
      await redelivering;
    } finally {
      clearInterval(ticker);
    }
    const postedMs = Date.now() - started;
    progress(`burst: posted in ${seconds(postedMs)}; waiting for every run`);
    const deadline = Date.now() + (quick ? 5 : 45) * 60_000;
    const hits = () => hitsByEvent(stack.receiver.requests, '/hit');
    const [settled, redelivered] = [
      await settle(stack.client, ledger, 'soak-ping', hits, deadline),
      await settle(stack.client, redeliveries, 'soak-ping', hits, deadline),
    ];
    const ranMs = Date.now() - started;
    // Steps that ran for an event no 202 named: the redeliveries share the receiver's path, so they are not these.
    const ranUnanswered = [...hits().keys()].filter(
      (id) => !ledger.accepted.has(id) && !redeliveries.accepted.has(id),
    ).length;
    const dispatchers = await dispatcherCount(stack.client, PING.type, ledger.accepted.size);
    const redeliveryDispatchers = await dispatcherCount(stack.client, REDELIVER.type, redeliveries.accepted.size);

    const keyedTwice = [...ledger.accepted.values()].filter((event) => event.answers > 1);
    const problems = [
      ...ledger.unexpected.map((text) => `unexpected answer ${text}`),
      ...redeliveries.unexpected.map((text) => `unexpected answer ${text}`),
      // Every accepted event has its dispatcher; beyond them, only events whose 503 or lost answer hid a start that
      // went through (see `ranUnanswered`) may have one.
      ...(dispatchers >= ledger.accepted.size && dispatchers <= ledger.accepted.size + ledger.refused
        ? []
        : [`${count(dispatchers)} dispatchers for ${count(ledger.accepted.size)} accepted events`]),
      ...(redeliveries.accepted.size === keys && redeliveryDispatchers === keys
        ? []
        : [
            `${redeliveries.accepted.size} events and ${redeliveryDispatchers} dispatchers for ${keys} redelivered keys`,
          ]),
      ...keyedTwice
        // One answer may say `duplicate: false`, the first start; a 503 whose start went through makes it none.
        .filter((event) => event.answers - event.duplicates > 1)
        .slice(0, 5)
        .map((event) => `${event.eventId}: ${event.answers} answers, ${event.duplicates} said duplicate`),
      ...lostExamples(settled),
      ...lostExamples(redelivered),
    ];
    const keyed = sends.filter((send, i) => send.key !== undefined && sends.indexOf(send) === i).length;
    const keyedAccepted = [...ledger.accepted.keys()].filter((id) => id.includes(`-${tag}-burst-`)).length;
    const duplicatesAnswered = [...ledger.accepted.values()].reduce((n, event) => n + event.duplicates, 0);
    return [
      {
        name: 'burst',
        title: 'Burst',
        what:
          `${count(total)} events posted by 64 senders as fast as the gateway answers, half with an Idempotency-Key; ` +
          `${count(again.length)} of the keyed ones posted a second time later in the burst. Each event runs one ` +
          'definition of one `http.request` step to a local receiver, which counts the requests per event.',
        figures: [
          ['POSTs', count(ledger.posts)],
          ['accepted (202), distinct events', count(ledger.accepted.size)],
          ['keyed events accepted (a refused one is sent again)', `${count(keyedAccepted)} of ${count(keyed)}`],
          ['second posts answered `duplicate: true`', `${count(duplicatesAnswered)} of ${count(keyedTwice.length)}`],
          ['refused (503) or unanswered', count(ledger.refused)],
          ['of them without a key, yet run (the start went through; see below)', count(ranUnanswered)],
          ['accepted per second', (ledger.accepted.size / (postedMs / 1000)).toFixed(1)],
          ['dispatchers in Temporal', count(dispatchers)],
          ['runs completed', count(settled.completed)],
          ['lost', count(settled.lost.length)],
          ['run twice', count(settled.runTwice.length)],
          ['step repeated at the receiver (at least once)', count(settled.repeated.length)],
          ['until every run had completed', seconds(ranMs)],
        ],
        lost: settled.lost.length,
        twice: settled.runTwice.length,
        problems,
        notes: [
          'A 503 (the gateway gave up waiting for Temporal after its 10 s deadline) or a lost answer does not prove ' +
            'that the event was not started: the start may have gone through just after. A sender that sends it ' +
            'again with the same Idempotency-Key gets `duplicate: true` and one run; one without a key makes a ' +
            'second event. Send a key.',
        ],
      },
      {
        name: 'redeliveries',
        title: 'Redeliveries under load',
        what: `While the burst runs, ${keys} keys are each posted ${copies} times at once, four keys at a time.`,
        figures: [
          ['POSTs', count(redeliveries.posts)],
          ['distinct events accepted', count(redeliveries.accepted.size)],
          ['refused (503) or unanswered, then sent again', count(redeliveries.refused)],
          ['dispatchers in Temporal', count(redeliveryDispatchers)],
          ['runs completed', count(redelivered.completed)],
          ['lost', count(redelivered.lost.length)],
          ['run twice', count(redelivered.runTwice.length)],
          ['step repeated at the receiver (at least once)', count(redelivered.repeated.length)],
        ],
        lost: redelivered.lost.length,
        twice: redelivered.runTwice.length + Math.max(0, redeliveries.accepted.size - keys),
        problems: [],
        notes: [],
      },
    ];
  },
};
