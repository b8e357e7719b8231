import { seededRandom } from './simulator/random.js';

/** One submitter for the simulator: the form, and its submit_at when not "now". */
export interface Arrival {
  readonly formId: number;
  readonly submitAt?: number;
}

export interface ArrivalPlanOptions {
  readonly seed: number;
  /** How far back the history reaches before `npm start`'s START_FROM (and after it). */
  readonly historySeconds: number;
  /** Submitters per form in the history, half before START_FROM and half after. */
  readonly perForm: number;
}

/**
 * The local runner's submitters, drawn from one seed so that a run can be repeated exactly.
 * Random-looking times, with a fixed shape: the history spreads each form's submitters over
 * equal slices of time, so every form has exactly half of them after START_FROM and its first
 * run always shows events.
 */
export class ArrivalPlan {
  readonly seed: number;
  readonly #random: () => number;
  readonly #o: ArrivalPlanOptions;

  constructor(options: ArrivalPlanOptions) {
    if (options.perForm < 2 || options.perForm % 2 !== 0) {
      throw new RangeError('perForm must be an even number of at least 2');
    }
    this.#o = options;
    this.seed = options.seed;
    this.#random = seededRandom(options.seed);
  }

  /** Submitters already there at `nowS`, START_FROM being `nowS − historySeconds`. */
  history(formIds: readonly number[], nowS: number): Required<Arrival>[] {
    const { historySeconds, perForm } = this.#o;
    const slice = (2 * historySeconds) / perForm;
    return formIds.flatMap((formId) =>
      Array.from({ length: perForm }, (_, i) => ({
        formId,
        // Slice i is (i·slice, (i+1)·slice] seconds ago: never on START_FROM itself.
        submitAt: nowS - Math.floor(i * slice) - 1 - Math.floor(this.#random() * (slice - 1)),
      })),
    );
  }

  /** The next submitter: any form, now, or now and then a late one from the last few minutes. */
  next(formIds: readonly number[], nowS: number): Arrival | undefined {
    const formId = formIds[Math.floor(this.#random() * formIds.length)];
    if (formId === undefined) return undefined;
    const late = this.#random() < 0.15;
    return late ? { formId, submitAt: nowS - 120 - Math.floor(this.#random() * 240) } : { formId };
  }
}
