// Sums the vitest JSON reports of every workspace package into one closing line: "tests: N passed, N failed".
// `--clean` removes the reports of an earlier run first, so the line always closes the run it follows
// (turbo restores a cached package's report with its logs: test-results/** is the test task's output).
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const dirs = [
  ...(await readdir(path.join(root, 'packages'))).map((p) => path.join(root, 'packages', p)),
  path.join(root, 'test'),
];
if (process.argv.includes('--clean')) {
  await Promise.all(dirs.map((d) => rm(path.join(d, 'test-results'), { recursive: true, force: true })));
  process.exit(0);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of dirs) {
  const file = path.join(dir, 'test-results', 'vitest.json');
  const report = await readFile(file, 'utf8').then(JSON.parse, () => undefined);
  if (!report) {
    console.error(`no test report in ${path.relative(root, file)}`);
    failed++;
    continue;
  }
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// `--status N`: how the test runs themselves ended (turbo's exit code). A run can fail with every test
// passed: an unhandled error or rejection, or a crash. That fails the whole run too.
const i = process.argv.indexOf('--status');
const status = i >= 0 ? Number(process.argv[i + 1]) : 0;
if (status !== 0 && failed === 0)
  console.log(
    `a test run failed outside its tests (exit ${status}: an unhandled error or a crash), see above`,
  );
process.exit(failed > 0 || passed === 0 || status !== 0 ? 1 : 0);
