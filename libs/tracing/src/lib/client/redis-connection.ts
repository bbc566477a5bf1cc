import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * An ioredis connection that reconnects forever (ioredis's default) and logs an outage once, when it starts and when
 * it ends, instead of once per retry (ioredis prints "Unhandled error event" for every attempt without a listener).
 */
export function createRedisConnection(url: string, loggerContext: string, options: RedisOptions = {}): Redis {
  const logger = new Logger(loggerContext);
  const redis = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  let isDown = false;
  redis.on('error', (error: Error) => {
    if (!isDown) logger.error(`Redis connection failed, reconnecting: ${error.message}`);
    isDown = true;
  });
  redis.on('ready', () => {
    if (isDown) logger.log('Redis connection restored');
    isDown = false;
  });
  return redis;
}
