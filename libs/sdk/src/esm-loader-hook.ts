import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

interface SyncHooks {
  supportsSyncHooks(): boolean;
  register(): void;
}

/**
 * Lets the instrumentations see modules loaded through the ESM loader (Nest 12 is ESM and loads ioredis with
 * `import()`; `require` hooks never see those). Where Node can run it, import-in-the-middle's in-thread loader
 * (`module.registerHooks`, Node ≥ 22.22.3 / 24.11.1 / 26); elsewhere OpenTelemetry's off-thread loader through
 * `module.register`, which Node 26 deprecates (DEP0205, a warning on stderr at every start). Both feed the same
 * import-in-the-middle instance that the instrumentations register their hooks with.
 */
export function registerEsmLoaderHook(): 'sync' | 'async' {
  const load = createRequire(__filename);
  const syncHooks = load('import-in-the-middle/register-hooks.mjs') as SyncHooks;
  if (syncHooks.supportsSyncHooks()) {
    syncHooks.register();
    return 'sync';
  }
  register('@opentelemetry/instrumentation/hook.mjs', pathToFileURL(`${process.cwd()}/`));
  return 'async';
}
