import type { Log } from '../lib/ports.js';
import type { Output } from './io.js';

/**
 * The service's log for a person at a terminal: debug and info stay silent, warnings and
 * errors are one short line each, never JSON (npm start and the CLI).
 */
export function briefLog(out: Output): Log {
  const line =
    (level: string) =>
    (message: string, ...extra: unknown[]): void => {
      const detail = describeExtra(extra);
      out.write(`${level}: ${message}${detail === '' ? '' : ` (${detail})`}\n`);
    };
  const quiet = (): void => undefined;
  return { debug: quiet, info: quiet, warn: line('warning'), error: line('error') };
}

function describeExtra(extra: readonly unknown[]): string {
  const parts: string[] = [];
  let error = '';
  for (const item of extra) {
    if (typeof item !== 'object' || item === null) continue;
    for (const [key, value] of Object.entries(item)) {
      if (key === 'error') error = describeError(value);
      else if (typeof value === 'number' || typeof value === 'string')
        parts.push(`${key} ${value}`);
    }
  }
  return [parts.join(', '), error].filter((part) => part !== '').join(': ');
}

function describeError(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'message' in value) {
    const name = 'name' in value && typeof value.name === 'string' ? `${value.name}: ` : '';
    return `${name}${String(value.message)}`;
  }
  return '';
}
