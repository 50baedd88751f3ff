import { Client, Connection } from '@temporalio/client';
import { dispatchStartOptions, startFlowWorkflow } from '../../intake';
import { flowEvent } from '../../bench/definitions';
import { PROBE } from '../definitions';
import type { GatewayClient } from '../gateway-client';
import { hitsByEvent, settle, Ledger } from '../ledger';
import { effectFigures, ReleaseBatch } from '../releases';
import { count, seconds, sleep, type SoakScenario } from '../scenario';
import { progress, type SoakStack } from '../stack';

/**
 * Temporal restart: the dev server is killed (SIGKILL) while releases run and started again on the same database
 * file. Every release must complete; what repeated is counted at the peers. Then: how long after the server answers
 * again does the gateway accept an event, and how long does a worker take to run one started straight on Temporal?
 */
export const temporalRestart: SoakScenario = {
  name: 'temporal-restart',
  async run(stack, api, { quick, tag }) {
    const size = quick ? 10 : 200;
    const downMs = quick ? 3_000 : 15_000;
    const batch = new ReleaseBatch(stack, 'SOAKT', size, tag);
    progress(`temporal-restart: ${size} releases`);
    await batch.post(api, 16);
    // Kill it while the releases are under way: once half of them have commented on their ticket.
    const commented = (): number =>
      batch.tickets.filter((ticket) => stack.world.jira.issue(ticket).comments.length > 0).length;
    const until = Date.now() + 120_000;
    while (commented() < size / 2 && Date.now() < until) await sleep(100);
    const inFlight = size - commented();
    progress(`temporal-restart: killing Temporal (${commented()} of ${size} releases have commented)`);
    await stack.temporal.kill();
    await sleep(downMs);
    await stack.temporal.start();
    const answeredAt = Date.now();
    progress('temporal-restart: Temporal answers again; probing the gateway and a worker');
    const [gateway, worker] = await Promise.all([gatewayLag(stack, api, tag), workerLag(stack, tag)]);
    progress(`temporal-restart: gateway accepted after ${seconds(gateway.ms)}, a worker ran after ${seconds(worker)}`);

    const deadline = Date.now() + (quick ? 5 : 30) * 60_000;
    const settled = await batch.settle(deadline);
    const probes = await settle(
      stack.client,
      gateway.ledger,
      'soak-ping',
      () => hitsByEvent(stack.receiver.requests, '/hit'),
      deadline,
    );
    const effects = await batch.effects();
    const sinceAnswer = Date.now() - answeredAt;
    return [
      {
        name: 'temporal-restart',
        title: 'Temporal restart',
        what:
          `${size} releases (a Jira comment, a Slack message, a 2 s sleep, a Jenkins build, a webhook call and an ` +
          `email each) are posted; once half of them have commented, the Temporal dev server is killed with SIGKILL, ` +
          `stays down ${seconds(downMs)}, and starts again on the same database file. Then the gateway is sent an ` +
          'event every 100 ms until it accepts one, and a dispatcher is started straight on Temporal to time the worker.',
        figures: [
          ['releases accepted', count(batch.ledger.accepted.size)],
          ['not yet commented when Temporal was killed', count(inFlight)],
          ['releases completed', count(settled.completed)],
          ['lost', count(settled.lost.length)],
          ['run twice', count(settled.runTwice.length)],
          ...effectFigures(effects),
          ['server answering → gateway accepts an event', seconds(gateway.ms)],
          ['events the gateway refused meanwhile (503)', count(gateway.ledger.refused)],
          ['server answering → a worker ran a new event', seconds(worker)],
          ['server answering → every release complete', seconds(sinceAnswer)],
        ],
        lost: settled.lost.length + probes.lost.length,
        twice: settled.runTwice.length + probes.runTwice.length,
        problems: [...batch.ledger.unexpected, ...gateway.ledger.unexpected].map((text) => `unexpected answer ${text}`),
        notes: [],
      },
    ];
  },
};

/** Posts a probe event every 100 ms until the gateway accepts one; the time from now until it did. */
async function gatewayLag(stack: SoakStack, api: GatewayClient, tag: string): Promise<{ ms: number; ledger: Ledger }> {
  const ledger = new Ledger();
  const started = Date.now();
  for (let n = 0; ; n++) {
    const url = stack.gateways[0]!.url!;
    const answer = await api.postEvent(url, PROBE, { n }, `${tag}-probe-${n}`);
    ledger.record(answer);
    if (answer.status === 202) return { ms: Date.now() - started, ledger };
    if (Date.now() - started > 300_000)
      throw new Error(`the gateway still answers ${answer.status} 5 minutes after Temporal came back`);
    await sleep(100);
  }
}

/**
 * Starts a dispatcher straight on Temporal, from a new connection (so the soak's own client's reconnecting does not
 * count), and waits until its step reaches the receiver: how long the workers take to work again.
 */
async function workerLag(stack: SoakStack, tag: string): Promise<number> {
  const started = Date.now();
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const client = new Client({ connection, namespace: stack.client.options.namespace });
    const event = flowEvent(PROBE.source, PROBE.type, { direct: true }, `soak-${tag}-direct-probe`);
    await startFlowWorkflow(client, 'dispatchEvent', dispatchStartOptions(event, stack.taskQueue));
    while (!hitsByEvent(stack.receiver.requests, '/hit').has(event.id)) {
      if (Date.now() - started > 300_000) throw new Error('no worker ran the probe 5 minutes after Temporal came back');
      await sleep(50);
    }
    return Date.now() - started;
  } finally {
    await connection.close();
  }
}
