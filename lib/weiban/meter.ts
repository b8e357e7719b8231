import type { WeibanCounts } from '../model.js';

/** What one answer was, for metrics. */
export interface CallOutcome {
  readonly endpoint: string;
  /** The errcode Weiban sent, or the failure kind when there was no JSON answer. */
  readonly result: number | 'transport' | 'malformed';
  readonly ms: number;
  /** The form the call was for, when it was for one. */
  readonly formId?: number;
}

/** Counts Weiban answers during a run, to report them once at its end. */
export class WeibanMeter {
  readonly #calls = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  readonly #errorsByForm = new Map<number, number>();

  readonly observe = (outcome: CallOutcome): void => {
    bump(this.#calls, outcome.endpoint);
    if (outcome.result === 0) return;
    bump(this.#errors, String(outcome.result));
    if (outcome.formId !== undefined) bump(this.#errorsByForm, outcome.formId);
  };

  /** Takes the counts so far and starts again from zero. */
  drain(): Omit<WeibanCounts, 'blockLevel'> {
    const out = {
      calls: new Map(this.#calls),
      errors: new Map(this.#errors),
      errorsByForm: new Map(this.#errorsByForm),
    };
    this.#calls.clear();
    this.#errors.clear();
    this.#errorsByForm.clear();
    return out;
  }
}

function bump<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
