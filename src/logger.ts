// A minimal leveled logger. The broker takes one in its options so an embedding test suite
// can silence or capture it; nothing logs through a process-global. The level can change at
// run time (the BROKER_LOGGER config resource, `kafka-configs --entity-type broker-loggers`).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** The current level, where the logger has one (a caller's own logger may not). */
  readonly level?: LogLevel;
  /** Changes the level at run time, where the logger allows it. */
  setLevel?(level: LogLevel): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  let threshold = ORDER[level];
  let current = level;
  const emit = (at: LogLevel) => (message: string) => {
    if (ORDER[at] >= threshold) write(`${new Date().toISOString()} ${at.toUpperCase()} ${message}`);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    get level() {
      return current;
    },
    setLevel(next: LogLevel) {
      current = next;
      threshold = ORDER[next];
    },
  };
}
