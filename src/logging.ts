// Structured logs (pino) for our code and, through an adapter, for the Temporal SDK's own messages.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

export type { Logger };

/** Headers that carry credentials: wherever a log line holds them (top level or one object down), pino redacts them. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];
export const REDACTED_PATHS = CREDENTIAL_HEADERS.flatMap((header) => [
  `headers["${header}"]`,
  `*.headers["${header}"]`,
]);

/** Every process's logger; `destination` (default stdout) lets a test read what was logged. */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[Redacted]' } }, destination);
}

const temporalToPino: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function temporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) =>
    logger[temporalToPino[level]](meta ?? {}, message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
