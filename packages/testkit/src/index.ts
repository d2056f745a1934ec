export * from './python.js';
