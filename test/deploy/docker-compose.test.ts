import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { searchAttributeCliSpecs } from '../../common';
import { DEFAULTS, loadConfig, projectRoot, resolveApiToken } from '../../config';
import { assertEmittedByBuild, dockerfileCmd, dockerfilePath } from './build-output';

/** The parts of the Compose file format this test reads; everything else is ignored. */
interface ComposeService {
  readonly image?: string;
  readonly build?: string | { readonly context?: string; readonly dockerfile?: string };
  readonly command?: string | readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | readonly string[];
  readonly ports?: readonly (string | number | { readonly target: number; readonly published?: string | number })[];
  readonly expose?: readonly (string | number)[];
  readonly volumes?: readonly (string | { readonly source?: string; readonly target: string })[];
  readonly depends_on?: readonly string[] | Readonly<Record<string, { readonly condition?: string }>>;
  readonly healthcheck?: { readonly test?: string | readonly string[]; readonly disable?: boolean };
  readonly restart?: string;
}

interface ComposeFile {
  readonly services?: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

const composePath = path.join(projectRoot, 'docker-compose.yml');
const compose = parse(fs.readFileSync(composePath, 'utf8')) as ComposeFile;
const services = compose.services ?? {};

// Stands in for the shell environment `docker compose up` interpolates from.
const shellEnv = { FLOW_API_TOKEN: 'test-token-from-shell' } as const;

function service(name: string): ComposeService {
  const found = services[name];
  assert.ok(found, `docker-compose.yml has no "${name}" service`);
  return found;
}

function isOneShot(svc: ComposeService): boolean {
  return svc.restart === 'no';
}

/** The service's environment as written (before interpolation), whichever of the two Compose forms it uses. */
function rawEnvironment(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      (env as readonly string[]).map((entry) => {
        const equals = entry.indexOf('=');
        return equals === -1 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env as Readonly<Record<string, string | number | boolean | null>>).map(([name, value]) => [
      name,
      value === null ? '' : String(value),
    ]),
  );
}

/**
 * Applies Compose's variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}`, `$$`) against `shell`, throwing where Compose would refuse to start.
 */
function interpolate(value: string, shell: Readonly<Record<string, string>>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (
      match,
      name: string | undefined,
      colon: string | undefined,
      operator: string | undefined,
      arg: string | undefined,
    ) => {
      if (match === '$$' || name === undefined) return '$';
      const set = shell[name];
      const usable = colon === ':' ? Boolean(set) : set !== undefined;
      if (usable) return set ?? '';
      if (operator === '-') return arg ?? '';
      if (operator === '?') throw new Error(`required variable ${name} is missing a value: ${arg ?? ''}`);
      return set ?? '';
    },
  );
}

function environment(svc: ComposeService, shell: Readonly<Record<string, string>> = shellEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(rawEnvironment(svc)).map(([name, value]) => [name, interpolate(value, shell)]),
  );
}

interface PortMapping {
  readonly published?: number;
  readonly target: number;
}

/** Port mappings in short (`[ip:]host:container[/proto]`) or long (`{ target, published }`) syntax. */
function portMappings(svc: ComposeService): PortMapping[] {
  return (svc.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return { target: port.target, published: port.published === undefined ? undefined : Number(port.published) };
    }
    const parts = String(port)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.at(-1));
    return parts.length > 1 ? { target, published: Number(parts.at(-2)) } : { target };
  });
}

function exposesContainerPort(svc: ComposeService, port: number): boolean {
  return (
    portMappings(svc).some((mapping) => mapping.target === port) ||
    (svc.expose ?? []).some((exposed) => Number(String(exposed).replace(/\/(tcp|udp)$/, '')) === port)
  );
}

function assertPublishes(name: string, hostPort: number, containerPort: number): void {
  const mappings = portMappings(service(name));
  assert.ok(
    mappings.some((mapping) => mapping.published === hostPort && mapping.target === containerPort),
    `${name} must publish host port ${hostPort} to container port ${containerPort}; it has ${JSON.stringify(mappings)}`,
  );
}

function dependencyConditions(svc: ComposeService): Record<string, string> {
  const dependsOn = svc.depends_on ?? [];
  if (Array.isArray(dependsOn)) {
    // The list form only waits for the container to start.
    return Object.fromEntries((dependsOn as readonly string[]).map((name) => [name, 'service_started']));
  }
  return Object.fromEntries(
    Object.entries(dependsOn as Readonly<Record<string, { readonly condition?: string }>>).map(([name, dep]) => [
      name,
      dep.condition ?? 'service_started',
    ]),
  );
}

function hostAndPort(address: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(address);
  assert.ok(match?.[1] && match[2], `${address} is not host:port`);
  return { host: match[1], port: Number(match[2]) };
}

function commandOf(svc: ComposeService): string[] {
  const command = svc.command;
  if (command === undefined) return dockerfileCmd();
  return typeof command === 'string' ? command.split(/\s+/).filter(Boolean) : [...command];
}

describe('deploy: docker-compose.yml', () => {
  it('gives every long-running service a healthcheck; only one-shot jobs (restart: "no") go without', () => {
    assert.ok(Object.keys(services).length > 0, 'docker-compose.yml defines no services');
    for (const [name, svc] of Object.entries(services)) {
      if (isOneShot(svc)) continue;
      const test = svc.healthcheck?.test;
      const disabled = svc.healthcheck?.disable === true || (Array.isArray(test) && test[0] === 'NONE');
      assert.ok(test !== undefined && test.length > 0 && !disabled, `${name} runs continuously but has no healthcheck`);
    }
  });

  it('waits for one-shot jobs to finish successfully, never for them to be healthy', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencyConditions(svc))) {
        if (!isOneShot(service(dependency))) continue;
        assert.equal(condition, 'service_completed_successfully', `${name} depends on one-shot ${dependency}`);
      }
    }
  });

  it('pins every image to an explicit tag, never latest', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (svc.image === undefined) continue;
      const tag = /:([^/:]+)$/.exec(svc.image)?.[1];
      assert.ok(tag && tag !== 'latest', `${name} uses ${svc.image}; pin a version tag`);
    }
  });

  it('runs Temporal from temporalio/auto-setup with PostgreSQL persistence on the postgresql service', () => {
    const temporal = service('temporal');
    assert.match(temporal.image ?? '', /^temporalio\/auto-setup:/);
    const env = environment(temporal);
    assert.equal(env['DB'], 'postgres12');
    assert.equal(env['DB_PORT'], '5432');
    assert.equal(env['POSTGRES_SEEDS'], 'postgresql');

    const postgresql = service('postgresql');
    assert.match(postgresql.image ?? '', /^postgres:/);
    const pgEnv = environment(postgresql);
    assert.ok(pgEnv['POSTGRES_USER'], 'postgresql needs POSTGRES_USER');
    assert.equal(env['POSTGRES_USER'], pgEnv['POSTGRES_USER']);
    assert.equal(env['POSTGRES_PWD'], pgEnv['POSTGRES_PASSWORD']);
    assert.equal(dependencyConditions(temporal)['postgresql'], 'service_healthy');
  });

  it('runs the Temporal UI (temporalio/ui) against the temporal service', () => {
    const ui = service('temporal-ui');
    assert.match(ui.image ?? '', /^temporalio\/ui:/);
    const { host, port } = hostAndPort(environment(ui)['TEMPORAL_ADDRESS'] ?? '');
    assert.equal(host, 'temporal');
    assert.ok(exposesContainerPort(service(host), port), `temporal does not expose ${port}`);
  });

  it('runs MongoDB from mongo:7 with its data in a named volume at /data/db', () => {
    const mongo = service('mongo');
    assert.equal(mongo.image, 'mongo:7');
    const dataVolume = (mongo.volumes ?? [])
      .map((volume) => {
        if (typeof volume === 'object') return { source: volume.source, target: volume.target };
        const [source, target] = volume.split(':');
        return { source, target };
      })
      .find((volume) => volume.target === '/data/db');
    assert.ok(dataVolume?.source, 'mongo needs a volume mounted at /data/db');
    assert.ok(
      Object.keys(compose.volumes ?? {}).includes(dataVolume.source),
      `${dataVolume.source} is not a named volume declared under top-level volumes`,
    );
  });

  it('registers every Flow search attribute with its type in the temporal-setup job', () => {
    const setup = service('temporal-setup');
    assert.match(setup.image ?? '', /^temporalio\/admin-tools:/);
    const script = commandOf(setup).join('\n');
    for (const spec of searchAttributeCliSpecs()) {
      const [name, type] = spec.split('=');
      const line = script.split('\n').find((candidate) => candidate.includes(`--name ${name} `));
      assert.ok(line, `temporal-setup does not create ${name}`);
      assert.match(line, /temporal operator search-attribute create /);
      assert.ok(line.includes(`--type ${type}`), `temporal-setup creates ${name} without --type ${type}: ${line}`);
      assert.ok(line.includes(`--namespace ${DEFAULTS.temporalNamespace}`), `${name} goes to the wrong namespace`);
    }
  });

  it('builds the worker and gateway from the project Dockerfile, running files tsconfig.build.json emits', () => {
    assert.ok(fs.existsSync(dockerfilePath), 'Dockerfile is missing');
    const entries = { worker: 'dist/workers/main.js', gateway: 'dist/gateway/main.js' } as const;
    for (const [name, entry] of Object.entries(entries)) {
      const svc = service(name);
      const context = typeof svc.build === 'string' ? svc.build : svc.build?.context;
      assert.ok(
        context === '.' || context === './',
        `${name} must be built from the project root, not ${String(context)}`,
      );
      if (typeof svc.build === 'object' && svc.build.dockerfile !== undefined) {
        assert.equal(svc.build.dockerfile, 'Dockerfile');
      }
      assert.deepEqual(commandOf(svc), ['node', entry]);
      assertEmittedByBuild(entry);
    }
    // The image runs the gateway by default, and the worker bundles the compiled workflows at startup.
    assert.deepEqual(dockerfileCmd(), ['node', entries.gateway]);
    assertEmittedByBuild('dist/workflows/index.js');
  });

  it("puts the console's source in the runtime image, which the gateway bundles on the first request to /ui", () => {
    const runtime = fs.readFileSync(dockerfilePath, 'utf8').split(/^FROM .* AS runtime$/m)[1] ?? '';
    const copied = [...runtime.matchAll(/^COPY --from=build \/app\/(\S+) \.\/(\S+)$/gm)].map((match) => match[1]);
    // The console's tsconfig extends the root one, and esbuild reads both.
    for (const needed of ['console/src', 'tsconfig.json'])
      assert.ok(copied.includes(needed), `runtime lacks ${needed}`);
    const extended = (
      JSON.parse(fs.readFileSync(path.join(projectRoot, 'console/src/tsconfig.json'), 'utf8')) as {
        extends?: string;
      }
    ).extends;
    assert.equal(extended, '../../tsconfig.json');
    // esbuild must be installed by `npm ci --omit=dev`: it comes with tsx, a runtime dependency.
    const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.ok(manifest.dependencies['tsx'] ?? manifest.dependencies['esbuild'], 'esbuild is not a runtime dependency');
  });

  for (const name of ['worker', 'gateway']) {
    it(`configures the ${name} (through loadConfig) for the default namespace and task queue, Temporal on a service exposing 7233 and MongoDB on the mongo service, database flow`, () => {
      const config = loadConfig(environment(service(name)));
      assert.equal(config.temporal.namespace, DEFAULTS.temporalNamespace);
      assert.equal(config.temporal.taskQueue, DEFAULTS.taskQueue);

      const temporal = hostAndPort(config.temporal.address);
      assert.equal(temporal.port, 7233);
      assert.ok(services[temporal.host], `TEMPORAL_ADDRESS names ${temporal.host}, which is not a compose service`);
      assert.ok(exposesContainerPort(service(temporal.host), 7233), `${temporal.host} does not expose port 7233`);

      const mongoUri = new URL(config.mongodb.uri);
      assert.equal(mongoUri.hostname, 'mongo');
      assert.ok(exposesContainerPort(service('mongo'), Number(mongoUri.port || 27017)));
      assert.equal(config.mongodb.database, 'flow');
    });
  }

  it("publishes the gateway, UI, Temporal and MongoDB on the host ports of Flow's defaults", () => {
    const gatewayPort = loadConfig(environment(service('gateway'))).gateway.port;
    assert.equal(gatewayPort, DEFAULTS.port);
    assertPublishes('gateway', DEFAULTS.port, gatewayPort);

    const uiPort = Number(environment(service('temporal-ui'))['TEMPORAL_UI_PORT'] || 8080);
    assertPublishes('temporal-ui', DEFAULTS.temporalUiPort, uiPort);

    // Host-side tools using the defaults (localhost:7233, mongodb://127.0.0.1:27017) reach the containers.
    const temporalPort = hostAndPort(DEFAULTS.temporalAddress).port;
    assert.equal(temporalPort, 7233);
    assertPublishes('temporal', temporalPort, 7233);
    const mongoPort = Number(new URL(DEFAULTS.mongodbUri).port);
    assert.equal(mongoPort, 27017);
    assertPublishes('mongo', mongoPort, 27017);
  });

  it('refuses to start the gateway without FLOW_API_TOKEN and hands the shell value to it', () => {
    const gateway = service('gateway');
    assert.match(rawEnvironment(gateway)['FLOW_API_TOKEN'] ?? '', /^\$\{FLOW_API_TOKEN:\?[^}]+\}$/);
    assert.throws(() => environment(gateway, {}), /FLOW_API_TOKEN/);
    assert.throws(() => environment(gateway, { FLOW_API_TOKEN: '' }), /FLOW_API_TOKEN/);

    // With FLOW_API_TOKEN set the gateway uses it as is and never writes a token file.
    const token = resolveApiToken(environment(gateway), path.join(projectRoot, 'no-such-dir'));
    assert.deepEqual(token, { token: shellEnv.FLOW_API_TOKEN, source: 'env' });
  });

  it('starts the worker and gateway only once Temporal and MongoDB are healthy', () => {
    for (const name of ['worker', 'gateway']) {
      const conditions = dependencyConditions(service(name));
      assert.equal(conditions['temporal'], 'service_healthy', `${name} must wait for a healthy temporal`);
      assert.equal(conditions['mongo'], 'service_healthy', `${name} must wait for a healthy mongo`);
    }
  });
});
