// Host-side kernel provisioners (see ./README.md).
export * from './kernelspec.js';
export * from './info.js';
export * from './provisioner.js';
