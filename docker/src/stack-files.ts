import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import { parseDocument } from 'yaml';

export const DOCKER_DIR = join(WORKSPACE_ROOT, 'docker');
export const COMPOSE_FILE = join(DOCKER_DIR, 'compose.yaml');

/** The services built from this repository, each from docker/<app>.Dockerfile. */
export const APPS = ['items-api', 'redis-consumer'] as const;
export type App = (typeof APPS)[number];

export const dockerfilePath = (app: App) => join(DOCKER_DIR, `${app}.Dockerfile`);

/** What the checks read of a Compose service; the schema test checks the rest. */
export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number | string; published?: number | string })[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition: string }>;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
}

/** Parses docker/compose.yaml; throws on any YAML error or warning (duplicate keys included). */
export function readComposeFile(): ComposeFile {
  const document = parseDocument(readFileSync(COMPOSE_FILE, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) throw new Error(`${COMPOSE_FILE}:\n${problems.map(String).join('\n')}`);
  return document.toJS() as ComposeFile;
}

/** A service's environment as a record, whichever of the two Compose forms (map or KEY=VALUE list) it uses. */
export function environmentOf(service: ComposeService): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((entry) => {
        const separator = entry.indexOf('=');
        return separator < 0 ? [entry, ''] : [entry.slice(0, separator), entry.slice(separator + 1)];
      })
    : Object.entries(service.environment ?? {}).map(([key, value]) => [key, value === null ? '' : String(value)]);
  return Object.fromEntries(entries);
}

/** The Dockerfile a service is built from, resolved like Compose does (context relative to the compose file). */
export function buildOf(service: ComposeService): { context: string; dockerfile: string } | undefined {
  if (service.build === undefined) return undefined;
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  const context = resolve(DOCKER_DIR, build.context ?? '.');
  return { context, dockerfile: resolve(context, build.dockerfile ?? 'Dockerfile') };
}
