/** Structured logs (pino, JSON lines on stdout). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level: string = 'info', extra: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service, pid: process.pid, ...extra } });
}
