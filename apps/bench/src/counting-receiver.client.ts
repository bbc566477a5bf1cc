// The parent's side of `counting-receiver.ts`: starts it as a child process and reads its counts. Shared constants
// and types live here (the receiver's module starts a server when loaded).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@nest-redis-otel/testing';

/** One OTLP request in this many is decoded (its CPU is reported apart, `decodeCpuUs`). */
export const SAMPLE_EVERY = 10;
export const OTLP_GRPC_TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const OTLP_HTTP_TRACES = '/v1/traces';
export const OBSERVE_TELEMETRY = '/applications/telemetry';

export interface PathCount {
  requests: number;
  bytes: number;
  /** Requests decoded (one in SAMPLE_EVERY, and the first). */
  sampled: number;
  /** OTLP: spans in the decoded requests; Observe: traces (request snapshots plus jobs). */
  sampledItems: number;
  /** Observe: span nodes in the decoded requests' trace trees. */
  sampledSpans: number;
  /** Requests whose sampled decode failed (or, for OTLP, held no resourceSpans). */
  malformed: number;
}

export interface ReceiverStats {
  paths: Record<string, PathCount>;
  /** The receiver process's own `process.cpuUsage()`, µs. */
  cpu: { user: number; system: number };
  /** µs of that CPU spent decoding samples (or everything in decode-all mode): not a collector's cost. */
  decodeCpuUs: number;
}

/** What decode-all mode keeps of each span: enough for "accepted → handler". */
export interface SpanRecord {
  service: string;
  kind: number;
  name: string;
  traceId: string;
  startNs: string;
}

export interface CountingReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (gRPC). */
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:<port>`: OTLP/HTTP at `/v1/traces`, Observe's endpoint, the control paths. */
  readonly httpUrl: string;
  readonly pid: number;
  stats(): Promise<ReceiverStats>;
  setDecodeAll(on: boolean): Promise<void>;
  spans(): Promise<SpanRecord[]>;
  clearSpans(): Promise<void>;
  stop(): Promise<void>;
}

/** Reads the receiver's counts (an HTTP GET to its control path; usable from any process that knows the URL). */
export async function readReceiverStats(httpUrl: string): Promise<ReceiverStats> {
  const response = await fetch(`${httpUrl}/_bench/stats`);
  return (await response.json()) as ReceiverStats;
}

export async function startCountingReceiver(): Promise<CountingReceiver> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'counting-receiver.ts')], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: 'apps/bench/tsconfig.app.json' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { grpcPort, httpPort } = await new Promise<{ grpcPort: number; httpPort: number }>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((text) => text.startsWith('{"grpcPort"'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`the counting receiver exited (${code}): ${output}`)));
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const post = (path: string) => fetch(`${httpUrl}${path}`, { method: 'POST' }).then((response) => response.arrayBuffer());
  return {
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    httpUrl,
    pid: child.pid ?? 0,
    stats: () => readReceiverStats(httpUrl),
    setDecodeAll: async (on) => void (await post(`/_bench/decode-all?on=${on ? 1 : 0}`)),
    spans: async () => (await (await fetch(`${httpUrl}/_bench/spans`)).json()) as SpanRecord[],
    clearSpans: async () => void (await post('/_bench/clear-spans')),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/** `after − before` per path (counts only grow). */
export function pathDelta(before: ReceiverStats, after: ReceiverStats): Record<string, PathCount> {
  const delta: Record<string, PathCount> = {};
  for (const [path, count] of Object.entries(after.paths)) {
    const earlier = before.paths[path];
    delta[path] = Object.fromEntries(
      Object.entries(count).map(([key, value]) => [key, value - (earlier?.[key as keyof PathCount] ?? 0)]),
    ) as unknown as PathCount;
  }
  return delta;
}

/** µs of CPU the receiver spent between two readings, less what it spent decoding (a counting collector's cost). */
export const receiverCpuDelta = (before: ReceiverStats, after: ReceiverStats) =>
  after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system - (after.decodeCpuUs - before.decodeCpuUs);
