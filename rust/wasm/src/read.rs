//! Reading the few plain JavaScript objects the shim hands in (server options, session
//! snapshots, stored socket rows), property by property: cold paths, read with
//! `Reflect` rather than a generic deserializer, which would weigh on the module's size.

use wasm_bindgen::{JsCast, JsValue};

/// Property `key` of `obj` (`undefined` when `obj` is not an object or lacks it).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A number property: `Ok(None)` when absent, `Err` when of another type.
pub fn number(obj: &JsValue, key: &str) -> Result<Option<f64>, String> {
    let v = get(obj, key);
    if absent(&v) {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| format!("{key} must be a number"))
}

/// A boolean property: `Ok(None)` when absent, `Err` when of another type.
pub fn boolean(obj: &JsValue, key: &str) -> Result<Option<bool>, String> {
    let v = get(obj, key);
    if absent(&v) {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| format!("{key} must be a boolean"))
}

/// A string property, `None` when absent or of another type.
pub fn string(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

/// The strings of an array of strings, `None` when `v` is not an array or holds
/// something else.
pub fn strings_of(v: &JsValue) -> Option<Vec<String>> {
    let list = v.dyn_ref::<js_sys::Array>()?;
    list.iter().map(|s| s.as_string()).collect()
}

/// An array-of-strings property: `Ok(None)` when absent, `Err` when of another type.
pub fn strings(obj: &JsValue, key: &str) -> Result<Option<Vec<String>>, String> {
    let v = get(obj, key);
    if absent(&v) {
        return Ok(None);
    }
    strings_of(&v)
        .map(Some)
        .ok_or_else(|| format!("{key} must be an array of strings"))
}
