// `npm run bench`: the benchmark. Powertools reads its variables when the service
// modules load, so they are set before anything else is imported.
//   npm run bench                       every scenario; writes bench/results.json,
//                                       bench/chart.svg and the results in docs/benchmark.md
//   npm run bench -- --only=idle,drain  some scenarios (idle, lookback, burst, drain, cold,
//                                       detection, scale, webhooks, inflight);
//                                       prints only (detection with scale, and inflight,
//                                       rewrite their own sections)
//   npm run bench -- --scale=4          the drain's clock scale (default 4)
//   npm run bench -- --seed=N           the seed of detection and scale (printed each run)
//   npm run bench -- --report-only      redraws the chart and the doc from the JSON results
process.env.LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_SERVICE_NAME ??= 'weiban-forms-bench';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'WeibanForms';

const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));

export {};
