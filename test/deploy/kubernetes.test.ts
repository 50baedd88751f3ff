import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import request from 'supertest';
import { parse, parseAllDocuments } from 'yaml';
import { actionsById } from '../../activities';
import { searchAttributeCliSpecs } from '../../common';
import { DEFAULTS, loadConfig, projectRoot, type FlowConfig } from '../../config';
import { createApp } from '../../gateway/app';
import type { HealthProbe } from '../../gateway/health';
import type { IntakeDeps } from '../../intake';
import type { DefinitionStore } from '../../registry';
import { workerOptions } from '../../workers/create-worker';
import { createWorkerMetrics, portOf, serveMetrics } from '../../workers/metrics';
import { assertEmittedByBuild, dockerfileCmd } from './build-output';

/** The parts of the Kubernetes objects this test reads; everything else is ignored. */
interface Manifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Labels };
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
  readonly spec?: {
    readonly replicas?: number;
    readonly selector?: { readonly matchLabels?: Labels } | Labels;
    readonly ports?: readonly {
      readonly name?: string;
      readonly port: number;
      readonly targetPort?: number | string;
    }[];
    readonly template?: { readonly metadata?: { readonly labels?: Labels }; readonly spec?: PodSpec };
  };
}

type Labels = Readonly<Record<string, string>>;

interface PodSpec {
  readonly terminationGracePeriodSeconds?: number;
  readonly containers: readonly Container[];
  readonly volumes?: readonly { readonly name: string; readonly emptyDir?: object }[];
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly fieldRef?: { readonly fieldPath: string };
  };
}

interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly {
    readonly configMapRef?: { readonly name: string; readonly optional?: boolean };
    readonly secretRef?: { readonly name: string; readonly optional?: boolean };
  }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command: readonly string[] } } };
  readonly resources?: {
    readonly requests?: { readonly cpu?: string; readonly memory?: string };
    readonly limits?: { readonly cpu?: string; readonly memory?: string };
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string }[];
}

const folder = path.join(projectRoot, 'deploy', 'kubernetes');
const manifestFiles = fs
  .readdirSync(folder)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .sort();

/** Every object of every manifest, with the file it came from; a YAML error fails here, at load. */
const objects: { readonly file: string; readonly manifest: Manifest }[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(fs.readFileSync(path.join(folder, file), 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file} does not parse`);
    return { file, manifest: doc.toJS() as Manifest };
  }),
);

function object(kind: string, name: string): Manifest {
  const found = objects.find(({ manifest }) => manifest.kind === kind && manifest.metadata?.name === name);
  assert.ok(found, `deploy/kubernetes has no ${kind} ${name}`);
  return found.manifest;
}

function podSpec(manifest: Manifest): PodSpec {
  const spec = manifest.spec?.template?.spec;
  assert.ok(spec, `${manifest.kind} ${manifest.metadata?.name} has no pod template`);
  return spec;
}

function container(kind: string, name: string): Container {
  const containers = podSpec(object(kind, name)).containers;
  assert.equal(containers.length, 1, `${name} should run one container`);
  return containers[0]!;
}

const gateway = (): Container => container('Deployment', 'flow-gateway');
const worker = (): Container => container('Deployment', 'flow-worker');
const job = (): Container => container('Job', 'flow-search-attributes');

/**
 * Stands in for the Secret `flow` that the operator creates (deploy/kubernetes/README.md): only its required keys,
 * so an optional reference resolves to nothing, as it would without the key.
 */
const secrets: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  flow: {
    MONGODB_URI: 'mongodb://flow:pw@mongo-0.mongo:27017,mongo-1.mongo:27017/flow?replicaSet=rs0',
    FLOW_API_TOKEN: 'k8s-test-token-0123456789',
  },
};
const podName = 'flow-worker-7d9c6b5f4-x2k8q';

/** The environment Kubernetes gives `c`: envFrom first, then env, which wins; a missing required key throws. */
function environment(c: Container): NodeJS.ProcessEnv {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      Object.assign(env, object('ConfigMap', from.configMapRef.name).data ?? {});
    } else if (from.secretRef) {
      const secret = secrets[from.secretRef.name];
      assert.ok(secret ?? from.secretRef.optional, `${c.name} needs the Secret ${from.secretRef.name}`);
      Object.assign(env, secret ?? {});
    }
  }
  for (const variable of c.env ?? []) {
    const value = resolve(c, variable);
    if (value === undefined) delete env[variable.name];
    else env[variable.name] = value;
  }
  return env;
}

function resolve(c: Container, variable: EnvVar): string | undefined {
  if (variable.value !== undefined) return String(variable.value);
  const from = variable.valueFrom;
  if (from?.configMapKeyRef) {
    const value = object('ConfigMap', from.configMapKeyRef.name).data?.[from.configMapKeyRef.key];
    assert.ok(value !== undefined || from.configMapKeyRef.optional, `${c.name}: ${variable.name} has no ConfigMap key`);
    return value;
  }
  if (from?.secretKeyRef) {
    const value = secrets[from.secretKeyRef.name]?.[from.secretKeyRef.key];
    assert.ok(
      value !== undefined || from.secretKeyRef.optional,
      `${c.name}: ${variable.name} is a required secret key`,
    );
    return value;
  }
  if (from?.fieldRef) {
    assert.equal(from.fieldRef.fieldPath, 'metadata.name', `${c.name}: only the pod name is resolved here`);
    return podName;
  }
  assert.fail(`${c.name}: ${variable.name} has neither a value nor a source`);
}

/** Every variable name `c` sets itself (env) or receives from a ConfigMap (envFrom); Secrets' keys are unknown. */
function variableNames(c: Container): string[] {
  const fromConfigMaps = (c.envFrom ?? []).flatMap((from) =>
    from.configMapRef ? Object.keys(object('ConfigMap', from.configMapRef.name).data ?? {}) : [],
  );
  return [...fromConfigMaps, ...(c.env ?? []).map(({ name }) => name)];
}

/** The container port a probe or Service names, by number or by the container port's name. */
function containerPort(c: Container, port: number | string | undefined): number {
  if (typeof port === 'number') return port;
  const named = (c.ports ?? []).find((candidate) => candidate.name === port);
  assert.ok(named, `${c.name} has no port named ${String(port)}`);
  return named.containerPort;
}

/** A Kubernetes quantity in bytes (Mi, Gi, M, G) or cores (m). */
function quantity(raw: string | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(raw ?? '');
  assert.ok(match?.[1], `${String(raw)} is not a quantity`);
  const factor = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * factor;
}

/** Seconds a `sleep N` preStop hook holds the pod before SIGTERM; 0 without one. */
function preStopSeconds(c: Container): number {
  const command = c.lifecycle?.preStop?.exec?.command;
  if (!command) return 0;
  assert.equal(command[0], 'sleep', `${c.name}: only a sleep preStop hook is understood here`);
  return Number(command[1]);
}

/**
 * The worker's memory as the benchmarks measured it (bench/README.md, "Results on the development machine": the
 * `memory` and `wait-memory` rows): RSS with N runs waiting and the increase per waiting run, in MiB (the bench's
 * MB is 1024² bytes, its KB 1024).
 */
function benchWorkerMemory(): { readonly idleMiB: number; readonly perRunMiB: number } {
  const readme = fs.readFileSync(path.join(projectRoot, 'bench', 'README.md'), 'utf8');
  const rows = ['memory', 'wait-memory'].map((scenario) => {
    const row = new RegExp(
      `^\\| ${scenario}\\s*\\| ([\\d.]+) MB against [\\d.]+ MB with ([\\d,]+) runs waiting[^;]*; ([\\d.]+) KB against`,
      'm',
    ).exec(readme);
    assert.ok(row?.[1] && row[2] && row[3], `bench/README.md has no ${scenario} result in its results table`);
    const perRunMiB = Number(row[3]) / 1024;
    return { idleMiB: Number(row[1]) - perRunMiB * Number(row[2].replace(/,/g, '')), perRunMiB };
  });
  return {
    idleMiB: Math.max(...rows.map((row) => row.idleMiB)),
    perRunMiB: Math.max(...rows.map((row) => row.perRunMiB)),
  };
}

function configOf(c: Container): FlowConfig {
  return loadConfig(environment(c));
}

/** A gateway app whose only working parts are its health probes, wired as gateway/main.ts wires them. */
function gatewayApp(health: Record<string, HealthProbe>): ReturnType<typeof createApp> {
  const unused = <T extends object>(name: string, settings: Readonly<Record<string, string>> = {}): T =>
    new Proxy({} as T, {
      get: (_target, key) => {
        if (typeof key === 'string' && Object.hasOwn(settings, key)) return settings[key];
        throw new Error(`a probe must not reach the ${name}`);
      },
    });
  return createApp({
    health,
    apiToken: 'unused-token-0123456789',
    catalog: actionsById(),
    store: unused<DefinitionStore>('store'),
    intake: unused<IntakeDeps>('intake', { taskQueue: 'flow' }),
    webhooks: { adapters: [], env: {} },
  });
}

const up: HealthProbe = () => Promise.resolve();
const down: HealthProbe = () => Promise.reject(new Error('down'));

describe('deploy: deploy/kubernetes', () => {
  it('lists every manifest in kustomization.yaml, sets no namespace and creates none, so it applies to any', () => {
    assert.ok(manifestFiles.length > 0, 'deploy/kubernetes has no manifests');
    const kustomization = parse(fs.readFileSync(path.join(folder, 'kustomization.yaml'), 'utf8')) as {
      resources?: string[];
      namespace?: string;
    };
    assert.deepEqual([...(kustomization.resources ?? [])].sort(), manifestFiles);
    assert.equal(kustomization.namespace, undefined);
    for (const { file, manifest } of objects) {
      assert.ok(manifest.apiVersion && manifest.kind && manifest.metadata?.name, `${file}: an object lacks its name`);
      assert.equal(manifest.metadata.namespace, undefined, `${file}: ${manifest.metadata.name} names a namespace`);
      assert.notEqual(manifest.kind, 'Namespace', `${file} creates a namespace`);
    }
  });

  it("runs the gateway and the worker from the project's image, tagged with its version, on files the build emits", () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const kustomization = parse(fs.readFileSync(path.join(folder, 'kustomization.yaml'), 'utf8')) as {
      images?: { name: string; newTag?: string }[];
    };
    assert.equal(kustomization.images?.find((image) => image.name === 'flow')?.newTag, version);
    const entries = { gateway: [gateway(), 'dist/gateway/main.js'], worker: [worker(), 'dist/workers/main.js'] };
    for (const [name, [c, entry]] of Object.entries(entries) as [string, [Container, string]][]) {
      assert.equal(c.image, `flow:${version}`, `${name} runs ${c.image}`);
      assert.deepEqual([...(c.command ?? dockerfileCmd()), ...(c.args ?? [])], ['node', entry]);
      assertEmittedByBuild(entry);
    }
  });

  it('sets only variables the configuration reads, and both processes start with them (loadConfig)', () => {
    const configSource = fs
      .readdirSync(path.join(projectRoot, 'config'))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => fs.readFileSync(path.join(projectRoot, 'config', file), 'utf8'))
      .join('\n');
    for (const c of [gateway(), worker()]) {
      for (const name of variableNames(c)) {
        assert.ok(configSource.includes(`'${name}'`), `${c.name} sets ${name}, which config/ never reads`);
      }
      assert.doesNotThrow(() => configOf(c), `${c.name} would stop at start`);
    }
    const gatewayConfig = configOf(gateway());
    const workerConfig = configOf(worker());
    assert.deepEqual(
      gatewayConfig.temporal,
      workerConfig.temporal,
      'the gateway and the workers must meet in Temporal',
    );
    assert.deepEqual(
      gatewayConfig.mongodb,
      workerConfig.mongodb,
      'the gateway and the workers must share the registry',
    );
    assert.equal(workerConfig.temporal.namespace, DEFAULTS.temporalNamespace);
    assert.equal(workerConfig.temporal.taskQueue, DEFAULTS.taskQueue);
    assert.equal(/:(\d+)$/.exec(workerConfig.temporal.address)?.[1], '7233', "Temporal's frontend port");
  });

  it('serves the gateway on its configured port, behind a Service that selects the gateway pods only', () => {
    const port = configOf(gateway()).gateway.port;
    assert.equal(port, DEFAULTS.port);
    const service = object('Service', 'flow-gateway');
    const servicePort = service.spec?.ports?.[0];
    assert.ok(servicePort, 'the Service has no port');
    assert.equal(containerPort(gateway(), servicePort.targetPort ?? servicePort.port), port);
    assert.equal(servicePort.port, DEFAULTS.port);
    const selector = service.spec?.selector as Labels;
    const selects = (deployment: string): boolean =>
      Object.entries(selector).every(
        ([key, value]) => object('Deployment', deployment).spec?.template?.metadata?.labels?.[key] === value,
      );
    assert.ok(selects('flow-gateway'), 'the Service does not select the gateway pods');
    assert.ok(!selects('flow-worker'), 'the Service also selects the workers');
  });

  it("selects each Deployment's and PodDisruptionBudget's own pods, and runs more than one of each", () => {
    for (const name of ['flow-gateway', 'flow-worker']) {
      const deployment = object('Deployment', name);
      const labels = deployment.spec?.template?.metadata?.labels ?? {};
      for (const kind of ['Deployment', 'PodDisruptionBudget']) {
        const matchLabels = (object(kind, name).spec?.selector as { matchLabels?: Labels }).matchLabels ?? {};
        assert.ok(Object.keys(matchLabels).length > 0, `${kind} ${name} selects nothing`);
        for (const [key, value] of Object.entries(matchLabels))
          assert.equal(labels[key], value, `${kind} ${name} selects ${key}=${value}, which its pods lack`);
      }
      assert.ok((deployment.spec?.replicas ?? 1) >= 2, `${name} runs one replica: a restart stops it`);
    }
  });

  it("probes the gateway's /healthz for readiness (down with Temporal or MongoDB) and a path that answers whatever they do for liveness", async () => {
    const c = gateway();
    const port = configOf(c).gateway.port;
    const { readinessProbe: readiness, livenessProbe: liveness } = c;
    assert.equal(readiness?.httpGet?.path, '/healthz');
    assert.ok(liveness?.httpGet, 'the gateway has no HTTP liveness probe');
    for (const probe of [readiness, liveness]) assert.equal(containerPort(c, probe.httpGet?.port), port);

    const healthy = gatewayApp({ temporal: up, mongodb: up });
    assert.equal((await request(healthy).get(readiness.httpGet.path)).status, 200);
    assert.equal((await request(healthy).get(liveness.httpGet.path)).status, 200);
    for (const health of [
      { temporal: down, mongodb: up },
      { temporal: up, mongodb: down },
    ]) {
      const app = gatewayApp(health);
      assert.equal((await request(app).get(readiness.httpGet.path)).status, 503);
      // A restart would not bring Temporal or MongoDB back, so liveness must not follow them.
      assert.equal((await request(app).get(liveness.httpGet.path)).status, 200);
    }
  });

  it("probes the worker's metrics port, on paths its metrics server answers, and waits for its start", async () => {
    const c = worker();
    const metricsPort = configOf(c).worker.metricsPort;
    assert.ok(metricsPort !== null, 'the worker turns its metrics off, so nothing can probe it');
    const probes = [c.startupProbe, c.readinessProbe, c.livenessProbe];
    const server: Server = await serveMetrics(createWorkerMetrics().registry, 0, '127.0.0.1');
    try {
      for (const probe of probes) {
        assert.ok(probe?.httpGet, `${c.name} lacks an HTTP probe`);
        assert.equal(containerPort(c, probe.httpGet.port), metricsPort);
        const res = await fetch(`http://127.0.0.1:${portOf(server)}${probe.httpGet.path}`);
        assert.equal(res.status, 200, `the worker answers ${probe.httpGet.path} with ${res.status}`);
      }
    } finally {
      server.close();
    }
    // A worker waits for MongoDB and Temporal before it serves metrics; liveness alone would restart it meanwhile.
    const startup = c.startupProbe!;
    assert.ok((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3) >= 300, 'startup gives under 5 min');
  });

  it('gives each worker pod its own git workspace, on an emptyDir, and its pod name as worker identity', () => {
    const c = worker();
    const config = configOf(c);
    assert.equal(config.worker.identity, podName);
    const mount = (c.volumeMounts ?? []).find((candidate) => candidate.mountPath === config.worker.workspaceDir);
    assert.ok(mount, `FLOW_WORKSPACE_DIR ${config.worker.workspaceDir} is not a volume mount`);
    const volume = podSpec(object('Deployment', 'flow-worker')).volumes?.find(({ name }) => name === mount.name);
    assert.ok(volume?.emptyDir, "the workspace must be the pod's own (emptyDir), never shared between workers");
  });

  it('lets both processes drain: terminationGracePeriodSeconds covers preStop, FLOW_SHUTDOWN_GRACE and 15 s more', () => {
    for (const name of ['flow-gateway', 'flow-worker']) {
      const pod = podSpec(object('Deployment', name));
      const c = pod.containers[0]!;
      const config = configOf(c);
      const budget = pod.terminationGracePeriodSeconds ?? 30;
      const needed = preStopSeconds(c) + config.shutdownGraceMs / 1000 + 15;
      assert.ok(budget >= needed, `${name}: terminationGracePeriodSeconds ${budget} < ${needed}`);
      if (name === 'flow-worker') {
        const force = (workerOptions(config).shutdownForceTime as number) / 1000;
        assert.ok(budget > force, `${name} is killed before it abandons a stuck activity (${force} s)`);
      }
    }
  });

  it('takes every credential from a Secret the operator creates, never a literal; FLOW_API_TOKEN and MONGODB_URI are required', () => {
    assert.ok(
      objects.every(({ manifest }) => manifest.kind !== 'Secret'),
      'deploy/kubernetes must not ship a Secret: a literal secret in git is a leaked one',
    );
    const secretLike = /TOKEN|SECRET|PASSWORD|MONGODB_URI/;
    for (const { manifest } of objects.filter(({ manifest }) => manifest.kind === 'ConfigMap')) {
      for (const key of Object.keys(manifest.data ?? {}))
        assert.doesNotMatch(key, secretLike, `ConfigMap ${manifest.metadata?.name} holds ${key}`);
    }
    for (const c of [gateway(), worker(), job()]) {
      for (const variable of c.env ?? []) {
        if (secretLike.test(variable.name))
          assert.ok(variable.valueFrom?.secretKeyRef, `${c.name} sets ${variable.name} without a secretKeyRef`);
      }
    }
    const required = (c: Container, name: string): void => {
      const ref = c.env?.find((variable) => variable.name === name)?.valueFrom?.secretKeyRef;
      assert.ok(ref && !ref.optional, `${c.name} must require ${name} from a Secret`);
    };
    // Without FLOW_API_TOKEN each gateway would generate a token of its own.
    required(gateway(), 'FLOW_API_TOKEN');
    required(gateway(), 'MONGODB_URI');
    required(worker(), 'MONGODB_URI');
    // The README's command creates every key the manifests read from the Secret `flow`.
    const readme = fs.readFileSync(path.join(folder, 'README.md'), 'utf8');
    for (const c of [gateway(), worker()]) {
      for (const variable of c.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref?.name === 'flow') assert.ok(readme.includes(ref.key), `README.md does not mention the key ${ref.key}`);
      }
    }
  });

  it("registers every Flow search attribute with its type in the worker's namespace, in a Job that fails on a real error", () => {
    const c = job();
    const compose = parse(fs.readFileSync(path.join(projectRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string }>;
    };
    assert.equal(c.image, compose.services['temporal-setup']?.image, 'the Job and docker-compose use other CLIs');
    const env = environment(c);
    const workerConfig = configOf(worker());
    assert.equal(env['TEMPORAL_ADDRESS'], workerConfig.temporal.address);
    assert.equal(env['TEMPORAL_NAMESPACE'], workerConfig.temporal.namespace);
    const script = [...(c.command ?? []), ...(c.args ?? [])].join('\n');
    assert.match(script, /^set -eu$/m);
    const specs = searchAttributeCliSpecs();
    for (const spec of specs) {
      const [name, type] = spec.split('=');
      const line = script.split('\n').find((candidate) => candidate.includes(`--name ${name} `));
      assert.ok(line, `the Job does not create ${name}`);
      assert.match(line, /temporal operator search-attribute create /);
      assert.ok(line.endsWith(`--type ${type}`), `the Job creates ${name} without --type ${type}: ${line}`);
      assert.ok(line.includes('--namespace "$TEMPORAL_NAMESPACE"'), `${name} goes to another namespace`);
      assert.ok(!/\|\|\s*true/.test(line), `a failure to create ${name} is ignored`);
    }
    const created = [...script.matchAll(/--name (\w+)/g)].map((match) => match[1]);
    assert.deepEqual(created.sort(), specs.map((spec) => spec.split('=')[0]).sort(), 'the Job creates other ones');
  });

  it("requests the worker's memory from the benchmarks for its workflow cache, and sets requests for every container", () => {
    for (const c of [gateway(), worker(), job()]) {
      const { requests, limits } = c.resources ?? {};
      assert.ok(requests?.cpu && requests.memory, `${c.name} has no CPU and memory requests`);
      assert.ok(limits?.memory, `${c.name} has no memory limit`);
      assert.ok(quantity(limits.memory) >= quantity(requests.memory), `${c.name}: memory limit below its request`);
    }
    const cache = configOf(worker()).worker.maxCachedWorkflows;
    assert.ok(cache, 'set FLOW_WORKER_CACHE_SIZE: otherwise the cache, and the memory, follow the heap limit');
    const { idleMiB, perRunMiB } = benchWorkerMemory();
    const expectedMiB = idleMiB + perRunMiB * cache;
    const requestedMiB = quantity(worker().resources?.requests?.memory) / 1024 ** 2;
    assert.ok(
      requestedMiB >= expectedMiB,
      `the worker requests ${requestedMiB} MiB; a full cache of ${cache} runs takes about ${Math.round(expectedMiB)} MiB`,
    );
  });
});
