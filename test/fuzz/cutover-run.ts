/**
 * `pnpm test:fuzz-cutover [--seeds N] [--seed S]`: generated CDC histories and their cutovers on demand
 * (fuzz/cutover-fuzz.ts), as many seeds as asked, from S on (default: random). A failing seed prints what
 * it found, its scenario and the command that runs it alone.
 */
import { Command, InvalidArgumentError } from 'commander';
import { removeScratchDirs, scratchDir } from '../helpers/scratch.js';
import { startServer } from '../helpers/servers.js';
import { runCutoverSeed } from './cutover-fuzz.js';

const integer = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

const options = new Command('test:fuzz-cutover')
  .option('--seeds <n>', 'how many seeds', integer('--seeds'), 20)
  .option('--seed <s>', 'the first seed (default: random)', integer('--seed'))
  .option('--verbose', 'print every command and its output')
  .parse()
  .opts<{ seeds: number; seed?: number; verbose?: boolean }>();

const first = options.seed ?? Math.floor(Math.random() * 2 ** 30);
const [source, target] = await Promise.all([
  startServer('fuzz-cutover-source', { logical: true }),
  startServer('fuzz-cutover-target', { logical: true }),
]);
const dir = await scratchDir('fuzz-cutover');
const started = performance.now();
let failed = 0;
try {
  console.log(`cutover fuzz: seeds ${first}..${first + options.seeds - 1}`);
  for (let seed = first; seed < first + options.seeds; seed++) {
    const r = await runCutoverSeed(seed, { source, target, dir });
    const s = r.scenario;
    console.log(
      `seed ${seed}: ${s.fenceMethod}, ${s.tables.map((t) => t.shape).join('+')}, ${s.events.map((e) => e.kind).join(', ') || 'no event'}${s.rollbackAfterReady ? ', rollback after ready' : ''}: expect ${s.expect}: ${r.problems.length ? 'FAILED' : 'ok'}`,
    );
    if (options.verbose) for (const line of r.log) console.log(`  ${line.replace(/\n/g, '\n  ')}`);
    if (r.problems.length) {
      failed++;
      console.log(
        `  ${r.problems.join('\n  ')}\n  scenario: ${JSON.stringify(s)}\n  reproduce: pnpm test:fuzz-cutover --seed ${seed} --seeds 1 --verbose`,
      );
    }
  }
  console.log(
    `\n${options.seeds} seed(s), ${failed} failure(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  process.exitCode = failed ? 1 : 0;
} finally {
  await Promise.all([source.stop(), target.stop()]);
  await removeScratchDirs();
}
