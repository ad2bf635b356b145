import { afterAll } from 'vitest';
import { removeScratchDirs } from './scratch.js';

// Every test file leaves the temporary folder as it found it.
afterAll(removeScratchDirs);
