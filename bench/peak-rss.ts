/**
 * Preloaded (`node --require`) into a benchmarked child: reports its peak resident memory and
 * the CPU time it used at exit (CPU time says more than wall time on a machine under load).
 */
process.on('exit', () => {
  const usage = process.resourceUsage();
  process.stderr.write(`peak-rss-bytes ${usage.maxRSS * 1024}\ncpu-us ${usage.userCPUTime + usage.systemCPUTime}\n`);
});
