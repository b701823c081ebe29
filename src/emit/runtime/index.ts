// The runtime part of a clone directory: its configuration, its Makefile and the runtime sources it compiles.
export { emitCloneBuild, runtimeDir, runtimeSourceFiles } from './build.ts';
export { backgroundBodyName, classBodyName, emitRuntimeConfig } from './config.ts';
