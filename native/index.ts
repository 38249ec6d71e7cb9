/**
 * The native addon (build/native/Release/sigil_native.node) as TypeScript sees it: the loader and the
 * addon's typings. agent/steering/ wraps the Steering class; sd_notify and the socket helpers use the
 * binding directly.
 */
export { loadNative, nativeCandidates } from './loader.js';
export { NativeError, NativeErrorCode } from './errors.js';
export type * from './binding.js';
