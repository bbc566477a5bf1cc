// Test-only wiring of @nestjs/observe into the built apps (the bench's HTTP peer rows), loaded with
// `NODE_OPTIONS=--require <this file>` while the apps run with OTEL_SDK_DISABLED=true: every NestFactory call adds
// `ObserveModule.forRoot(options)` to the root module's imports and passes `instrument: ObserveInstrument`, as the
// agent's README has an app do by hand. BENCH_OBSERVE=defaults|all picks the options; OBSERVE_ENDPOINT (read by the
// agent) is where it ships. Plain CommonJS: the apps run compiled JavaScript, with no TypeScript loader.
// Keep the options in step with observe-options.ts (the messaging rows').
'use strict';
const { NestFactory } = require('@nestjs/core');
const { createObserveModule } = require('@nestjs/observe');

const mode = process.env.BENCH_OBSERVE;
const options = {
  appKey: 'bench',
  appSecret: 'bench',
  serviceId: process.env.BENCH_OBSERVE_SERVICE || `bench-${process.pid}`,
  ...(mode === 'all' && { maxTracesPerBatch: 1_000_000, flushInterval: 1000 }),
};
const { ObserveModule, ObserveInstrument } = createObserveModule();

const withObserve = (module) =>
  module && typeof module === 'object' && 'module' in module
    ? { ...module, imports: [...(module.imports ?? []), ObserveModule.forRoot(options)] }
    : { module, imports: [ObserveModule.forRoot(options)] };

for (const name of ['create', 'createMicroservice']) {
  const original = NestFactory[name].bind(NestFactory);
  NestFactory[name] = (module, ...rest) => {
    // create(module, options?) or create(module, httpAdapter, options?); createMicroservice(module, options?).
    const adapterFirst = name === 'create' && rest[0] && typeof rest[0].getInstance === 'function';
    const at = adapterFirst ? 1 : 0;
    const args = [...rest];
    args[at] = { ...(args[at] ?? {}), instrument: ObserveInstrument };
    return original(withObserve(module), ...args);
  };
}
