export { buildProgram, main } from './cli/program.js';
export type { CommandOutcome } from './outcome.js';
