import { parseInstant } from '../lib/config.js';
import { toUnixSeconds } from '../lib/clock.js';
import { UsageError } from './errors.js';

/** A form id flag, e.g. `--form 842`. */
export function formIdFlag(raw: string | undefined, flag = '--form'): number {
  if (raw === undefined) throw new UsageError(`${flag} is required: the Weiban form id, e.g. 842`);
  const value = raw.trim();
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(id) || id <= 0) {
    throw new UsageError(`${flag} must be a form id such as 842; got "${raw}"`);
  }
  return id;
}

/** A time flag: unix seconds, an ISO-8601 date (as START_FROM takes them), or `now`. */
export function instantFlag(raw: string, flag: string, nowMs: number): number {
  if (raw.trim().toLowerCase() === 'now') return toUnixSeconds(nowMs);
  const at = parseInstant(raw);
  if (at === undefined) {
    throw new UsageError(
      `${flag} must be unix seconds, an ISO-8601 date such as 2026-11-01T00:00:00+08:00, or "now"; got "${raw}"`,
    );
  }
  return at;
}

/** A whole-number flag within [min, max], or `fallback` when absent. */
export function integerFlag(
  raw: string | undefined,
  flag: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}; got "${raw}"`);
  }
  return value;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A length of time such as `90m`, `24h` or `7d` (or `0`), in ms; `fallbackMs` when absent. */
export function durationFlag(
  raw: string | undefined,
  flag: string,
  { fallbackMs, maxMs }: { fallbackMs: number; maxMs: number },
): number {
  if (raw === undefined) return fallbackMs;
  const match = /^(\d+)([smhd])?$/.exec(raw.trim());
  const amount = Number(match?.[1]);
  const unit = match?.[2];
  const ms =
    match === null || (unit === undefined && amount !== 0)
      ? NaN
      : amount * (UNIT_MS[unit ?? 's'] ?? NaN);
  if (!Number.isFinite(ms) || ms > maxMs) {
    throw new UsageError(
      `${flag} must be a length of time such as 90m, 24h or 7d, at most ${maxMs / 86_400_000}d; got "${raw}"`,
    );
  }
  return ms;
}
