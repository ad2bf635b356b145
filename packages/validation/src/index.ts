export * from './catalog.js';
export * from './checksum.js';
export * from './compare.js';
export * from './connection.js';
export * from './summary.js';
