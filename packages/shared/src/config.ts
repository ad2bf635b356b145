/**
 * The typed config of one migration, one module per section (each field documented where declared):
 * common parts, network, endpoints (source, target), replication instance, task, cutover, full load,
 * stack (Terraform state, policy waivers), and the whole migration with its cross-field rules.
 * Every object is strict: an unknown key is refused with the nearest known name (`parse.ts`).
 */
export * from './config/common.js';
export * from './config/cutover.js';
export * from './config/endpoints.js';
export * from './config/full-load.js';
export * from './config/migration.js';
export * from './config/network.js';
export * from './config/replication-instance.js';
export * from './config/stack.js';
export * from './config/task.js';
