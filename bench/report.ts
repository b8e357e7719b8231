import type { DrainResult } from './scenarios/drain.js';
import type { IdleResult, TickCost } from './scenarios/idle.js';
import { webhookRows } from './scenarios/webhooks.js';
import { fixed, whole, type Measured, type TargetRow } from './targets.js';

export interface Machine {
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly loadAverageBefore: readonly number[];
  readonly loadAverageAfter: readonly number[];
}

export interface Results extends Measured {
  readonly date: string;
  readonly machine: Machine;
  readonly durationS: number;
  readonly targets: readonly TargetRow[];
}

export type Row = readonly string[];

/** The measurements as rows: [section, measure, value]. */
export function measurementRows(results: Results): Row[] {
  const rows: Row[] = [];
  const tick = (t: TickCost) =>
    `Weiban ${t.weibanCalls} · DynamoDB ${t.dynamoRequests} · SNS ${t.snsRequests}`;
  const idleSection = (idle: IdleResult) => {
    const section =
      idle.seenRowsPerForm > 0
        ? `idle F=${idle.forms} (+${idle.seenRowsPerForm} seen rows/form)`
        : `idle F=${idle.forms}`;
    rows.push([section, 'first tick ever (state created)', tick(idle.firstTick)]);
    rows.push([section, 'cold tick (fresh container)', tick(idle.coldTick)]);
    rows.push([
      section,
      'cold tick DynamoDB by command',
      Object.entries(idle.coldTick.dynamoByCommand)
        .map(([name, count]) => `${name.replace('Command', '')} ${count}`)
        .join(', '),
    ]);
    const warm = idle.warmTicks;
    const series = (pick: (t: TickCost) => number) => warm.map(pick).join(' ');
    rows.push([section, `warm ticks (${warm.length}): Weiban calls`, series((t) => t.weibanCalls)]);
    rows.push([section, '  DynamoDB requests', series((t) => t.dynamoRequests)]);
    rows.push([section, '    form state and list', series((t) => t.dynamoByPart.forms ?? 0)]);
    rows.push([section, "    the corp budget's item", series((t) => t.dynamoByPart.budget ?? 0)]);
    rows.push([section, '  SNS requests', series((t) => t.snsRequests)]);
    const worst = warm.reduce<TickCost | undefined>(
      (found, t) => (found === undefined || t.dynamoRequests > found.dynamoRequests ? t : found),
      undefined,
    );
    if (worst !== undefined) {
      rows.push([
        section,
        '  DynamoDB by command, costliest warm tick',
        Object.entries(worst.dynamoByCommand)
          .map(([name, count]) => `${name.replace('Command', '')} ${count}`)
          .join(', '),
      ]);
      const mean = (pick: (t: TickCost) => number) =>
        warm.reduce((sum, t) => sum + pick(t), 0) / warm.length;
      rows.push([
        section,
        '  mean: Weiban ÷ F · DynamoDB form state and list ÷ (⌈F/100⌉+1)',
        `${fixed(mean((t) => t.weibanCalls) / idle.forms, 2)} · ${fixed(mean((t) => t.dynamoByPart.forms ?? 0) / (Math.ceil(idle.forms / 100) + 1), 2)}`,
      ]);
    }
  };
  for (const idle of results.idle ?? []) idleSection(idle);
  for (const idle of results.idleLookback ?? []) idleSection(idle);
  const burst = results.burst;
  if (burst !== undefined) {
    const section = `burst ${whole(burst.submitters)} over ${burst.forms} forms`;
    for (const run of [burst.full, ...burst.inMemory]) {
      const perSubmitter = (count: number) => fixed(count / burst.submitters, 4);
      rows.push([
        section,
        run.label,
        `${fixed(run.wallMs / 1000, 2)} s wall, ${whole(run.submittersPerSecond)} submitters/s, ${run.invocations} invocation(s)`,
      ]);
      rows.push([
        section,
        '  per submitter: Weiban · SNS · DynamoDB',
        `${perSubmitter(run.weibanCalls)} (1/PAGE_SIZE = ${fixed(1 / burst.pageSize, 4)}) · ${perSubmitter(run.snsRequests)} (0.1) · ${perSubmitter(run.dynamoRequests)}`,
      ]);
      rows.push([
        section,
        '  peak memory (RSS · heap used)',
        `${fixed(run.peakRssMb, 0)} MB (from ${fixed(run.baselineRssMb, 0)}) · ${fixed(run.peakHeapUsedMb, 0)} MB`,
      ]);
    }
    rows.push([
      section,
      'DynamoDB by command (handler)',
      Object.entries(burst.full.dynamoByCommand)
        .map(([name, count]) => `${name.replace('Command', '')} ${count}`)
        .join(', '),
    ]);
  }
  for (const drain of [results.drain, results.drainAtLimit]) {
    if (drain === undefined) continue;
    const section = `drain, budget ${drain.budgetPerMinute} (${drain.options.forms} forms, PAGE_SIZE ${drain.options.pageSize}, clock ×${drain.options.scale})`;
    rows.push([
      section,
      'list calls per minute (container)',
      drain.minutes
        .map((m) => `${m.listCalls}${m.container}${(m.outcomes.failed ?? 0) > 0 ? '(failed)' : ''}`)
        .join(' '),
    ]);
    rows.push([
      section,
      'achieved, minutes with backlog left',
      `${fixed(drain.achievedPerMinute, 0)}/min = ${fixed(drain.achievedPercent, 1)} % of ${drain.budgetPerMinute}`,
    ]);
    rows.push([
      section,
      'peak rolling minute: service · simulator',
      `${drain.peakRollingClient} · ${drain.peakRollingServer} (Weiban limit ${drain.weibanLimitPerMinute})`,
    ]);
    rows.push([
      section,
      'errors · max in flight',
      `10052 × ${drain.errors10052}, 10053 × ${drain.errors10053}${otherErrors(drain)} · ${drain.maxInFlight}`,
    ]);
    rows.push([
      section,
      'published · containers · wall',
      `${whole(drain.published)} · ${drain.containers} · ${fixed(drain.wallMs / 1000, 1)} s`,
    ]);
    rows.push([section, 'warnings and errors logged', String(drain.logProblems)]);
  }
  if (results.webhooks !== undefined) rows.push(...webhookRows(results.webhooks));
  const cold = results.coldStart;
  if (cold !== undefined) {
    rows.push([
      'cold start',
      'zip · bundle · source map',
      `${kb(cold.zipBytes)} · ${kb(cold.bundleBytes)} · ${kb(cold.sourceMapBytes)}`,
    ]);
    rows.push(['cold start', 'external', cold.externals.join(', ')]);
    for (const timing of cold.imports) {
      rows.push([
        'cold start',
        `require() of the bundle, ${timing.label}`,
        `${fixed(timing.requireMs, 0)} ms median (node process ${fixed(timing.processMs, 0)} ms)`,
      ]);
    }
  }
  return rows;
}

const kb = (bytes: number): string => `${whole(bytes / 1024)} KB`;

function otherErrors(drain: DrainResult): string {
  const entries = Object.entries(drain.otherErrors);
  return entries.length === 0
    ? ''
    : `, other: ${entries.map(([k, v]) => `${k} × ${v}`).join(', ')}`;
}

/** A plain-text table for the terminal. */
export function textTable(header: Row, rows: readonly Row[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: Row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    widths.map((width) => '─'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** A Markdown table; pipes in cells are escaped. */
export function markdownTable(header: Row, rows: readonly Row[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

export const targetRows = (targets: readonly TargetRow[]): Row[] =>
  targets.map((row) => [
    row.met ? 'met' : 'MISSED',
    row.kind === 'target' ? row.target : `(extra) ${row.target}`,
    row.measured,
  ]);

/** The generated part of docs/benchmark.md. */
export function markdownSection(results: Results, chartPath: string): string {
  const { machine } = results;
  const load = (values: readonly number[]) => values.map((v) => fixed(v, 1)).join(' / ');
  return [
    `- Date: ${results.date.slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${machine.cpus} × ${machine.cpuModel} (\`nproc\`, \`/proc/cpuinfo\`), ${fixed(machine.memoryGb, 0)} GB, Node ${machine.node} (\`node -v\`)`,
    `- Load average (1 / 5 / 15 min): ${load(machine.loadAverageBefore)} before, ${load(machine.loadAverageAfter)} after`,
    `- Duration: ${fixed(results.durationS, 0)} s`,
    '',
    `![Benchmark: drain rate against the budget, and each target's measured ÷ target](${chartPath})`,
    '',
    '### Targets',
    '',
    markdownTable(['status', 'target', 'measured'], targetRows(results.targets)),
    '',
    '### Measurements',
    '',
    markdownTable(['scenario', 'measure', 'value'], measurementRows(results)),
  ].join('\n');
}

// ---- SVG chart (hand-written; no dependencies) ----

const WIDTH = 1100;
const HEIGHT = 440;

/**
 * Two panels: the drain's Weiban list calls per rolling minute against the budget and
 * Weiban's limit; and every target's measured ÷ target on a log axis (≤ 1 meets it).
 */
export function chartSvg(results: Results): string {
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="20" y="24" font-size="15" font-weight="600">weiban-forms benchmark · ${escapeXml(results.date.slice(0, 10))} · ${results.machine.cpus} × ${escapeXml(results.machine.cpuModel)} · Node ${escapeXml(results.machine.node)}</text>`,
  ];
  if (results.drain !== undefined) parts.push(drainPanel(results.drain, 20, 50, 500, 340));
  parts.push(targetPanel(results.targets, 580, 50, 500, 340));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function drainPanel(drain: DrainResult, x: number, y: number, w: number, h: number): string {
  const left = x + 44;
  const top = y + 26;
  const plotW = w - 54;
  const plotH = h - 66;
  const maxSecond = Math.max(60, ...drain.timeline.map((point) => point.second));
  const maxY = 700;
  const px = (second: number) => left + (second / maxSecond) * plotW;
  const py = (value: number) => top + plotH - (value / maxY) * plotH;
  const out: string[] = [
    `<text x="${x}" y="${y + 12}" font-size="13" font-weight="600">Backlog drain: Weiban list calls in the last 60 s (virtual time)</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`,
  ];
  for (const value of [0, 100, 200, 300, 400, 500, 600, 700]) {
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${py(value)}" y2="${py(value)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${py(value) + 4}" text-anchor="end" fill="#555">${value}</text>`,
    );
  }
  drain.minutes.forEach((minute) => {
    const at = px(minute.minute * 60);
    out.push(
      `<line x1="${at}" x2="${at}" y1="${top}" y2="${top + plotH}" stroke="#bbb" stroke-dasharray="2 3"/>`,
      `<text x="${at + 3}" y="${top + plotH + 14}" fill="#555">${minute.minute * 60}s·${minute.container}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${py(drain.weibanLimitPerMinute)}" y2="${py(drain.weibanLimitPerMinute)}" stroke="#c62828" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    `<text x="${left + 6}" y="${py(drain.weibanLimitPerMinute) - 5}" fill="#c62828">Weiban limit ${drain.weibanLimitPerMinute}/min (10053 + 60 s block)</text>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${py(drain.budgetPerMinute)}" y2="${py(drain.budgetPerMinute)}" stroke="#1565c0" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    `<text x="${left + 6}" y="${py(drain.budgetPerMinute) + 15}" fill="#1565c0">WEIBAN_MAX_PER_MINUTE ${drain.budgetPerMinute}</text>`,
  );
  const points = drain.timeline
    .map((point) => `${fixed(px(point.second), 1)},${fixed(py(point.rolling), 1)}`)
    .join(' ');
  out.push(`<polyline points="${points}" fill="none" stroke="#2e7d32" stroke-width="2"/>`);
  out.push(
    `<text x="${left}" y="${top + plotH + 34}" fill="#333">${fixed(drain.achievedPercent, 1)} % of budget over ${drain.measuredMinutes} min · 10052 × ${drain.errors10052} · 10053 × ${drain.errors10053} · letters = container</text>`,
  );
  return out.join('\n');
}

function targetPanel(
  targets: readonly TargetRow[],
  x: number,
  y: number,
  w: number,
  h: number,
): string {
  const drawn = targets.filter((row) => row.ratio > 0);
  const labelW = 230;
  const left = x + labelW;
  const top = y + 26;
  const plotW = w - labelW - 10;
  const rowH = Math.min(22, (h - 60) / Math.max(1, drawn.length));
  const [low, high] = [0.1, 100];
  const px = (ratio: number) => {
    const clamped = Math.min(high, Math.max(low, ratio));
    return (
      left +
      ((Math.log10(clamped) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * plotW
    );
  };
  const plotH = rowH * drawn.length;
  const out: string[] = [
    `<text x="${x}" y="${y + 12}" font-size="13" font-weight="600">Measured ÷ target (log scale; ≤ 1 meets the target)</text>`,
  ];
  for (const tick of [0.1, 0.3, 1, 3, 10, 30, 100]) {
    out.push(
      `<line x1="${px(tick)}" x2="${px(tick)}" y1="${top}" y2="${top + plotH}" stroke="${tick === 1 ? '#333' : '#eee'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`,
      `<text x="${px(tick)}" y="${top + plotH + 14}" text-anchor="middle" fill="#555">${tick}</text>`,
    );
  }
  drawn.forEach((row, index) => {
    const rowTop = top + index * rowH;
    const end = px(row.ratio);
    const start = px(low);
    const color = row.met ? '#2e7d32' : '#c62828';
    out.push(
      `<text x="${left - 6}" y="${rowTop + rowH * 0.7}" text-anchor="end" fill="${row.kind === 'target' ? '#222' : '#777'}">${escapeXml(shortLabel(row))}</text>`,
      `<rect x="${start}" y="${rowTop + 3}" width="${Math.max(1, end - start)}" height="${rowH - 6}" fill="${color}" opacity="${row.kind === 'target' ? 0.85 : 0.45}"/>`,
      `<text x="${Math.min(end + 4, left + plotW - 30)}" y="${rowTop + rowH * 0.7}" fill="#222">${ratioText(row.ratio)}</text>`,
    );
  });
  out.push(
    `<text x="${x}" y="${top + plotH + 34}" fill="#333">green: met · red: missed · pale: extra reading, not an issue-6 target</text>`,
  );
  return out.join('\n');
}

function shortLabel(row: TargetRow): string {
  const idle = /^idle-(\d+)-(\d+)-(\w+)$/.exec(row.id);
  if (idle !== null) {
    const [, forms, seen, what] = idle;
    const extra = seen === '0' ? '' : ' +lookback rows';
    const noun = what === 'weiban' ? 'Weiban calls' : what === 'dynamo' ? 'DynamoDB' : 'SNS';
    return `idle F=${forms}${extra}: ${noun}`;
  }
  const names: Record<string, string> = {
    'burst-weiban': 'burst: Weiban calls',
    'burst-sns': 'burst: SNS per submitter',
    'burst-throughput': 'burst: submitters/s (in-memory)',
    'burst-throughput-emulators': 'burst: submitters/s (emulators)',
    drain: 'drain: share of budget',
    'drain-at-limit': 'drain at 600/min: share',
    bundle: 'bundle: zipped size',
    'webhooks-wecom-burst': 'webhooks: WeCom burst per minute',
    'webhooks-standard-verified': 'webhooks: standard verified',
  };
  return names[row.id] ?? row.id;
}

const ratioText = (ratio: number): string => fixed(ratio, ratio >= 10 ? 0 : 2);

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
