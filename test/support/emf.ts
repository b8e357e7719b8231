import { vi } from 'vitest';

/** One CloudWatch Embedded Metric Format document, as Powertools Metrics prints it. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

export interface EmfCapture {
  /** Every EMF document printed since the capture began, in order. */
  documents(): EmfDocument[];
  restore(): void;
}

/**
 * Captures what goes to stdout (Powertools Metrics writes there, as Lambda expects) and keeps
 * the EMF documents. Other output is passed through.
 */
export function captureEmf(): EmfCapture {
  const documents: EmfDocument[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const parsed = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(parseEmf);
    if (parsed.every((doc) => doc !== undefined) && parsed.length > 0) {
      documents.push(...parsed);
      return true;
    }
    return write(chunk);
  });
  return {
    documents: () => [...documents],
    restore: () => {
      spy.mockRestore();
    },
  };
}

function parseEmf(line: string): EmfDocument | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && '_aws' in value
      ? (value as EmfDocument)
      : undefined;
  } catch {
    return undefined; // not JSON: ordinary output
  }
}

/** The dimension names and values a document's metrics are published under. */
export function dimensionsOf(doc: EmfDocument): Record<string, string>[] {
  return (doc._aws.CloudWatchMetrics[0]?.Dimensions ?? []).map((names) =>
    Object.fromEntries(names.map((name) => [name, String(doc[name])])),
  );
}

/**
 * The one document published under exactly `dimensions` (names and values). Throws, naming
 * what was found, when there is none or more than one.
 */
export function findDocument(
  docs: readonly EmfDocument[],
  dimensions: Readonly<Record<string, string>>,
): EmfDocument {
  const wanted = JSON.stringify(sorted(dimensions));
  const matches = docs.filter((doc) =>
    dimensionsOf(doc).some((set) => JSON.stringify(sorted(set)) === wanted),
  );
  if (matches.length !== 1) {
    const seen = docs.flatMap((doc) => dimensionsOf(doc).map((set) => JSON.stringify(set)));
    throw new Error(
      `${matches.length} EMF documents under ${wanted}; published: ${seen.join(' ')}`,
    );
  }
  const [match] = matches;
  if (match === undefined) throw new Error('unreachable');
  return match;
}

const sorted = (record: Readonly<Record<string, string>>): [string, string][] =>
  Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
