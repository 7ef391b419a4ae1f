//! Writing canonical proto3 JSON, compact, exactly as the reference implementation (Python's
//! `json_format` with `json.dumps(..., separators=(",", ":"), ensure_ascii=False)`) writes it.

use super::float::write_f32;
use super::scan::find_special;

/// How a message writes its fields as JSON. Implemented for every generated message type by
/// the build script; not meant to be implemented by hand.
pub trait JsonWrite {
    /// Writes the message's fields as members of the enclosing object.
    fn write_json_fields(&self, w: &mut JsonWriter<'_>);
}

/// A message field prost keeps boxed (to keep its parent small) writes as the message.
impl<M: JsonWrite> JsonWrite for Box<M> {
    fn write_json_fields(&self, w: &mut JsonWriter<'_>) {
        (**self).write_json_fields(w);
    }
}

/// Writes JSON values into a `String`; used by the generated [`JsonWrite`] implementations.
#[derive(Debug)]
pub struct JsonWriter<'a> {
    out: &'a mut String,
    /// Whether the next member or element needs a comma before it.
    comma: bool,
}

impl<'a> JsonWriter<'a> {
    pub(crate) fn new(out: &'a mut String) -> JsonWriter<'a> {
        JsonWriter { out, comma: false }
    }

    pub(crate) fn begin_object(&mut self) {
        self.out.push('{');
        self.comma = false;
    }

    pub(crate) fn end_object(&mut self) {
        self.out.push('}');
        self.comma = true;
    }

    pub(crate) fn begin_array(&mut self) {
        self.out.push('[');
        self.comma = false;
    }

    pub(crate) fn end_array(&mut self) {
        self.out.push(']');
        self.comma = true;
    }

    /// Starts an object member. Keys are field names, which never need escaping.
    pub(crate) fn key(&mut self, key: &str) {
        if self.comma {
            self.out.push(',');
        }
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.comma = false;
    }

    /// Starts an array element.
    pub(crate) fn element(&mut self) {
        if self.comma {
            self.out.push(',');
        }
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.out.push_str(if value { "true" } else { "false" });
        self.comma = true;
    }

    pub(crate) fn u32(&mut self, value: u32) {
        push_u32(self.out, value);
        self.comma = true;
    }

    pub(crate) fn i32(&mut self, value: i32) {
        if value < 0 {
            self.out.push('-');
        }
        push_u32(self.out, value.unsigned_abs());
        self.comma = true;
    }

    pub(crate) fn f32(&mut self, value: f32) {
        write_f32(self.out, value);
        self.comma = true;
    }

    /// An enum value: its name, or its number when it has none (an open enum's unknown value).
    pub(crate) fn enum_value(&mut self, value: i32, name: fn(i32) -> Option<&'static str>) {
        match name(value) {
            Some(name) => {
                self.out.push('"');
                self.out.push_str(name);
                self.out.push('"');
                self.comma = true;
            }
            None => self.i32(value),
        }
    }

    /// A string, escaped as Python's `json.dumps` escapes with `ensure_ascii=False`: `"`, `\`,
    /// and control characters (`\n`, `\r`, `\t`, `\b`, `\f` by name, the others as `\u00xx`).
    pub(crate) fn string(&mut self, value: &str) {
        self.out.push('"');
        let bytes = value.as_bytes();
        let mut start = 0;
        loop {
            let special = start + find_special(&bytes[start..]);
            self.out.push_str(&value[start..special]);
            let Some(&byte) = bytes.get(special) else {
                break;
            };
            match byte {
                b'"' => self.out.push_str("\\\""),
                b'\\' => self.out.push_str("\\\\"),
                b'\n' => self.out.push_str("\\n"),
                b'\r' => self.out.push_str("\\r"),
                b'\t' => self.out.push_str("\\t"),
                0x08 => self.out.push_str("\\b"),
                0x0c => self.out.push_str("\\f"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.push_str("\\u00");
                    self.out.push(char::from(HEX[usize::from(byte >> 4)]));
                    self.out.push(char::from(HEX[usize::from(byte & 0xf)]));
                }
            }
            start = special + 1;
        }
        self.out.push('"');
        self.comma = true;
    }

    /// A nested message as an object.
    pub(crate) fn message<M: JsonWrite>(&mut self, message: &M) {
        self.begin_object();
        message.write_json_fields(self);
        self.end_object();
    }
}

fn push_u32(out: &mut String, mut value: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}
