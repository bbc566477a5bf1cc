import { integerOption } from './integer-option';

// ioredis's own slot function; it ships no types. Both packages build to CommonJS, where `require` is the module.
const calculateSlot = require('cluster-key-slot') as (key: string) => number;

/** Redis Cluster's hash slots. */
const SLOTS = 16384;
/** Partitions per pattern: at most this many (each is a stream and a consumer-group read of its own). */
export const MAX_PARTITIONS = 256;

/**
 * The hash tag of partition `index` of `count`: `{p<k>}` with the smallest `k` whose slot falls in the partition's
 * even share of the slot range. Redis Cluster (`redis-cli --cluster create`) gives each primary an even, contiguous
 * share of the slots, so `count` a multiple of the number of primaries puts the same number of partitions on each
 * primary. The same tag for every pattern: partition `index` of all the patterns is one slot, read with one
 * XREADGROUP; an entry's stream and its pattern's other keys for that partition may be used in one command.
 */
export function partitionTag(index: number, count: number): string {
  const from = Math.floor((index * SLOTS) / count);
  const to = Math.floor(((index + 1) * SLOTS) / count);
  for (let k = 0; ; k++) {
    const slot = calculateSlot(`{p${k}}`);
    if (slot >= from && slot < to) return `{p${k}}`;
  }
}

/**
 * The streams of `pattern`: `<prefix><pattern>` for one partition (the name it always had), else
 * `<prefix><pattern>:{p<k>}` per partition.
 */
export function partitionStreams(prefix: string, pattern: string, count: number): string[] {
  if (count <= 1) return [prefix + pattern];
  return Array.from({ length: count }, (_, index) => `${prefix}${pattern}:${partitionTag(index, count)}`);
}

/** The hash slot of a key, as Redis Cluster computes it (hash tags included). */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** Checks a partition count; throws an error naming the option. */
export function checkPartitions(count: number): number {
  return integerOption('partitions', count, 1, MAX_PARTITIONS);
}
