// The exact @nestjs/observe options of the bench's peer rows (the endpoint comes from OBSERVE_ENDPOINT, which the
// agent reads when it is loaded). "defaults": the agent's own limits, at most `maxTracesPerBatch` (1,000) traces per
// flush, every 5 s. "all": everything shipped, a flush every second (the agent's minimum).
export type ObserveMode = 'defaults' | 'all';

export interface BenchObserveOptions {
  appKey: string;
  appSecret: string;
  serviceId: string;
  maxTracesPerBatch?: number;
  flushInterval?: number;
}

export function observeOptions(mode: string, serviceId: string): BenchObserveOptions {
  return {
    // Any non-empty pair: the counting receiver does not check them (the hosted collector would answer 401).
    appKey: 'bench',
    appSecret: 'bench',
    serviceId,
    ...(mode === 'all' && { maxTracesPerBatch: 1_000_000, flushInterval: 1000 }),
  };
}
