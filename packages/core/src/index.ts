export * from './errors.js';
export * from './logging.js';
export * from './config/index.js';
export * from './protocol/index.js';
