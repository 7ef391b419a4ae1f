//! Reading a JSON value field by field, collecting every problem with its path instead of
//! stopping at the first: a manifest author sees all that is wrong at once.

use serde_json::{Map, Value};

use super::{ManifestError, Problem};

/// Where problems are collected while a manifest is read.
#[derive(Default)]
pub(super) struct Reader {
    pub(super) errors: Vec<ManifestError>,
    /// Paths of fields this reader does not know, for warnings.
    pub(super) unknown: Vec<String>,
}

/// An object being read, with its path for error messages.
pub(super) struct Object<'a> {
    pub(super) path: String,
    map: &'a Map<String, Value>,
}

impl Object<'_> {
    /// Whether the object has `key` (even as `null`).
    pub(super) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

/// The JSON type of a value, as an error message names it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `path.key`, or `key` at the top.
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader {
    pub(super) fn error(&mut self, path: impl Into<String>, problem: Problem) {
        self.errors.push(ManifestError {
            path: path.into(),
            problem,
        });
    }

    fn wrong_type(&mut self, path: String, expected: &'static str, found: &Value) {
        self.error(
            path,
            Problem::WrongType {
                expected,
                found: kind(found),
            },
        );
    }

    /// `value` as an object, or an error at `path`.
    pub(super) fn object<'a>(&mut self, path: String, value: &'a Value) -> Option<Object<'a>> {
        match value {
            Value::Object(map) => Some(Object { path, map }),
            other => {
                self.wrong_type(path, "an object", other);
                None
            }
        }
    }

    /// Records the fields of `object` that are not in `known`.
    pub(super) fn note_unknown(&mut self, object: &Object<'_>, known: &[&str]) {
        for key in object.map.keys() {
            if !known.contains(&key.as_str()) {
                self.unknown.push(join(&object.path, key));
            }
        }
    }

    fn field<'a>(&mut self, object: &Object<'a>, key: &str, required: bool) -> Option<&'a Value> {
        match object.map.get(key) {
            None | Some(Value::Null) if required => {
                self.error(join(&object.path, key), Problem::Missing);
                None
            }
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// A non-empty string; `None` (with an error if `required`) when missing.
    pub(super) fn string(
        &mut self,
        object: &Object<'_>,
        key: &str,
        required: bool,
    ) -> Option<String> {
        let path = join(&object.path, key);
        match self.field(object, key, required)? {
            Value::String(text) if text.trim().is_empty() => {
                self.error(path, Problem::Empty);
                None
            }
            Value::String(text) => Some(text.clone()),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    /// A non-empty string that must be there.
    pub(super) fn required_string(&mut self, object: &Object<'_>, key: &str) -> Option<String> {
        self.string(object, key, true)
    }

    /// A non-empty string that may be left out.
    pub(super) fn optional_string(&mut self, object: &Object<'_>, key: &str) -> Option<String> {
        self.string(object, key, false)
    }

    /// A boolean that may be left out.
    pub(super) fn optional_bool(&mut self, object: &Object<'_>, key: &str) -> Option<bool> {
        match self.field(object, key, false)? {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.wrong_type(join(&object.path, key), "a boolean", other);
                None
            }
        }
    }

    /// A number; `None` (with an error if `required`) when missing or not a number.
    pub(super) fn number(&mut self, object: &Object<'_>, key: &str, required: bool) -> Option<f64> {
        match self.field(object, key, required)? {
            Value::Number(number) => number.as_f64(),
            other => {
                self.wrong_type(join(&object.path, key), "a number", other);
                None
            }
        }
    }

    /// A whole number from 0 to `u32::MAX` that must be there.
    pub(super) fn required_u32(&mut self, object: &Object<'_>, key: &str) -> Option<u32> {
        let path = join(&object.path, key);
        let value = self.field(object, key, true)?;
        match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                self.error(
                    path,
                    Problem::Invalid {
                        value: value.to_string(),
                        reason: "must be a whole number from 0 to 4294967295".into(),
                    },
                );
                None
            }
        }
    }

    /// The items of an array (with their paths); empty when missing.
    pub(super) fn array<'a>(
        &mut self,
        object: &Object<'a>,
        key: &str,
        required: bool,
    ) -> Vec<(String, &'a Value)> {
        let path = join(&object.path, key);
        match self.field(object, key, required) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{path}[{i}]"), item))
                .collect(),
            Some(other) => {
                self.wrong_type(path, "an array", other);
                Vec::new()
            }
        }
    }

    /// The objects of an array of objects.
    pub(super) fn objects<'a>(
        &mut self,
        object: &Object<'a>,
        key: &str,
        required: bool,
    ) -> Vec<Object<'a>> {
        self.array(object, key, required)
            .into_iter()
            .filter_map(|(path, item)| self.object(path, item))
            .collect()
    }

    /// An object that may be left out.
    pub(super) fn optional_object<'a>(
        &mut self,
        object: &Object<'a>,
        key: &str,
    ) -> Option<Object<'a>> {
        let value = self.field(object, key, false)?;
        self.object(join(&object.path, key), value)
    }

    /// An array of non-empty strings; empty when missing.
    pub(super) fn strings(
        &mut self,
        object: &Object<'_>,
        key: &str,
        required: bool,
    ) -> Vec<String> {
        self.array(object, key, required)
            .into_iter()
            .filter_map(|(path, item)| match item {
                Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
                Value::String(_) => {
                    self.error(path, Problem::Empty);
                    None
                }
                other => {
                    self.wrong_type(path, "a string", other);
                    None
                }
            })
            .collect()
    }
}
