import type { RobotFormat } from '../endpoints.js';
import type { Payload, RobotDialect } from './dialect.js';
import { dingtalk } from './dingtalk.js';
import { feishu } from './feishu.js';
import type { Lead } from './lead.js';
import { wecom } from './wecom.js';

export const DIALECTS: Readonly<Record<RobotFormat, RobotDialect>> = { wecom, feishu, dingtalk };

/** One message to send, and the submissions it tells of. */
export interface Composed {
  readonly payload: Payload;
  readonly leads: readonly Lead[];
  readonly digest: boolean;
}

/**
 * The message for one submission: every answer that fits within the robot's size limit, in
 * order, and a note saying how many were cut. Who, which form, where and when are never cut.
 */
export function composeSingle(dialect: RobotDialect, lead: Lead): Composed {
  // Fitting is monotone in the number of answers shown: binary search the largest that fits.
  let [low, high] = [0, lead.answers.length];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (dialect.fits(dialect.single(lead, mid))) low = mid;
    else high = mid - 1;
  }
  return { payload: dialect.single(lead, low), leads: [lead], digest: false };
}

/**
 * Messages for more submissions than the robot may be told of one by one: at most
 * `maxMessages`, each a digest of as many one-line entries as fit its size limit (a lone
 * submission keeps its single form). What does not fit waits in `rest`.
 */
export function composeDigests(
  dialect: RobotDialect,
  leads: readonly Lead[],
  maxMessages: number,
): { messages: Composed[]; rest: Lead[] } {
  const messages: Composed[] = [];
  let index = 0;
  while (index < leads.length && messages.length < maxMessages) {
    const group: Lead[] = [];
    while (index < leads.length) {
      const next = leads[index];
      if (next === undefined) break;
      if (group.length > 0 && !dialect.fits(dialect.digest([...group, next]))) break;
      group.push(next);
      index += 1;
    }
    const [only] = group;
    messages.push(
      group.length === 1 && only !== undefined
        ? composeSingle(dialect, only)
        : { payload: dialect.digest(group), leads: group, digest: true },
    );
  }
  return { messages, rest: leads.slice(index) };
}

/**
 * Plans a batch for a robot that may be told `free` messages now: one message per submission
 * while they fit in `free`, digests when there are more.
 */
export function planMessages(
  dialect: RobotDialect,
  leads: readonly Lead[],
  free: number,
): { messages: Composed[]; rest: Lead[] } {
  if (free <= 0) return { messages: [], rest: [...leads] };
  if (leads.length <= free) {
    return { messages: leads.map((lead) => composeSingle(dialect, lead)), rest: [] };
  }
  return composeDigests(dialect, leads, free);
}
