import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';
import type { AppSteps, InstallStep } from './guide-steps';

const run = promisify(execFile);

/** The packages this repository publishes, packed from their folders (after their builds). */
export const OUR_PACKAGES = {
  '@nest-redis-otel/tracing': 'libs/tracing',
  '@nest-redis-otel/sdk': 'libs/sdk',
  '@nest-redis-otel/streams-transport': 'libs/streams-transport',
} as const;
type OurPackage = keyof typeof OUR_PACKAGES;

/** npm and npx of the Node running this test come first on the PATH of every command. */
const COMMAND_ENV = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` };

async function command(file: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: COMMAND_ENV, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${failed.stdout ?? ''}\n${failed.stderr ?? failed.message}`);
  }
}

/** `npm pack`s our packages into `folder`: name → tarball path. */
export async function packOurPackages(folder: string): Promise<Record<OurPackage, string>> {
  const tarballs = {} as Record<OurPackage, string>;
  for (const [name, path] of Object.entries(OUR_PACKAGES) as [OurPackage, string][]) {
    const [packed] = JSON.parse(await command('npm', ['pack', '--json', '--pack-destination', folder], join(WORKSPACE_ROOT, path))) as {
      filename: string;
    }[];
    tarballs[name] = join(folder, packed.filename);
  }
  return tarballs;
}

/** The version the workspace's lockfile holds for `name` (so that npm's cache already has it), if any. */
function lockedVersion(name: string): string | undefined {
  const lock = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  return lock.packages[`node_modules/${name}`]?.version;
}

/**
 * The specs an app's `package.json` gets for the names of its install step: our tarballs, `pinned` where given, else
 * the workspace's locked versions. A name with neither is an error (the guide names a package the test cannot pin).
 */
export function resolveSpecs(names: readonly string[], tarballs: Record<OurPackage, string>, pinned: Record<string, string>) {
  return Object.fromEntries(
    names.map((name) => {
      const spec = (name in tarballs ? `file:${tarballs[name as OurPackage]}` : undefined) ?? pinned[name] ?? lockedVersion(name);
      if (spec === undefined) throw new Error(`No version for ${name}: not ours, not pinned by the test, not in package-lock.json`);
      return [name, spec];
    }),
  );
}

export interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export function manifestOf(install: InstallStep, tarballs: Record<OurPackage, string>, pinned: Record<string, string>): Manifest {
  return {
    dependencies: resolveSpecs(install.dependencies, tarballs, pinned),
    devDependencies: resolveSpecs(install.devDependencies, tarballs, pinned),
  };
}

/** One `npm install` of `manifest` in `folder`; the apps with the same manifest share its node_modules. */
export async function installOnce(folder: string, manifest: Manifest): Promise<string> {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'install', private: true, ...manifest }, null, 2));
  await command('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], folder);
  return join(folder, 'node_modules');
}

/**
 * Writes a fresh app: its own package.json (`type` commonjs or module, the manifest), the guide's files, and
 * `nodeModules` (an install of the same manifest) linked in; then runs the guide's build command in it.
 */
export async function createApp(
  folder: string,
  { name, type, manifest, steps, nodeModules }: { name: string; type: 'commonjs' | 'module'; manifest: Manifest; steps: AppSteps; nodeModules: string },
): Promise<void> {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, private: true, type, ...manifest }, null, 2));
  for (const [path, content] of steps.files) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  symlinkSync(nodeModules, join(folder, 'node_modules'), 'dir');
  const [file, ...args] = steps.build;
  await command(file, args, folder);
}
