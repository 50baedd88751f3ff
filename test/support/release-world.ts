import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../config';
import { FakeJenkins } from './fake-jenkins';
import { FakeJira } from './fake-jira';
import { FakeSlack } from './fake-slack';
import { SmtpReceiver } from './smtp-receiver';

export const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** Text of an Atlassian Document Format comment body. */
export function adfText(node: unknown): string {
  if (typeof node !== 'object' || node === null) return '';
  const { text, content } = node as { text?: string; content?: unknown[] };
  if (typeof text === 'string') return text;
  return (content ?? []).map(adfText).join((node as { type?: string }).type === 'doc' ? '\n' : '');
}

/** The credentials the local peers accept and the worker is given. */
export interface ReleaseCredentials {
  readonly jiraToken: string;
  readonly jenkinsToken: string;
  readonly slackToken: string;
  readonly smtpPassword: string;
}

const DEFAULT_CREDENTIALS: ReleaseCredentials = {
  jiraToken: 'fake-jira-api-token',
  jenkinsToken: 'jenkins-token',
  slackToken: 'xoxb-test',
  smtpPassword: 'smtp-secret',
};

/** The files the preproduction job archives, as Jenkins lists them for a build. */
export const PREPRODUCTION_ARTIFACTS: readonly string[] = [
  'dist/app.tar.gz',
  'dist/app.tar.gz.sha256',
  'dist/README.txt',
];

/**
 * Everything the release example (examples/release.yaml) talks to, for real and on this machine: a bare git
 * repository with history, Jira, Jenkins and Slack as local servers that speak their REST APIs, an SMTP server, and
 * artifact and test-environment directories for rsync.
 */
export class ReleaseWorld {
  private constructor(
    readonly scratch: string,
    readonly bare: string,
    /** develop's commit before any release ran. */
    readonly developBefore: string,
    readonly jira: FakeJira,
    readonly jenkins: FakeJenkins,
    readonly slack: FakeSlack,
    readonly smtp: SmtpReceiver,
    readonly credentials: ReleaseCredentials,
  ) {}

  static async start(credentials: ReleaseCredentials = DEFAULT_CREDENTIALS): Promise<ReleaseWorld> {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-release-'));
    const bare = seedRepository(scratch);
    const jira = await FakeJira.start({ apiToken: credentials.jiraToken });
    jira.addIssue('REL-100', { summary: 'Release 2.4.0', status: 'Start Release', fixVersions: ['2.4.0'] });
    jira.addIssue('REL-12', { summary: 'Checkout rounding' });
    jira.addIssue('REL-15', { summary: 'Coupon codes' });
    jira.addUser('5b10ac8d82e05b22cc7d4ef5', 'ana@example.com', 'Ana');
    jira.addUser('60f1aa9f2c3b4d0069a1b2c3', 'bo@example.com', 'Bo');
    const jenkins = await new FakeJenkins({ user: 'flow', token: credentials.jenkinsToken }).start();
    jenkins.addJob('shop-preproduction');
    const slack = await new FakeSlack({ token: credentials.slackToken }).start();
    const smtp = await new SmtpReceiver({ user: 'flow', pass: credentials.smtpPassword }).start();

    fs.mkdirSync(path.join(scratch, 'test-env', 'shop'), { recursive: true });
    fs.writeFileSync(path.join(scratch, 'test-env', 'shop', 'old-build.tar.gz'), 'stale');
    const developBefore = git(bare, 'rev-parse', 'refs/heads/develop');
    const world = new ReleaseWorld(scratch, bare, developBefore, jira, jenkins, slack, smtp, credentials);
    world.publishArtifacts('2.4.0');
    return world;
  }

  /**
   * Puts a build of `version` where the preproduction job copies it for the worker (the artifacts directory the
   * example deploys from): the archive, its checksum and release notes.
   */
  publishArtifacts(version: string): void {
    const artifacts = path.join(this.scratch, 'artifacts', 'shop', version);
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'app.tar.gz'), `the ${version} build`);
    fs.writeFileSync(path.join(artifacts, 'app.tar.gz.sha256'), 'checksum');
    fs.writeFileSync(path.join(artifacts, 'README.txt'), 'release notes');
  }

  /** The worker environment that points every action at this world. */
  workerEnv(): Record<string, string> {
    return {
      ...this.jira.env(),
      JENKINS_URL: this.jenkins.url,
      JENKINS_USER: 'flow',
      JENKINS_TOKEN: this.credentials.jenkinsToken,
      SLACK_TOKEN: this.credentials.slackToken,
      SLACK_API_URL: this.slack.url,
      SMTP_URL: `smtp://flow:${this.credentials.smtpPassword}@127.0.0.1:${this.smtp.port}`,
      SMTP_FROM: 'Flow <flow@example.com>',
      // The SMTP receiver is a relay on loopback without STARTTLS, the one case where logging in without TLS is fine.
      FLOW_SMTP_ALLOW_PLAINTEXT_AUTH: '1',
      FLOW_WORKSPACE_DIR: path.join(this.scratch, 'workspaces'),
      FLOW_GIT_ALLOW_FILE_URLS: 'true',
    };
  }

  /** The shipped release example, pointed at this world's repository and directories instead of the documented ones. */
  examples(): { id: string; yaml: string }[] {
    return ['release'].map((id) => ({
      id,
      yaml: fs
        .readFileSync(path.join(projectRoot, 'examples', `${id}.yaml`), 'utf8')
        .replaceAll('https://git.example.com/acme/shop.git', `file://${this.bare}`)
        .replaceAll('/srv/artifacts/', `${this.scratch}/artifacts/`)
        .replaceAll('/srv/test-env/', `${this.scratch}/test-env/`),
    }));
  }

  async stop(): Promise<void> {
    await Promise.all([this.jira.stop(), this.jenkins.stop(), this.slack.stop(), this.smtp.stop()]);
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** A bare repository with master, develop, a v2.3.0 tag and three commits since, by three people. */
function seedRepository(scratch: string): string {
  const bare = path.join(scratch, 'shop.git');
  const work = path.join(scratch, 'seed');
  execFileSync('git', ['init', '--bare', '--initial-branch=master', bare]);
  execFileSync('git', ['init', '--initial-branch=master', work]);
  const commit = (message: string, author: string, files: Record<string, string>): void => {
    for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(work, file), content);
    git(work, 'add', '-A');
    const [name, email] = author.split('|') as [string, string];
    execFileSync('git', ['-c', `user.name=${name}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', message], {
      cwd: work,
    });
  };
  commit('Initial shop', 'Ana|ana@example.com', {
    'package.json': `${JSON.stringify({ name: 'shop', version: '2.3.0' }, null, 2)}\n`,
    'README.md': 'shop\n',
  });
  git(work, '-c', 'user.name=Ana', '-c', 'user.email=ana@example.com', 'tag', '-a', 'v2.3.0', '-m', 'Release 2.3.0');
  git(work, 'checkout', '-q', '-b', 'develop');
  commit('Start 2.4.0', 'Flow|flow@localhost', {
    'package.json': `${JSON.stringify({ name: 'shop', version: '2.4.0' }, null, 2)}\n`,
  });
  commit('REL-12 fix checkout rounding', 'Ana|ana@example.com', { 'checkout.js': 'round()\n' });
  commit('REL-15 add coupon codes', 'Bo|bo@example.com', { 'coupons.js': 'coupons()\n' });
  git(work, 'push', '-q', bare, 'master', 'develop', '--tags');
  return bare;
}
