/**
 * `pnpm test:fuzz-validation [--cases N] [--seed S] [--case I]`: the validation fuzz on demand, with as
 * many cases as asked. A failing case prints its seed, the problem and the SQL that rebuilds it, and the
 * command that runs it alone.
 */
import { Command, InvalidArgumentError } from 'commander';
import { startServer } from '../helpers/servers.js';
import { fuzzDatabases } from './servers.js';
import { runValidationFuzz } from './validation-fuzz.js';

const integer = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};

const options = new Command('test:fuzz-validation')
  .option('--cases <n>', 'number of generated tables', integer('--cases'), 1000)
  .option('--seed <s>', 'seed of the run (default: random)', integer('--seed'))
  .option('--case <i>', 'run only this case of the seed', integer('--case'))
  .parse()
  .opts<{ cases: number; seed?: number; case?: number }>();

const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
const [source, target] = await Promise.all([startServer('fuzz-source'), startServer('fuzz-target')]);
const started = performance.now();
try {
  console.log(
    `validation fuzz: seed ${seed}, ${options.case !== undefined ? `case ${options.case}` : `${options.cases} cases`}`,
  );
  const report = await runValidationFuzz({
    seed,
    cases: options.cases,
    ...(options.case !== undefined ? { onlyCase: options.case } : {}),
    ...fuzzDatabases(source, target),
    log: (line) => console.log(line),
  });
  for (const f of report.failures) {
    console.log(
      `\nFAILED case ${f.index} (pnpm test:fuzz-validation --seed ${seed} --case ${f.index}): ${f.problem}\n${f.reproduction}`,
    );
  }
  console.log(
    `\n${report.cases} case(s), ${report.failures.length} failure(s) in ${((performance.now() - started) / 1000).toFixed(1)} s; chunk methods: ${JSON.stringify(report.methods)}`,
  );
  process.exitCode = report.failures.length ? 1 : 0;
} finally {
  await Promise.all([source.stop(), target.stop()]);
}
