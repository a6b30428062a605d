//! WebCall for JavaScript (work in progress): the calling service of `webcall-client`, exported
//! with wasm-bindgen and built by `cargo xtask sdk`.
