import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';

export const GUIDE_PATH = join(WORKSPACE_ROOT, 'docs', 'guide.md');

export type AppKind = 'producer' | 'consumer';
/** Which SDK start-up a consumer uses: our bootstrap (`@nest-redis-otel/sdk`) or its own NodeSDK. */
export type SdkChoice = 'ours' | 'own';

/** The packages an app installs: `npm i` (dependencies) and `npm i -D` (devDependencies), names only. */
export interface InstallStep {
  dependencies: string[];
  devDependencies: string[];
}

/** The steps of docs/guide.md for one app, as the blocks tagged `file=`, `install=`, `build` and `run=` give them. */
export interface AppSteps {
  install: InstallStep;
  /** Path inside the app → content. */
  files: Map<string, string>;
  build: string[];
  run: string[];
}

interface Block {
  tags: Map<string, string | true>;
  body: string;
}

function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  for (const match of markdown.matchAll(/^```\w+ ([^\n]+)\n([\s\S]*?)^```$/gm)) {
    const tags = new Map<string, string | true>();
    for (const word of match[1].trim().split(/\s+/)) {
      const [key, value] = word.split('=', 2);
      tags.set(key, value ?? true);
    }
    blocks.push({ tags, body: match[2] });
  }
  return blocks;
}

/** A block tagged `sdk=` is for the apps that start that SDK only. */
function isFor(block: Block, sdk: SdkChoice): boolean {
  const sdkTag = block.tags.get('sdk');
  return sdkTag === undefined || sdkTag === sdk;
}

function commandOf(block: Block): string[] {
  const lines = block.body.trim().split('\n');
  if (lines.length !== 1) throw new Error(`docs/guide.md: a build/run block holds one command, got:\n${block.body}`);
  return lines[0].split(/\s+/);
}

function installOf(block: Block): InstallStep {
  const step: InstallStep = { dependencies: [], devDependencies: [] };
  for (const line of block.body.trim().split('\n')) {
    const [npm, install, ...names] = line.trim().split(/\s+/);
    if (npm !== 'npm' || install !== 'i') throw new Error(`docs/guide.md: an install block holds npm i lines, got: ${line}`);
    if (names[0] === '-D') step.devDependencies.push(...names.slice(1));
    else step.dependencies.push(...names);
  }
  return step;
}

function only<T>(found: T[], what: string): T {
  if (found.length !== 1) throw new Error(`docs/guide.md: expected one ${what}, found ${found.length}`);
  return found[0];
}

/** Reads the steps of `app` (with `sdk` for a consumer) from the guide; throws if the guide lacks one. */
export function guideSteps(app: AppKind, sdk: SdkChoice, markdown = readFileSync(GUIDE_PATH, 'utf8')): AppSteps {
  const blocks = blocksOf(markdown).filter((block) => isFor(block, sdk));
  const files = new Map<string, string>();
  for (const block of blocks) {
    const file = block.tags.get('file');
    if (typeof file !== 'string') continue;
    // `tsconfig.json` is for both apps; `producer/src/main.ts` for one.
    const [first, ...rest] = file.split('/');
    if (rest.length === 0) files.set(file, block.body);
    else if (first === app) files.set(rest.join('/'), block.body);
  }
  if (files.size === 0) throw new Error(`docs/guide.md: no file blocks for the ${app}`);
  return {
    install: installOf(only(blocks.filter((block) => block.tags.get('install') === app), `install=${app} block (sdk=${sdk})`)),
    files,
    build: commandOf(only(blocks.filter((block) => block.tags.has('build')), 'build block')),
    run: commandOf(only(blocks.filter((block) => block.tags.get('run') === app), `run=${app} block`)),
  };
}
