export { ServerRedisStreams, RedisStreamsContext, redisStreamsServer } from './lib/server/server-redis-streams';
export type { ServerRedisStreamsOptions } from './lib/server/server-redis-streams';
export { ClientRedisStreams, redisStreamsClient } from './lib/client/client-redis-streams';
export type { ClientRedisStreamsOptions } from './lib/client/client-redis-streams';
export { entryFields } from './lib/stream-entry';
export * from './lib/constants';
export { partitionStreams, partitionTag, MAX_PARTITIONS } from './lib/partitions';
