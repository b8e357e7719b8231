import { RehearsalError, tail } from './errors.js';
import { EXPECTED_MOTO_SKIPS, EXPECTED_UNPROVEN } from './plan.js';

/** The resource types moto said it has no CloudFormation support for, sorted, each once. */
export function skippedTypes(motoOutput: string): string[] {
  const found = [...motoOutput.matchAll(/No Moto CloudFormation support for (\S+)/g)].flatMap(
    (match) => (match[1] === undefined ? [] : [match[1]]),
  );
  return [...new Set(found)].sort();
}

// werkzeug's line per answered request, e.g. `127.0.0.1 - - [01/Dec/2026 11:24:51] "POST /
// HTTP/1.1" 200 -`, and its banner: what is left (errors, warnings, tracebacks) explains.
const NOISE = [
  /^\S+ - - \[[^\]]+\] "[^"]*" [23]\d\d /,
  /^WARNING: This is a development server/,
  /^ \* Running on /,
  /^Press CTRL\+C to quit/,
];

/** The last `lines` lines of moto's output that are not its request log or banner. */
export function motoTail(motoOutput: string, lines: number): string {
  return tail(
    motoOutput
      .split('\n')
      .filter((line) => !NOISE.some((noise) => noise.test(line)))
      .join('\n'),
    lines,
  );
}

/**
 * Compares what moto skipped (resource types) and did not apply (settings) with what the
 * rehearsal expects, and throws one sentence for the first difference: something new that
 * moto cannot do, or something moto has learnt, which the rehearsal can now check.
 */
export function compareGaps(skipped: readonly string[], unproven: readonly string[]): void {
  compareList(skipped, EXPECTED_MOTO_SKIPS, {
    unexpected: (types) =>
      `moto skipped ${types.join(', ')}, which EXPECTED_MOTO_SKIPS does not list: the stack gained a resource moto cannot create (or moto lost support); list it in scripts/rehearsal/plan.ts and in README's checklist of what the rehearsal cannot prove`,
    missing: (types) =>
      `moto now creates ${types.join(', ')}: check it in the rehearsal, and strike it from EXPECTED_MOTO_SKIPS (scripts/rehearsal/plan.ts) and README's checklist`,
  });
  compareList(unproven, EXPECTED_UNPROVEN, {
    unexpected: (settings) =>
      `moto did not apply ${settings.join(', ')}, which EXPECTED_UNPROVEN does not list: the deploy no longer sets it, or moto lost support`,
    missing: (settings) =>
      `moto now applies ${settings.join(', ')}: make it a check, and strike it from EXPECTED_UNPROVEN (scripts/rehearsal/plan.ts) and README's checklist`,
  });
}

function compareList(
  found: readonly string[],
  expected: readonly string[],
  say: { unexpected: (extra: string[]) => string; missing: (gone: string[]) => string },
): void {
  const extra = found.filter((each) => !expected.includes(each));
  if (extra.length > 0) throw new RehearsalError(say.unexpected(extra));
  const gone = expected.filter((each) => !found.includes(each));
  if (gone.length > 0) throw new RehearsalError(say.missing(gone));
}
