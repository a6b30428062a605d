// WebCall for JavaScript: the entry of the package. It loads the WebAssembly build of the
// calling service (webcall_core.js, made by wasm-bindgen) with a top-level await, so that an
// app only imports it: no init call. The API is declared in webcall.d.ts.

import init, { WebCall, setErrorClass } from './webcall_core.js';

/**
 * The error every rejected promise and thrown exception of WebCall is: an `Error` with a
 * numeric `code` (TRTCCalling-style; 60060 for an argument or option that can not be used).
 */
export class WebCallError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'WebCallError';
    this.code = code;
  }
}

// Fetches and compiles webcall_core_bg.wasm next to this file.
await init();
setErrorClass(WebCallError);

export { WebCall };
export default WebCall;
