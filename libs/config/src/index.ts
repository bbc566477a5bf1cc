export { envChoice, envInteger, envLogging, envRedisUrl, type Environment } from './lib/environment';
