import { z } from 'zod';
import { JENKINS_ENV, jenkinsApi, jenkinsJob } from '../clients/jenkins';
import { defineAction } from '../define-action';

const ID = 'jenkins.trigger_build';

/** Queues a Jenkins build, with parameters when given, and returns its queue item for `jenkins.wait_for_build`. */
export const jenkinsTriggerBuild = defineAction({
  id: ID,
  description:
    'Queues a build of a Jenkins job (folders separated by "/") and returns {job, queue_id}; pass queue_id to ' +
    'jenkins.wait_for_build to wait for the result. With `parameters` the build is started through ' +
    'buildWithParameters (values are sent as strings; omitted parameters take their defaults), without it through ' +
    'build. Connects with JENKINS_URL, JENKINS_USER and an API token in JENKINS_TOKEN from the worker environment. ' +
    'An unknown job or refused credentials fail the step at once; an unreachable or failing Jenkins is retried.',
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
  defaults: { timeout: '2m' },
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
  async run(input, { deps }) {
    const jenkins = jenkinsApi(deps.env, ID);
    const parameters =
      input.parameters === undefined
        ? undefined
        : Object.fromEntries(Object.entries(input.parameters).map(([name, value]) => [name, String(value)]));
    const queueId = await jenkins.triggerBuild(input.job, parameters);
    return { job: input.job, queue_id: queueId };
  },
});
