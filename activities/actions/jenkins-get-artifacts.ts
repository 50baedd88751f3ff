import { z } from 'zod';
import { JENKINS_ENV, jenkinsApi, jenkinsJob } from '../clients/jenkins';
import { defineAction } from '../define-action';

const ID = 'jenkins.get_artifacts';

/** Lists the archived artifacts of one Jenkins build, with the URL each can be downloaded from. */
export const jenkinsGetArtifacts = defineAction({
  id: ID,
  guarantee: {
    level: 'exactly-once',
    explanation: 'Only reads from Jenkins; no side effect.',
  },
  description:
    'Lists the artifacts a Jenkins build archived and returns {artifacts: [{file_name, relative_path, url}]}, where ' +
    'url is where Jenkins serves the file. The URLs never carry credentials (a user or password in the build URL ' +
    'Jenkins reports is removed), so they are safe to post in comments and messages; whoever follows one signs in ' +
    'to Jenkins as themselves. The list is empty when the build archived nothing. Connects with JENKINS_URL, ' +
    'JENKINS_USER and JENKINS_TOKEN from the worker environment; an unknown job or build fails the step without ' +
    'retrying.',
  input: z.strictObject({
    job: jenkinsJob,
    build_number: z.int().positive(),
  }),
  output: z.object({
    artifacts: z.array(z.object({ file_name: z.string(), relative_path: z.string(), url: z.string() })),
  }),
  env: JENKINS_ENV,
  defaults: { timeout: '1m', execution: 'local' },
  examples: [
    {
      title: 'List what the finished build produced',
      with: { job: '${{ steps.wait.output.job }}', build_number: '${{ steps.wait.output.number }}' },
    },
    { title: 'List the artifacts of a known build', with: { job: 'release/build-app', build_number: 412 } },
  ],
  async run(input, { deps }) {
    const jenkins = jenkinsApi(deps.env, ID);
    const build = await jenkins.build(input.job, input.build_number);
    return {
      artifacts: build.artifacts.map((artifact) => ({
        file_name: artifact.fileName,
        relative_path: artifact.relativePath,
        // Each path segment is escaped on its own, so folders in the path stay folders in the URL.
        url: `${build.url}artifact/${artifact.relativePath.split('/').map(encodeURIComponent).join('/')}`,
      })),
    };
  },
});
