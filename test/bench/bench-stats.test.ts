import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parseBenchArgs } from '../../bench/bench-options';
import { factsOf, lookupMs, timestampMs } from '../../bench/histories';
import { renderMarkdown, type BenchReport } from '../../bench/report';
import { compared, goal } from '../../bench/scenario';
import { median, percentile, summarize } from '../../bench/stats';

describe('bench: statistics, goals and options', () => {
  it('takes percentiles by nearest rank, so p99 of 50 samples is the largest', () => {
    const samples = Array.from({ length: 50 }, (_, index) => 50 - index);
    assert.equal(percentile(samples, 99), 50);
    assert.equal(percentile(samples, 50), 25);
    assert.equal(percentile([7], 99), 7);
    assert.equal(median([3, 1, 2, 10]), 2.5);
    assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, max: 3, values: [3, 1, 2] });
  });

  it('takes ratios within each repetition and checks goals against their median', () => {
    const metric = compared('c1.throughput', 'Throughput', 'events/s', [90, 200, 50], [100, 100, 100]);
    assert.deepEqual(metric.ratio?.values, [0.9, 2, 0.5]);
    assert.equal(metric.ratio?.median, 0.9);
    assert.equal(goal(metric, 'at least 0.9x', { atLeast: 0.9 }).met, true);
    assert.equal(goal(metric, 'at most 0.8x', { atMost: 0.8 }).met, false);
    const events = compared('perStep', 'Events per step', 'events', [6, 6], [6, 6]);
    assert.equal(goal(events, 'equal', { equals: 1 }).met, true);
  });

  it('reads the command line and refuses unknown scenarios', () => {
    const names = ['intake', 'memory'];
    assert.deepEqual(
      { ...parseBenchArgs(['--quick', '--only', 'memory'], names), outDir: '' },
      { quick: true, reps: 1, only: ['memory'], outDir: '', profile: false, help: false },
    );
    assert.equal(parseBenchArgs([], names).reps, 5);
    assert.equal(parseBenchArgs(['--reps', '7'], names).reps, 7);
    assert.throws(() => parseBenchArgs(['--only', 'nope'], names), /unknown scenario nope; choose from intake, memory/);
    assert.throws(() => parseBenchArgs(['--reps', '0'], names), /--reps must be a whole number/);
  });

  it('renders goals and each scenario as markdown tables', () => {
    const metric = compared('wall', 'Wall time', 'ms', [105, 110], [100, 100]);
    const report: BenchReport = {
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:01:00.000Z',
      durationSeconds: 60,
      options: { quick: false, reps: 2, only: ['interpreter'] },
      machine: {
        cpus: 2,
        cpuModel: 'cpu',
        memoryGB: 4,
        node: 'v20.0.0',
        platform: 'linux x64',
        loadAverageAtStart: [1, 1, 1],
        temporal: { address: 'localhost:7233', namespace: 'default', origin: 'TEMPORAL_ADDRESS' },
        mongodb: { origin: 'MONGODB_URI' },
      },
      goals: { met: 0, missed: 1 },
      scenarios: [
        {
          name: 'interpreter',
          title: 'Interpreter overhead',
          measures: 'What it measures.',
          metrics: [metric],
          goals: [goal(metric, 'Wall time at most 1.05x', { atMost: 1.05 })],
          breakdowns: [
            { title: 'One run', phases: [{ name: 'interpreter', description: 'tasks', ms: summarize([3, 5]) }] },
          ],
          notes: ['A note.'],
        },
      ],
    };
    const markdown = renderMarkdown(report);
    assert.match(markdown, /## Goals: 0 met, 1 missed/);
    assert.match(markdown, /\| \*\*missed\*\* \| Wall time at most 1\.05x \| 1\.08x \| ≤ 1\.05x \|/);
    assert.match(markdown, /\| Wall time \(ms\) \| 108 \(105–110\) \| 100 \(100–100\) \| 1\.08x \(1\.05x–1\.10x\) \|/);
    assert.match(markdown, /\| interpreter \| 4\.00 \(3\.00–5\.00\) \| 100% \| tasks \|/);
  });

  it('times the registry lookup of a dispatcher whether it ran as a local or a durable activity', () => {
    const events = (file: string) =>
      historyFromJSON(JSON.parse(fs.readFileSync(path.join(__dirname, '../workflows/histories', file), 'utf8')))
        .events ?? [];
    // dispatchEvent: the lookup is a local activity, timed by the workflow task that ran it (events 3 → 4).
    const local = events('dispatch-event.dispatchEvent.0.json');
    const localFacts = factsOf('local', local);
    assert.deepEqual(Object.keys(localFacts.localActivityMsByType), ['findDefinitionsForEvent']);
    assert.equal(localFacts.activityMsByType['findDefinitionsForEvent'], undefined);
    assert.equal(lookupMs(localFacts), timestampMs(local[3]!.eventTime) - timestampMs(local[2]!.eventTime));
    assert.ok(lookupMs(localFacts) > 0);
    // The legacy dispatch: the lookup is an activity, scheduled → completed.
    const durable = events('fan-out-activity.dispatch.0.json');
    const durableFacts = factsOf('durable', durable);
    assert.deepEqual(durableFacts.localActivityMsByType, {});
    const scheduled = durable.find(
      (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'findDefinitionsForEvent',
    )!;
    const completed = durable.find(
      (event) => String(event.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
    )!;
    assert.equal(lookupMs(durableFacts), timestampMs(completed.eventTime) - timestampMs(scheduled.eventTime));
  });
});
