import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export const delay = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** One timed HTTP call: status (0 when the connection failed) and milliseconds. */
export async function timedFetch(url: string, init: RequestInit = {}, timeoutMs = 15_000): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
}

export function postItem(baseUrl: string, name: string): Promise<Response> {
  return fetch(`${baseUrl}/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, price: 1 }),
  });
}

/** Polls until `check` holds (every `everyMs`), or gives up after `timeoutMs`; resolves with the time it took. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return performance.now() - started;
    await delay(everyMs);
  }
  return undefined;
}

/** Whether redis-consumer stored the item `id`. */
export async function isStored(redis: Redis, id: string): Promise<boolean> {
  return (await redis.exists(`item:${id}`)) === 1;
}

/** Resident set size of a process, in MiB (Linux). */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'));
  return line ? Number(line.replace(/\D+/g, '')) / 1024 : Number.NaN;
}

/** PUBLISH commands Redis executed since its statistics were last reset: what items-api handed over. */
export async function publishCount(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(stats.match(/cmdstat_publish:calls=(\d+)/)?.[1] ?? 0);
}

/**
 * `rate` POST /api/items (`name`) per second for `seconds`, paced in 10 ms slices, at most 500 in flight: the ids of the
 * items accepted (202), and how many requests were refused (503 while Redis restarts) or failed.
 */
export async function postAtRate(baseUrl: string, rate: number, seconds: number, name: string): Promise<{ accepted: string[]; refused: number }> {
  const accepted: string[] = [];
  let refused = 0;
  let inFlight = 0;
  const post = async () => {
    inFlight++;
    try {
      const response = await fetch(`${baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, price: 1 }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 202) accepted.push(((await response.json()) as { id: string }).id);
      else {
        refused++;
        await response.arrayBuffer();
      }
    } catch {
      refused++;
    } finally {
      inFlight--;
    }
  };
  const started = performance.now();
  const pending: Promise<void>[] = [];
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due && inFlight < 500) {
      pending.push(post());
      sent++;
    }
    await delay(10);
  }
  await Promise.all(pending);
  return { accepted, refused };
}

/** Dead letters per kind: redis-consumer's list (pubsub), or the Streams dead-letter stream. */
export async function deadLettersByKind(redis: Redis, transport: 'pubsub' | 'streams'): Promise<Map<string, number>> {
  const kinds =
    transport === 'pubsub'
      ? (await redis.lrange('redis-consumer:dead-letters', 0, -1)).map((letter) => (JSON.parse(letter) as { kind?: string }).kind)
      : (await redis.xrange('stream:dead-letters', '-', '+')).map(([, fields]) => fields[fields.indexOf('kind') + 1]);
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind ?? '?', (counts.get(kind ?? '?') ?? 0) + 1);
  return counts;
}
