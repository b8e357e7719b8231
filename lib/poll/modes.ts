import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { FindingsSource, Log } from '../ports.js';
import { pollingModes, type ModeSettings, type PollingModes } from '../weiban/findings.js';

/**
 * How long a process keeps the findings it read before reading them again: a probe saved with
 * `--save` reaches every warm container within this time, for one GetItem per container.
 */
export const FINDINGS_REFRESH_MS = 5 * 60_000;

/**
 * The polling modes the stored probe findings allow (lib/weiban/findings.ts), read from the
 * table at most once per FINDINGS_REFRESH_MS per process. Findings that cannot be read, or a
 * read that fails, give the cautious modes until the next read: never a mode not proven.
 */
export class PollingModesSource {
  readonly #findings: FindingsSource;
  readonly #settings: ModeSettings;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #refreshMs: number;
  #current: { modes: PollingModes; readAt: number } | undefined;

  constructor(options: {
    findings: FindingsSource;
    settings: ModeSettings;
    clock: Clock;
    log: Log;
    refreshMs?: number;
  }) {
    this.#findings = options.findings;
    this.#settings = options.settings;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#refreshMs = options.refreshMs ?? FINDINGS_REFRESH_MS;
  }

  /** The modes for the pass about to start. */
  async current(): Promise<PollingModes> {
    const now = this.#clock.now();
    if (this.#current !== undefined && now - this.#current.readAt < this.#refreshMs) {
      return this.#current.modes;
    }
    const modes = await this.#read();
    const before = this.#current?.modes;
    this.#current = { modes, readAt: now };
    if (before === undefined || !sameModes(before, modes)) {
      this.#log.info('polling modes', {
        pageSize: modes.pageSize,
        exactTimeFilter: modes.exactTimeFilter,
        reasons: modes.reasons,
      });
    }
    return modes;
  }

  async #read(): Promise<PollingModes> {
    try {
      return pollingModes(await this.#findings.load(), this.#settings);
    } catch (error: unknown) {
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
}

const sameModes = (a: PollingModes, b: PollingModes): boolean =>
  a.pageSize === b.pageSize &&
  a.exactTimeFilter === b.exactTimeFilter &&
  a.corpWideListing === b.corpWideListing;
