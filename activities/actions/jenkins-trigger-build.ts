import { z } from 'zod';
import { stepDelivery } from '../clients/delivery';
import { JENKINS_ENV, jenkinsApi, jenkinsJob } from '../clients/jenkins';
import { defineAction } from '../define-action';

const ID = 'jenkins.trigger_build';

/** The build parameter holding `<workflowId>/<stepId>`, by which a retry finds the build an earlier attempt queued. */
export const DELIVERY_PARAMETER = 'FLOW_DELIVERY';

/** How many of the job's most recent builds an attempt looks through for its own. */
export const LOOK_BACK_BUILDS = 50;

/** Queues a Jenkins build, with parameters when given, and returns its queue item for `jenkins.wait_for_build`. */
export const jenkinsTriggerBuild = defineAction({
  id: ID,
  guarantee: {
    level: 'at-least-once-with-dedupe',
    explanation:
      "With `parameters`, or when the job is parameterised, the build carries `FLOW_DELIVERY=<run>/<step>`, and every attempt first looks for a build carrying it, in the queue and the job's last 50 builds, and returns that one instead of queueing another. Jenkins keeps an undeclared parameter only while the build is queued (SECURITY-170): declare a FLOW_DELIVERY string parameter on the job (or allow it with hudson.model.ParametersAction.safeParameters) for a started build to be found too. A job without parameters is triggered without it: at least once (Jenkins merges a trigger into an identical item still in its queue, nothing more).",
  },
  description:
    'Queues a build of a Jenkins job (folders separated by "/") and returns {job, queue_id}; pass queue_id to ' +
    'jenkins.wait_for_build to wait for the result. With `parameters` the build is started through ' +
    'buildWithParameters (values are sent as strings; omitted parameters take their defaults), without it through ' +
    'build. Connects with JENKINS_URL, JENKINS_USER and an API token in JENKINS_TOKEN from the worker environment. ' +
    'An unknown job or refused credentials fail the step at once; an unreachable or failing Jenkins is retried. ' +
    `With parameters, or when the job declares any, the build also gets \`${DELIVERY_PARAMETER}=<workflow id>/<step ` +
    'id>`, and each attempt first looks for a build with it in the queue and the last ' +
    `${LOOK_BACK_BUILDS} builds, returning its queue item instead of queueing another.`,
  input: z.strictObject({
    job: jenkinsJob,
    parameters: z
      .record(z.string().min(1).max(200), z.union([z.string().max(10_000), z.number(), z.boolean()]))
      .optional(),
  }),
  output: z.object({ job: z.string(), queue_id: z.int() }),
  env: JENKINS_ENV,
  // Not parameters: the job decides what they mean, as a program does with its environment.
  guardedInputs: [{ input: 'job', decides: 'chooses which Jenkins job runs' }],
  defaults: { timeout: '2m', execution: 'local' },
  examples: [
    {
      title: 'Build the release candidate',
      with: {
        job: 'release/build-app',
        parameters: { VERSION: '${{ vars.version }}', DRY_RUN: false },
      },
    },
    { title: 'Rebuild the documentation site', with: { job: 'docs-site' } },
  ],
  async run(input, { deps, step }) {
    const jenkins = jenkinsApi(deps.env, ID);
    const given =
      input.parameters === undefined
        ? undefined
        : Object.fromEntries(Object.entries(input.parameters).map(([name, value]) => [name, String(value)]));
    // The queue first, then the job: an item that leaves the queue in between is among the job's builds.
    const queued = await jenkins.queued(input.job);
    const job = await jenkins.job(input.job, LOOK_BACK_BUILDS);
    // Jenkins refuses buildWithParameters for a job that declares none, so only a parameterised trigger carries the id.
    if (given === undefined && !job.parameterised) {
      return { job: input.job, queue_id: await jenkins.triggerBuild(input.job) };
    }
    const delivery = stepDelivery(step);
    // Every attempt looks: an earlier one (or the run before a reset) may have queued the build and lost the answer.
    const found = [...queued, ...job.builds].find(
      (item) => item.parameters[DELIVERY_PARAMETER] === delivery && item.queueId > 0,
    );
    if (found !== undefined) return { job: input.job, queue_id: found.queueId };
    const queueId = await jenkins.triggerBuild(input.job, { ...given, [DELIVERY_PARAMETER]: delivery });
    return { job: input.job, queue_id: queueId };
  },
});
