import type { EventDispatchResult } from '../../common/event-waits';
import { deliveryId } from '../../common/subscriptions';
import { progress, type BenchContext } from '../context';
import { seedWithProgress } from '../definitions';
import { historyFacts, lookupMs } from '../histories';
import { nowMs } from '../load';
import { BreakdownCollector, compared, goal, RepValues, type Metric, type Scenario } from '../scenario';
import { percentile } from '../stats';

/** The measured events' source; each size has an event type of its own, bound to one subscription. */
const SOURCE = 'bench-subs';
/** The sources of the other subscriptions, each bound to an event type of its own that is never sent. */
const FILLER_SOURCES = ['jira', 'jenkins', 'github', 'gitlab'];
/** Owners the other subscriptions are spread over, as a team's would be (about 20 each at 10,000). */
const OWNERS = 500;
/** The one subscription at each size that matches: its `if` holds for every measured event. */
const MATCHING_IF = 'event.project == "SHOP"';
/** Where it posts: a channel of the fake Slack the app is a member of, so no DM is opened. */
const CHANNEL = '#releases';
/** Saves in flight while seeding. */
const SEED_CONCURRENCY = 16;
/** Uncounted events before the first size (cold code paths and connections); 5 with `--quick`. */
const WARM_UP = 20;

/** The event type measured at one size. */
function targetAt(scale: number): { source: string; type: string } {
  return { source: SOURCE, type: `target-${scale}` };
}

/** The id of the one subscription bound to the event measured at one size. */
function targetId(scale: number): string {
  return `bench-subs-target-${scale}`;
}

/** Phases of one event's dispatch, from the POST to the dispatcher's close (server event times after the first). */
const PHASES: Readonly<Record<string, string>> = {
  gateway: 'POST sent → the dispatcher WorkflowExecutionStarted (HTTP, auth, the start call)',
  lookup:
    "the dispatcher's first workflow task, which runs `lookUpEvent` (definitions, waits and subscriptions by `_id`) as a local activity",
  notify: '`notifySubscribers` scheduled → completed (the delivery record, the Slack post, the record settled)',
  dispatcher:
    'the rest of the dispatcher: deciding the subscription, its other workflow tasks, and queueing between them',
};

/**
 * Scenario 14: subscriptions (issue 18). One event bound to exactly one subscription, whose `if` matches and which
 * posts to a Slack channel, is dispatched with 10 and then 10,000 subscriptions stored, the others each bound to an
 * event type of its own. The goal compares the dispatcher's p99 at the large size with the p99 at 10, measured in the
 * same run.
 */
export const subscriptions: Scenario = {
  name: 'subscriptions',
  title: 'Subscriptions: dispatch of one event with 10,000 stored subscriptions of which one matches vs 10',
  async run(ctx, { quick, reps }) {
    const scales = quick ? [10, 200] : [10, 10_000];
    const eventsPerRep = quick ? 5 : 50;
    const warmUp = quick ? 5 : WARM_UP;
    const largest = scales.at(-1)!;
    const base = scales[0]!;
    const values = new RepValues();
    const breakdown = new BreakdownCollector(
      `One event with ${largest.toLocaleString('en')} stored subscriptions (median per repetition)`,
      PHASES,
    );
    const slowest = new Map(
      scales.map((scale) => [
        scale,
        new BreakdownCollector(
          `The slowest dispatcher of each repetition with ${scale.toLocaleString('en')} stored subscriptions`,
          PHASES,
        ),
      ]),
    );
    /** History events per dispatcher, by size: every dispatcher of one size should have as many. */
    const historyEvents = new Map<number, Set<number>>();
    let seedSeconds = 0;
    let sent = 0;
    const postedBefore = postsOf(ctx).length;

    let stored = 0;
    try {
      for (const scale of scales) {
        const started = Date.now();
        const fillers = Array.from({ length: scale - 1 - stored }, (_, index) => filler(stored + index));
        if (fillers.length > 0)
          await seedWithProgress(
            fillers,
            SEED_CONCURRENCY,
            `subscriptions: seeding up to ${scale.toLocaleString('en')} subscriptions`,
            (subscription) => ctx.saveSubscription(subscription),
          );
        // Saved last, so that a store that scanned its collection would show it.
        await ctx.saveSubscription(matching(scale));
        stored = scale;
        if (scale === largest) seedSeconds = (Date.now() - started) / 1000;

        if (scale === base) {
          progress(`subscriptions: warming up with ${warmUp} events`);
          for (let i = 0; i < warmUp; i++) await dispatchOne(ctx, scale, `${ctx.tag}-subs-warm-${i}`);
          sent += warmUp;
        }

        for (let rep = 0; rep < reps; rep++) {
          const samples: Sample[] = [];
          for (let i = 0; i < eventsPerRep; i++)
            samples.push(await dispatchOne(ctx, scale, `${ctx.tag}-subs${scale}-${rep}-${i}`));
          sent += eventsPerRep;
          for (const metric of ['dispatcher', 'lookup', 'notify', 'posted'] as const) {
            const list = samples.map((sample) => sample[metric]);
            values.add(`s${scale}.${metric}.p50`, percentile(list, 50));
            values.add(`s${scale}.${metric}.p99`, percentile(list, 99));
          }
          const events = historyEvents.get(scale) ?? new Set<number>();
          for (const sample of samples) events.add(sample.events);
          historyEvents.set(scale, events);
          values.add(`s${scale}.events`, Math.max(...samples.map((sample) => sample.events)));
          if (scale === largest) {
            for (const sample of samples) breakdown.add(sample.phases);
            breakdown.endRep();
          }
          const tail = slowest.get(scale)!;
          tail.add(samples.reduce((worst, sample) => (sample.dispatcher > worst.dispatcher ? sample : worst)).phases);
          tail.endRep();
          const last = (metric: string): string => values.get(`s${scale}.${metric}`).at(-1)!.toFixed(1);
          progress(
            `subscriptions: ${scale.toLocaleString('en')} stored, rep ${rep + 1}/${reps}: dispatcher p50 ${last('dispatcher.p50')} ms, ` +
              `p99 ${last('dispatcher.p99')} ms; lookup p99 ${last('lookup.p99')} ms; notifySubscribers p99 ${last('notify.p99')} ms`,
          );
        }
      }
      // Each event was checked to have posted once; no other post reached Slack either (no filler was notified).
      const posted = postsOf(ctx).length - postedBefore;
      if (posted !== sent)
        throw new Error(`the fake Slack received ${posted} notifications for ${sent} events; expected one per event`);
    } finally {
      // Later scenarios should not pay for ten thousand subscriptions they do not use.
      progress('subscriptions: emptying the registry');
      await ctx.resetRegistry();
    }

    const at = largest.toLocaleString('en');
    const vs = (metric: string, label: string): Metric =>
      compared(
        `s${largest}.${metric}`,
        `${label}, ${at} vs ${base} subscriptions`,
        'ms',
        values.get(`s${largest}.${metric}`),
        values.get(`s${base}.${metric}`),
      );
    const p99 = vs('dispatcher.p99', 'Dispatcher started → completed, p99');
    const events = compared(
      `s${largest}.events`,
      `History events per dispatcher, ${at} vs ${base} subscriptions`,
      'events',
      values.get(`s${largest}.events`),
      values.get(`s${base}.events`),
    );
    const uneven = [...historyEvents].filter(([, counts]) => counts.size > 1);
    return {
      name: subscriptions.name,
      title: subscriptions.title,
      measures:
        `Subscriptions are saved through \`validateSubscription\` and \`SubscriptionStore.save\` (concurrency ${SEED_CONCURRENCY}), ` +
        `cumulatively ${scales.map((scale) => scale.toLocaleString('en')).join(' → ')}: each bound to an event type of its own ` +
        `under ${FILLER_SOURCES.join(', ')}, with an \`if\`, spread over ${OWNERS} owners, by Slack or email; at each size one more, ` +
        `saved last, is bound to the measured ${SOURCE}/target-<size> with \`if: ${MATCHING_IF}\` and posts to \`${CHANNEL}\`. ` +
        `${eventsPerRep} events a repetition are POSTed one at a time, each with its own idempotency key; no definition or wait ` +
        'is bound to them, so the dispatcher looks up, decides the one subscription and runs `notifySubscribers` once. ' +
        "Times are the dispatcher's WorkflowExecutionStarted → WorkflowExecutionCompleted (server event times). Each " +
        "event's result must say the subscription was sent by Slack, and the fake Slack must hold exactly one message " +
        `carrying its delivery id. ${warmUp} uncounted events warm up first. The registry is emptied afterwards.` +
        (quick ? '' : ` Seeding ${at} subscriptions took ${seedSeconds.toFixed(0)} s.`),
      baseline: `The same measurement with ${base} stored subscriptions, in the same run.`,
      metrics: [
        p99,
        vs('dispatcher.p50', 'Dispatcher started → completed, p50'),
        vs('lookup.p99', "Dispatcher's lookup (`lookUpEvent` workflow task), p99"),
        vs('lookup.p50', "Dispatcher's lookup (`lookUpEvent` workflow task), p50"),
        vs('notify.p99', '`notifySubscribers` scheduled → completed, p99'),
        vs('notify.p50', '`notifySubscribers` scheduled → completed, p50'),
        vs('posted.p99', 'POST sent → dispatcher completed, p99'),
        events,
      ],
      goals: [
        goal(p99, `Dispatch p99 with ${at} stored subscriptions (one matching) at most 1.2x the p99 with ${base}`, {
          atMost: 1.2,
        }),
      ],
      breakdowns: [breakdown.result(), ...[...slowest.values()].map((tail) => tail.result())],
      notes: [
        `The fake Slack received exactly one message per event (${sent} in all, with the warm-up).`,
        uneven.length === 0
          ? 'Every dispatcher of a size had the same number of history events.'
          : `Dispatchers of one size differed in history events: ${uneven
              .map(([scale, counts]) => `${scale}: ${[...counts].join(', ')}`)
              .join('; ')}.`,
        'The sizes are measured one after the other (seeding the large one takes minutes), so drift between them ' +
          'counts against the large size.',
        '`lookUpEvent` is a local activity: history has no scheduled or completed event for it, so its time is the ' +
          'whole workflow task that runs it, an upper bound on its reads by `_id`.',
      ],
    };
  },
};

/** What one event measured, in milliseconds. */
interface Sample {
  /** The dispatcher's WorkflowExecutionStarted → WorkflowExecutionCompleted. */
  readonly dispatcher: number;
  readonly lookup: number;
  /** `notifySubscribers` scheduled → completed. */
  readonly notify: number;
  /** POST sent (runner clock) → the dispatcher completed (server clock). */
  readonly posted: number;
  readonly events: number;
  readonly phases: Record<string, number>;
}

/** Posts one event of the size's type, checks that it notified its one subscription once, and times its dispatcher. */
async function dispatchOne(ctx: BenchContext, scale: number, key: string): Promise<Sample> {
  const target = targetAt(scale);
  const sentAt = nowMs();
  const answer = await ctx.postEvent(target.source, target.type, { key, project: 'SHOP', version: '2.4.0' }, key);
  const { workflowId, eventId } = answer.body;
  if (answer.status !== 202 || !workflowId || !eventId)
    throw new Error(`the gateway answered ${answer.status}: ${answer.body.detail ?? JSON.stringify(answer.body)}`);
  const result = (await ctx.client.workflow.getHandle(workflowId).result()) as EventDispatchResult;
  const notified = result.subscriptions;
  const expected = targetId(scale);
  if (
    result.matched.length > 0 ||
    notified?.sent.length !== 1 ||
    notified.sent[0]?.id !== expected ||
    !notified.sent[0].channels.includes('slack') ||
    notified.skipped.length > 0 ||
    (notified.failed?.length ?? 0) > 0
  )
    throw new Error(
      `event ${key} should notify ${expected} alone, by Slack; its dispatcher says ${JSON.stringify(result)}`,
    );
  const delivery = deliveryId(expected, eventId);
  const messages = postsOf(ctx).filter((message) => message.metadata?.event_payload['delivery'] === delivery);
  if (messages.length !== 1)
    throw new Error(`the fake Slack received ${messages.length} messages for delivery ${delivery}, expected one`);

  const facts = await historyFacts(ctx.client, workflowId);
  if (facts.closedAt === undefined) throw new Error(`the dispatcher ${workflowId} has not closed`);
  const dispatcher = facts.closedAt - facts.startedAt;
  const lookup = lookupMs(facts);
  const notify = facts.activityMsByType['notifySubscribers'];
  if (notify === undefined) throw new Error(`the dispatcher ${workflowId} ran no notifySubscribers activity`);
  return {
    dispatcher,
    lookup,
    notify,
    posted: facts.closedAt - sentAt,
    events: facts.events,
    phases: {
      gateway: facts.startedAt - sentAt,
      lookup,
      notify,
      dispatcher: dispatcher - lookup - notify,
    },
  };
}

/** The notifications the fake Slack holds (the release world's messages have no notification metadata). */
function postsOf(ctx: BenchContext): typeof ctx.slack.messages {
  return ctx.slack.messages.filter((message) => message.metadata?.event_type === 'flow_notification');
}

/** The one subscription bound to the event measured at `scale`. */
function matching(scale: number): { owner: string } & Record<string, unknown> {
  return {
    id: targetId(scale),
    owner: 'release-lead',
    on: { ...targetAt(scale), if: MATCHING_IF },
    deliver: { slack: CHANNEL },
    message: 'Release ${{ event.version }} of ${{ event.project }} started (${{ event.key }})',
    // The most a subscription may have: a rate limit must not hold back measured notifications (50 in a few seconds).
    rate_per_minute: 600,
  };
}

/** Another subscription, bound to an event type of its own that the scenario never sends. */
function filler(index: number): { owner: string } & Record<string, unknown> {
  const n = String(index).padStart(5, '0');
  const owner = `user-${String(index % OWNERS).padStart(3, '0')}`;
  return {
    id: `bench-subs-${n}`,
    owner,
    on: { source: FILLER_SOURCES[index % FILLER_SOURCES.length]!, type: `t${n}`, if: `event.key == "${n}"` },
    deliver: index % 3 === 2 ? { email: `${owner}@example.com` } : { slack: index % 3 === 0 ? `@${owner}` : CHANNEL },
  };
}
