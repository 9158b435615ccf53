/** Preloaded (`node --require`) into a benchmarked child: reports its peak resident memory at exit. */
process.on('exit', () => {
  process.stderr.write(`peak-rss-bytes ${process.resourceUsage().maxRSS * 1024}\n`);
});
