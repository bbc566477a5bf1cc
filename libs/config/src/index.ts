export { envChoice, envInteger, envRedisUrl, type Environment } from './lib/environment';
