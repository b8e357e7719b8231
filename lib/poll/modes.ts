import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { FindingsSource, Log } from '../ports.js';
import { pollingModes, type ModeSettings, type PollingModes } from '../weiban/findings.js';

/** After a failed or unreadable read, the next pass this long after tries again. */
export const FINDINGS_RETRY_MS = 5 * 60_000;

/**
 * The polling modes the stored probe findings allow (lib/weiban/findings.ts), read from the
 * table once per process, at its first pass: a warm pass then costs no request for them, so
 * an idle pass keeps to its DynamoDB bound (docs/benchmark.md). Findings saved later reach the
 * containers that start after. Findings that cannot be read, or a read that fails, give the
 * cautious modes, and a pass FINDINGS_RETRY_MS later reads again: never a mode not proven.
 */
export class PollingModesSource {
  readonly #findings: FindingsSource;
  readonly #settings: ModeSettings;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #retryMs: number;
  #current: { modes: PollingModes; retryAt?: number } | undefined;

  constructor(options: {
    findings: FindingsSource;
    settings: ModeSettings;
    clock: Clock;
    log: Log;
    retryMs?: number;
  }) {
    this.#findings = options.findings;
    this.#settings = options.settings;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#retryMs = options.retryMs ?? FINDINGS_RETRY_MS;
  }

  /** The modes for the pass about to start. */
  async current(): Promise<PollingModes> {
    const now = this.#clock.now();
    const kept = this.#current;
    if (kept !== undefined && (kept.retryAt === undefined || now < kept.retryAt)) {
      return kept.modes;
    }
    let modes: PollingModes;
    let retryAt: number | undefined;
    try {
      modes = pollingModes(await this.#findings.load(), this.#settings);
    } catch (error: unknown) {
      modes = this.#cautious(error);
      retryAt = now + this.#retryMs;
    }
    this.#current = { modes, ...(retryAt !== undefined && { retryAt }) };
    if (kept === undefined || !sameModes(kept.modes, modes)) {
      this.#log.info('polling modes', {
        pageSize: modes.pageSize,
        exactTimeFilter: modes.exactTimeFilter,
        corpWideListing: modes.corpWideListing,
        reasons: modes.reasons,
      });
    }
    return modes;
  }

  #cautious(error: unknown): PollingModes {
    const why = `the stored probe findings could not be read (${describeError(error)})`;
    this.#log.warn('probe findings unreadable; polling in the cautious modes', {
      error: describeError(error),
    });
    const cautious = pollingModes(undefined, this.#settings);
    return {
      ...cautious,
      reasons: {
        pageSize: `PAGE_SIZE ${cautious.pageSize}: ${why}`,
        exactTimeFilter: `start_time a second early and rows filtered again: ${why}`,
        corpWideListing: `one listing per form: ${why}`,
      },
    };
  }
}

const sameModes = (a: PollingModes, b: PollingModes): boolean =>
  a.pageSize === b.pageSize &&
  a.exactTimeFilter === b.exactTimeFilter &&
  a.corpWideListing === b.corpWideListing;
