import { isDeepStrictEqual } from 'node:util';

/** Some output that explains a failure: osls's, moto's, the function's. */
export interface OutputTail {
  readonly label: string;
  readonly text: string;
}

/**
 * A rehearsal step that failed. The message is one sentence saying what; `tails` carry the
 * end of the output that says why.
 */
export class RehearsalError extends Error {
  override readonly name = 'RehearsalError';
  readonly tails: OutputTail[];

  constructor(
    message: string,
    { tails = [], cause }: { tails?: OutputTail[]; cause?: unknown } = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.tails = tails;
  }
}

/** Fails the rehearsal with `sentence` unless `condition` holds. */
export function check(condition: boolean, sentence: string): asserts condition {
  if (!condition) throw new RehearsalError(sentence);
}

/** Fails unless `actual` deep-equals `expected`, naming both. */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new RehearsalError(`${what} is ${show(actual)}, expected ${show(expected)}`);
  }
}

// JSON.stringify(undefined) is undefined, whatever its type says.
const show = (value: unknown): string =>
  value === undefined ? 'undefined' : JSON.stringify(value);

/** The last `lines` non-empty lines of `text`. */
export function tail(text: string, lines: number): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}
