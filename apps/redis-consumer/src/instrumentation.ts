// Loaded with `node --import` before main.js, so that the SDK patches modules before the app loads them.
import { startTracing } from '@nest-redis-otel/sdk';

startTracing({ serviceName: 'redis-consumer' });
