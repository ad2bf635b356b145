export * from './config.js';
export * from './errors.js';
export * from './load.js';
export * from './names.js';
export * from './parse.js';
export * from './redact.js';
export * from './selection.js';
