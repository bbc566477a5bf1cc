import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import { OutageLog } from './outage-log';

/**
 * An ioredis connection that reconnects forever (ioredis's default) and logs an outage once, when it starts and when
 * it ends, instead of once per retry (ioredis prints "Unhandled error event" for every attempt without a listener).
 */
export function createRedisConnection(url: string, loggerContext: string, options: RedisOptions = {}): Redis {
  const outage = new OutageLog(new Logger(loggerContext));
  const redis = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  redis.on('error', (error: Error) => outage.down(error.message));
  redis.on('ready', () => outage.up());
  return redis;
}
