import { bootstrapLog, routeProcessWarnings } from './bootstrap-log';

describe("bootstrapLog (the bootstrap's lines, in the app's log format)", () => {
  const linesFor = (env: NodeJS.ProcessEnv, isTerminal: boolean) => {
    const lines: string[] = [];
    bootstrapLog('items-api', env, isTerminal, (line) => lines.push(line))('warn', 'OTEL_LOG_LEVEL="loud" is invalid');
    return lines;
  };

  it('writes a JSON line shaped like pino\'s where the app logs JSON (not a terminal, or production, or LOG_FORMAT=json)', () => {
    for (const [env, isTerminal] of [[{}, false], [{ NODE_ENV: 'production' }, true], [{ LOG_FORMAT: 'json' }, true]] as const) {
      const [line, ...rest] = linesFor(env, isTerminal);
      expect(rest).toEqual([]);
      expect(JSON.parse(line)).toEqual({
        level: 40,
        time: expect.any(Number),
        service: 'items-api',
        context: 'Tracing',
        msg: 'OTEL_LOG_LEVEL="loud" is invalid',
      });
    }
  });

  it('writes plain text where the app logs pretty (a terminal outside production, or LOG_FORMAT=pretty)', () => {
    expect(linesFor({}, true)).toEqual(['WARN [items-api] OTEL_LOG_LEVEL="loud" is invalid']);
    expect(linesFor({ LOG_FORMAT: 'pretty' }, false)).toEqual(['WARN [items-api] OTEL_LOG_LEVEL="loud" is invalid']);
  });
});

describe('routeProcessWarnings', () => {
  it("writes Node's process warnings through the bootstrap's log instead of Node's plain-text printer", () => {
    const listeners = process.listeners('warning');
    const lines: string[] = [];
    try {
      routeProcessWarnings((level, message) => lines.push(`${level} ${message}`));
      // Ours is the only listener left: Node's printer (a listener too) is gone.
      const [listener, ...others] = process.listeners('warning');
      expect(others).toEqual([]);
      listener(Object.assign(new Error('something is going away'), { name: 'DeprecationWarning', code: 'DEP0999' }));
      expect(lines).toEqual(['warn DeprecationWarning [DEP0999]: something is going away']);
    } finally {
      process.removeAllListeners('warning');
      listeners.forEach((listener) => process.on('warning', listener));
    }
  });
});
