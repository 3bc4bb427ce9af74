// A minimal leveled logger. The broker takes one in its options so an embedding test suite
// can silence or capture it; nothing logs through a process-global.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const threshold = ORDER[level];
  const emit = (at: LogLevel) => (message: string) => {
    if (ORDER[at] >= threshold) write(`${new Date().toISOString()} ${at.toUpperCase()} ${message}`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
