// Prints one closing line for the web tests from vitest's JSON reports ("web: N passed, N failed"),
// and fails when a report is missing (a run that crashed before reporting) or counted no test.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let missing = 0;
for (const f of process.argv.slice(2)) {
  if (!existsSync(f)) {
    console.error(`web: no report ${f} (the runner crashed?)`);
    missing++;
    continue;
  }
  const r = JSON.parse(readFileSync(f, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numFailedTestSuites && !r.numFailedTests ? r.numFailedTestSuites : 0);
}
console.log(`web: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || missing > 0 || passed === 0 ? 1 : 0);
