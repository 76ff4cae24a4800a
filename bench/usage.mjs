// Loaded with `node --import` into a benchmarked process: at exit, writes its own CPU time and peak RSS
// (process.resourceUsage) to the file named by SPK_BENCH_USAGE, so the bench measures the sender alone.
import { writeFileSync } from 'node:fs';

const file = process.env.SPK_BENCH_USAGE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMiB: u.maxRSS / 1024 }));
  });
}
