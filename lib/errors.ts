import type { ErrorInfo } from './model.js';

/** The root of the service's own errors: each subclass is one meaning, with a stable `name`. */
export class ServiceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another run holds the form's lease, so this run leaves the form alone. */
export class LeaseHeldError extends ServiceError {
  constructor(readonly formId: number) {
    super(`form ${formId} is being polled by another run`);
  }
}

/** A guarded state write found the state changed under it: another run got there first. */
export class StateConflictError extends ServiceError {
  constructor(readonly formId: number) {
    super(`form ${formId} state changed during the run; this run's update was not applied`);
  }
}

/** A record or state write that DynamoDB still refused after retries. */
export class StoreWriteError extends ServiceError {}

/**
 * Events SNS refused; they stay unrecorded so the next run publishes them again
 * (docs/guarantees.md#g1).
 */
export class PublishError extends ServiceError {
  constructor(
    readonly failedIds: readonly string[],
    detail: string,
  ) {
    super(`${failedIds.length} event(s) not published: ${detail}`);
  }
}

/**
 * A secret-free description of an error, for state, logs and the summary. The service's own
 * errors say what they mean and are already redacted; anything else is cut short.
 */
export function errorInfo(error: unknown, at: number): ErrorInfo {
  if (error instanceof ServiceError) {
    const errcode =
      'errcode' in error && typeof error.errcode === 'number' ? error.errcode : undefined;
    return {
      name: error.name,
      message: error.message,
      ...(errcode !== undefined && { errcode }),
      at,
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 500), at };
  return { name: 'Error', message: 'unknown failure', at };
}

/** `Name: message` of an error, for a log line or a reason; the message is cut short. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown failure';
  const cause =
    error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`.slice(0, 500);
}

/** True when `error` is an abort (the deadline signal fired). */
export const isAbort = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');

/**
 * Remembers every value that must never be shown (the secret, each token) and masks them in
 * text from outside, e.g. an errmsg that echoes a credential (docs/guarantees.md#g9).
 */
export class Redactor {
  readonly #values = new Set<string>();

  add(...values: readonly string[]): void {
    for (const value of values) if (value.length >= 4) this.#values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.#values) out = out.split(value).join('***');
    return out;
  }
}
