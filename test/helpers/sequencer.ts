import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each e2e file took in CI (2 cores, two files at a time; session 17). A fresh clone has no
 * vitest duration cache, and vitest's fallback (largest file first) starts a long file last now and
 * then, which leaves one worker alone at the end: the longest go first (longest processing time first).
 */
const SECONDS: Readonly<Record<string, number>> = {
  'faults.test.ts': 170,
  'faults-kill.test.ts': 123,
  'proof.test.ts': 115,
  'plan.test.ts': 115,
  'terminal.test.ts': 100,
  'fullload.test.ts': 95,
  'fallback.test.ts': 86,
  'cutover-fuzz.test.ts': 81,
  'cutover.test.ts': 67,
  'terraform.test.ts': 56,
  'interrupt.test.ts': 55,
  'roles.test.ts': 43,
  'cdktf-cli.test.ts': 38,
  'rehearse.test.ts': 35,
  'interface.test.ts': 34,
};

/** The e2e files, the longest known first, then the rest as vitest orders them. */
export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rest = await super.sort(files);
    const seconds = (f: TestSpecification) => SECONDS[path.basename(f.moduleId)] ?? 0;
    return [...rest].sort((a, b) => seconds(b) - seconds(a));
  }
}
