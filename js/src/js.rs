//! Plain JavaScript objects in and out: the option objects the API reads and the payloads it
//! hands to event handlers, built and read with `js_sys::Reflect` (serde-wasm-bindgen would
//! weigh more on the wasm than these few helpers).

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

/// A new object with `fields`, in order.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        // Setting a data property on a fresh plain object can not fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// `value[key]`, or `undefined` when `value` is not an object (or a getter throws).
pub(crate) fn get(value: &JsValue, key: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `value` as a JavaScript string, or `null`.
pub(crate) fn string_or_null(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// `value` as a JavaScript number, or `null`.
pub(crate) fn number_or_null(value: Option<u32>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from)
}

/// `values` as a JavaScript array.
pub(crate) fn array(values: impl IntoIterator<Item = JsValue>) -> JsValue {
    values.into_iter().collect::<Array>().into()
}

/// Whether `value` is `undefined` or `null`: an argument or option left out.
pub(crate) fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}
