/** Peak memory of this process while `work` runs, sampled every `everyMs`. */
export async function withMemoryPeak<T>(
  work: () => Promise<T>,
  everyMs = 50,
): Promise<{ result: T; peakRssMb: number; peakHeapUsedMb: number; baselineRssMb: number }> {
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  };
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work();
    sample();
    return {
      result,
      peakRssMb: toMb(peakRss),
      peakHeapUsedMb: toMb(peakHeap),
      baselineRssMb: toMb(baseline.rss),
    };
  } finally {
    clearInterval(timer);
  }
}

/** The largest resident set this process has had so far (getrusage maxRSS), in MB. */
export const maxRssMb = (): number => round(process.resourceUsage().maxRSS / 1024);

const toMb = (bytes: number): number => round(bytes / 1024 / 1024);
const round = (value: number): number => Math.round(value * 10) / 10;
