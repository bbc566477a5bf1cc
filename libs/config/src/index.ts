export { envAddresses, envChoice, envInteger, envLogging, envRedisTopology, envRedisUrl, type Environment } from './lib/environment';
