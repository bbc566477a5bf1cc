/** Severity of a line the bootstrap writes (pino's numeric levels, so that JSON lines read like the app's). */
const LEVELS = { warn: 40, error: 50 } as const;
export type BootstrapLogLevel = keyof typeof LEVELS;

/** Writes one line of the bootstrap's own (before the app's logger exists): a setting it refused, an export error. */
export type BootstrapLog = (level: BootstrapLogLevel, message: string) => void;

/**
 * The bootstrap runs before the application and its logger, but its lines land in the same stream (stdout): in the format the
 * app will log in, so that a JSON log stream stays JSON. The format is chosen the way the apps choose it: `LOG_FORMAT`
 * when it is `json` or `pretty`, else `pretty` in a terminal outside production and `json` otherwise.
 */
export function bootstrapLog(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  isTerminal = Boolean(process.stdout.isTTY),
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): BootstrapLog {
  if (bootstrapLogFormat(env, isTerminal) === 'pretty') return (level, message) => write(`${level.toUpperCase()} [${service}] ${message}`);
  return (level, message) => write(JSON.stringify({ level: LEVELS[level], time: Date.now(), service, context: 'Tracing', msg: message }));
}

/** The format the app will log in: `LOG_FORMAT` when valid, else `pretty` in a terminal outside production, else `json`. */
export function bootstrapLogFormat(env: NodeJS.ProcessEnv = process.env, isTerminal = Boolean(process.stdout.isTTY)): 'json' | 'pretty' {
  if (env['LOG_FORMAT'] === 'json' || env['LOG_FORMAT'] === 'pretty') return env['LOG_FORMAT'];
  return isTerminal && env['NODE_ENV'] !== 'production' ? 'pretty' : 'json';
}

/**
 * Node prints process warnings (deprecations, experimental features, too many listeners) as plain text on stderr,
 * through a default `warning` listener. Where the app logs JSON, they go through `log` instead, one JSON line each,
 * so that a log pipeline never meets a line it cannot parse. (Node adds that listener unless `--no-warnings`.)
 */
export function routeProcessWarnings(log: BootstrapLog): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log('warn', `${warning.name}${'code' in warning && warning.code ? ` [${String(warning.code)}]` : ''}: ${warning.message}`));
}
