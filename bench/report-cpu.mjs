// `node --import ./bench/report-cpu.mjs ...`: at exit, appends this process's CPU time
// (user + system, ms) to $CPU_REPORT_FILE, so a parent can compare whole processes.
import { appendFileSync } from 'node:fs';

process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  if (process.env.CPU_REPORT_FILE) appendFileSync(process.env.CPU_REPORT_FILE, `${(user + system) / 1000}\n`);
});
