import type { FormList, FormState } from '../model.js';

/**
 * Which forms a pass polls, and in what order: the one polled longest ago first, so that when
 * Weiban's budget cannot cover every form in one pass, the next pass starts with the ones left
 * out, and every form is polled at least once every ⌈forms ÷ forms per pass⌉ passes
 * (docs/guarantees.md#g10). Kept for the life of the process; a fresh process orders by what
 * the table says (the last successful poll), never-polled forms first.
 */
export class PollSchedule {
  /** form id → when this process last polled it, or when the table says it was (epoch ms). */
  readonly #polledAt = new Map<number, number>();
  /** form id → the last cursor seen, for the lag of forms a pass did not reach. */
  readonly #cursor = new Map<number, number>();
  #list: FormList | undefined;
  #learned = false;

  /** The form list as last read, if any. */
  get list(): FormList | undefined {
    return this.#list;
  }

  set list(list: FormList | undefined) {
    this.#list = list;
  }

  /** True until the process has seen every form's state once (its first pass). */
  get needsStates(): boolean {
    return !this.#learned;
  }

  /** Takes in the table's view of each form: when it was last polled, and its cursor. */
  learn(states: ReadonlyMap<number, FormState>): void {
    for (const [formId, state] of states) {
      this.#cursor.set(formId, state.cursor);
      if (!this.#polledAt.has(formId)) this.#polledAt.set(formId, state.lastOkAt ?? 0);
    }
    this.#learned = true;
  }

  /** `formIds` in the order to poll them: longest since polled first, never polled before all. */
  order(formIds: readonly number[]): number[] {
    return [...formIds].sort(
      (a, b) => (this.#polledAt.get(a) ?? -1) - (this.#polledAt.get(b) ?? -1) || a - b,
    );
  }

  /** A pass got to the form (whatever the outcome) at `at`. */
  polled(formId: number, at: number, cursor: number | null): void {
    this.#polledAt.set(formId, at);
    if (cursor !== null) this.#cursor.set(formId, cursor);
  }

  /** The last cursor seen for the form, if any. */
  cursorOf(formId: number): number | null {
    return this.#cursor.get(formId) ?? null;
  }
}
