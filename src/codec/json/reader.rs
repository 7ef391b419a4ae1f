//! Reading canonical proto3 JSON straight into prost messages, without an intermediate tree.
//!
//! The grammar is strict JSON (RFC 8259). The value rules are the proto3 JSON mapping's, as the
//! reference implementation applies them: integers as numbers (`1`, `1.0`, `1e2`) or decimal
//! strings, floats as numbers or strings (`"NaN"`, `"Infinity"`, `"-Infinity"`), enums by name or
//! number, `null` for "absent", and both the JSON name and the original name of every field.
//! Nesting is bounded, so no input can exhaust the stack.

use std::borrow::Cow;

use super::error::{JsonError, JsonErrorKind};
use super::scan::{find_special, is_special};

/// How deeply objects and arrays may nest.
pub(crate) const MAX_DEPTH: usize = 64;

/// How JSON input is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Pass over members that name no field instead of refusing the input (the reference
    /// implementation's `ignore_unknown_fields`).
    pub ignore_unknown_fields: bool,
}

/// How a message reads its fields from JSON. Implemented for every generated message type by the
/// build script; not meant to be implemented by hand.
pub trait JsonRead: Default {
    /// The fully qualified protobuf name.
    const FULL_NAME: &'static str;

    /// Reads the value of member `key` if it names a field; `Ok(false)` if it names none.
    fn read_json_field(
        &mut self,
        key: &str,
        r: &mut JsonReader<'_>,
        seen: &mut FieldSet,
    ) -> Result<bool, JsonError>;
}

/// A message field prost keeps boxed (to keep its parent small) reads as the message.
impl<M: JsonRead> JsonRead for Box<M> {
    const FULL_NAME: &'static str = M::FULL_NAME;

    fn read_json_field(
        &mut self,
        key: &str,
        r: &mut JsonReader<'_>,
        seen: &mut FieldSet,
    ) -> Result<bool, JsonError> {
        (**self).read_json_field(key, r, seen)
    }
}

/// Reads JSON values from a text; used by the generated [`JsonRead`] implementations.
#[derive(Debug)]
pub struct JsonReader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
    options: JsonOptions,
    /// Where the most recent member name started, for errors about it.
    key_start: usize,
}

/// Which object [`JsonReader::fields`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    /// A message, from its `{`.
    Message,
    /// A JSON `Any`, from its `{`; its `@type` member is passed over.
    Any,
    /// A JSON `Any` whose `{` and first member, `@type`, have been read.
    AnyAfterType,
}

/// A position to come back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    pos: usize,
    depth: usize,
}

/// The fields (and oneofs) of one object already given, to refuse them a second time.
#[derive(Debug, Default)]
pub struct FieldSet(u64);

impl FieldSet {
    /// Records field number `bit`; an error if it was already given.
    pub(crate) fn claim(
        &mut self,
        bit: u32,
        field: &'static str,
        r: &JsonReader<'_>,
    ) -> Result<(), JsonError> {
        self.claim_bit(bit, || {
            r.error_at(r.key_start, JsonErrorKind::DuplicateField { field })
        })
    }

    /// Records a member of oneof `bit`; an error if another member was already given.
    pub(crate) fn claim_oneof(
        &mut self,
        bit: u32,
        oneof: &'static str,
        r: &JsonReader<'_>,
    ) -> Result<(), JsonError> {
        self.claim_bit(bit, || {
            r.error_at(r.key_start, JsonErrorKind::MultipleOneofFields { oneof })
        })
    }

    fn claim_bit(&mut self, bit: u32, error: impl FnOnce() -> JsonError) -> Result<(), JsonError> {
        let mask = 1u64 << bit;
        if self.0 & mask != 0 {
            return Err(error());
        }
        self.0 |= mask;
        Ok(())
    }
}

impl<'a> JsonReader<'a> {
    pub(crate) fn new(text: &'a str, options: JsonOptions) -> JsonReader<'a> {
        JsonReader {
            text,
            pos: 0,
            depth: 0,
            options,
            key_start: 0,
        }
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            depth: self.depth,
        }
    }

    pub(crate) fn reset(&mut self, mark: Mark) {
        self.pos = mark.pos;
        self.depth = mark.depth;
    }

    pub(crate) fn error(&self, kind: JsonErrorKind) -> JsonError {
        self.error_at(self.pos, kind)
    }

    pub(crate) fn error_at(&self, offset: usize, kind: JsonErrorKind) -> JsonError {
        JsonError::at(kind, self.text, offset)
    }

    /// The error for a value that is not what the field takes.
    fn unexpected(&self, expected: &'static str) -> JsonError {
        let found = match self.peek() {
            None => return self.error(JsonErrorKind::UnexpectedEnd { expected }),
            Some(b'{') => "an object".to_string(),
            Some(b'[') => "an array".to_string(),
            Some(b'"') => "a string".to_string(),
            Some(b'-' | b'0'..=b'9') => "a number".to_string(),
            Some(b't' | b'f')
                if self.rest().starts_with("true") || self.rest().starts_with("false") =>
            {
                "a boolean".to_string()
            }
            Some(b'n') if self.rest().starts_with("null") => "null".to_string(),
            Some(_) => format!("{:?}", self.rest().chars().next().unwrap_or(' ')),
        };
        self.error(JsonErrorKind::Unexpected { expected, found })
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace.
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn peek_value(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.peek()
    }

    fn expect_byte(&mut self, byte: u8, expected: &'static str) -> Result<(), JsonError> {
        if self.peek_value() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        if self.depth == MAX_DEPTH {
            return Err(self.error(JsonErrorKind::TooDeep { limit: MAX_DEPTH }));
        }
        self.depth += 1;
        Ok(())
    }

    /// Checks that only whitespace follows the top-level value.
    pub(crate) fn end(&mut self) -> Result<(), JsonError> {
        match self.peek_value() {
            None => Ok(()),
            Some(_) => Err(self.error(JsonErrorKind::TrailingCharacters)),
        }
    }

    /// Consumes a `null` if one is next.
    pub(crate) fn null(&mut self) -> Result<bool, JsonError> {
        self.skip_whitespace();
        if self.rest().starts_with("null") {
            self.pos += 4;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Consumes the `{` of an object.
    pub(crate) fn begin_object(&mut self) -> Result<(), JsonError> {
        self.expect_byte(b'{', "an object")?;
        self.enter()
    }

    /// The next member name of the current object and its `:`, or `None` after its `}`.
    /// `first` is true before the first member.
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, JsonError> {
        match self.peek_value() {
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_whitespace();
            }
            _ if *first => {}
            _ => return Err(self.unexpected("',' or '}'")),
        }
        *first = false;
        self.key_start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a member name"));
        }
        let key = self.str()?;
        self.expect_byte(b':', "':'")?;
        Ok(Some(key))
    }

    /// Reads an array, each element with `element`.
    pub(crate) fn array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, JsonError>,
    ) -> Result<Vec<T>, JsonError> {
        self.expect_byte(b'[', "an array")?;
        self.enter()?;
        let mut items = Vec::new();
        if self.peek_value() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(items);
        }
        loop {
            let index = items.len();
            if self.null()? {
                return Err(self.error(JsonErrorKind::NullElement).in_element(index));
            }
            items.push(element(self).map_err(|e| e.in_element(index))?);
            match self.peek_value() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(items);
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    /// Reads an object as a message of type `M`.
    pub(crate) fn message<M: JsonRead>(&mut self) -> Result<M, JsonError> {
        self.fields(Object::Message)
    }

    /// Reads a JSON `Any` object as a message of type `M`: either the rest of the object, when
    /// its `@type` was its first member and has just been read, or the whole object from its `{`,
    /// passing over the `@type` member wherever it is.
    pub(crate) fn any_fields<M: JsonRead>(&mut self, after_type: bool) -> Result<M, JsonError> {
        self.fields(if after_type {
            Object::AnyAfterType
        } else {
            Object::Any
        })
    }

    fn fields<M: JsonRead>(&mut self, object: Object) -> Result<M, JsonError> {
        let mut message = M::default();
        let mut seen = FieldSet::default();
        let mut type_seen = object == Object::AnyAfterType;
        let mut first = !type_seen;
        if first {
            self.begin_object()?;
        }
        while let Some(key) = self.next_key(&mut first)? {
            if object != Object::Message && key == "@type" {
                if type_seen {
                    return Err(self.error_at(
                        self.key_start,
                        JsonErrorKind::DuplicateField { field: "@type" },
                    ));
                }
                type_seen = true;
                self.skip_value()?;
                continue;
            }
            match message.read_json_field(&key, self, &mut seen) {
                Ok(true) => {}
                Ok(false) => self.unknown_field(M::FULL_NAME, &key)?,
                Err(error) => return Err(error.in_field(&key)),
            }
        }
        Ok(message)
    }

    /// Skips the value of a member that names no field, or refuses it.
    pub(crate) fn unknown_field(
        &mut self,
        message: &'static str,
        key: &str,
    ) -> Result<(), JsonError> {
        if self.options.ignore_unknown_fields {
            return self.skip_value().map_err(|e| e.in_field(key));
        }
        Err(self.error_at(
            self.key_start,
            JsonErrorKind::UnknownField {
                message,
                field: key.to_string(),
            },
        ))
    }

    /// Passes over one value of any kind, checking its syntax.
    pub(crate) fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.peek_value() {
            Some(b'{') => {
                self.begin_object()?;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_value()?;
                }
                Ok(())
            }
            Some(b'[') => self.array(Self::skip_value).map(drop),
            Some(b'"') => self.skip_str(),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            _ => {
                for literal in ["true", "false", "null"] {
                    if self.rest().starts_with(literal) {
                        self.pos += literal.len();
                        return Ok(());
                    }
                }
                Err(self.unexpected("a JSON value"))
            }
        }
    }

    pub(crate) fn bool(&mut self) -> Result<bool, JsonError> {
        self.skip_whitespace();
        if self.rest().starts_with("true") {
            self.pos += 4;
            Ok(true)
        } else if self.rest().starts_with("false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.unexpected("true or false"))
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, JsonError> {
        self.str_value().map(Cow::into_owned)
    }

    /// A string value, borrowed from the text when it has no escapes.
    pub(crate) fn str_value(&mut self) -> Result<Cow<'a, str>, JsonError> {
        if self.peek_value() != Some(b'"') {
            return Err(self.unexpected("a string"));
        }
        self.str()
    }

    pub(crate) fn u32(&mut self) -> Result<u32, JsonError> {
        self.integer("uint32", 0, i64::from(u32::MAX))
            .map(|v| v as u32)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, JsonError> {
        self.integer("int32", i64::from(i32::MIN), i64::from(i32::MAX))
            .map(|v| v as i32)
    }

    pub(crate) fn f32(&mut self) -> Result<f32, JsonError> {
        let start = self.pos;
        match self.peek_value() {
            Some(b'"') => {
                let text = self.str()?;
                match &*text {
                    "NaN" => return Ok(f32::NAN),
                    "Infinity" => return Ok(f32::INFINITY),
                    "-Infinity" => return Ok(f32::NEG_INFINITY),
                    _ => {}
                }
                // Decimal text only: Rust's parser would also take "inf" and "nan" spellings.
                let decimal = text
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'));
                match text.parse::<f32>() {
                    Ok(value) if decimal => self.finite_f32(value, &text, start),
                    _ => Err(self.error_at(
                        start,
                        JsonErrorKind::InvalidNumber {
                            value: text.into_owned(),
                        },
                    )),
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let text = self.number()?;
                let value = text.parse::<f32>().unwrap_or(f32::INFINITY);
                self.finite_f32(value, text, start)
            }
            _ => Err(self.unexpected("a number")),
        }
    }

    /// `value` parsed from finite `text`: infinite means out of the float range.
    fn finite_f32(&self, value: f32, text: &str, start: usize) -> Result<f32, JsonError> {
        if value.is_finite() {
            Ok(value)
        } else {
            Err(self.error_at(
                start,
                JsonErrorKind::OutOfRange {
                    value: text.to_string(),
                    target: "float",
                },
            ))
        }
    }

    /// An enum value: a name of `lookup`, or a number (open enums keep unknown numbers).
    pub(crate) fn enum_value(
        &mut self,
        enum_name: &'static str,
        lookup: fn(&str) -> Option<i32>,
    ) -> Result<i32, JsonError> {
        let start = self.pos;
        match self.peek_value() {
            Some(b'"') => {
                let text = self.str()?;
                if let Some(value) = lookup(&text) {
                    return Ok(value);
                }
                match integer_text(&text).and_then(|v| i32::try_from(v).ok()) {
                    Some(value) => Ok(value),
                    None => Err(self.error_at(
                        start,
                        JsonErrorKind::InvalidEnumValue {
                            value: format!("{text:?}"),
                            enum_name,
                        },
                    )),
                }
            }
            Some(b'-' | b'0'..=b'9') => self.i32(),
            _ => Err(self.unexpected("an enum name or number")),
        }
    }

    /// An integer in `min..=max`, given as a number or a string, in any notation whose value is
    /// whole (`42`, `"42"`, `42.0`, `"4.2e1"`), as the reference implementation reads integers.
    fn integer(&mut self, target: &'static str, min: i64, max: i64) -> Result<i64, JsonError> {
        let start = self.pos;
        let (text, quoted) = match self.peek_value() {
            Some(b'"') => (self.str()?, true),
            Some(b'-' | b'0'..=b'9') => (Cow::Borrowed(self.number()?), false),
            _ => return Err(self.unexpected("an integer")),
        };
        let shown = || {
            if quoted {
                format!("{text:?}")
            } else {
                text.to_string()
            }
        };
        let value = if is_integer_syntax(&text) {
            integer_text(&text)
        } else {
            let float = if is_decimal_text(&text) {
                text.parse::<f64>().ok()
            } else {
                None
            };
            match float {
                // Whole and finite; beyond i64 the range check below refuses it anyway.
                Some(f) if f.is_finite() && f.fract() == 0.0 => {
                    (f.abs() < 9.3e18).then_some(f as i64)
                }
                _ => {
                    return Err(
                        self.error_at(start, JsonErrorKind::NotAnInteger { value: shown() })
                    );
                }
            }
        };
        match value {
            Some(value) if (min..=max).contains(&value) => Ok(value),
            _ => Err(self.error_at(
                start,
                JsonErrorKind::OutOfRange {
                    value: shown(),
                    target,
                },
            )),
        }
    }

    /// A number token, checked against the JSON grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<&'a str, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut at = start;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        let int_start = at;
        let int_digits = digits(&mut at);
        let bad = |at: usize, this: &Self| {
            this.error_at(
                at,
                JsonErrorKind::Unexpected {
                    expected: "a digit",
                    found: describe(bytes.get(at)),
                },
            )
        };
        if int_digits == 0 || (int_digits > 1 && bytes[int_start] == b'0') {
            return Err(bad(if int_digits == 0 { at } else { int_start + 1 }, self));
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if digits(&mut at) == 0 {
                return Err(bad(at, self));
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return Err(bad(at, self));
            }
        }
        self.pos = at;
        Ok(&self.text[start..at])
    }

    /// A string token at the current position (which is a `"`), unescaped.
    fn str(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut at = start + find_special(&bytes[start..]);
        match bytes.get(at) {
            Some(b'"') => {
                self.pos = at + 1;
                return Ok(Cow::Borrowed(&self.text[start..at]));
            }
            Some(b'\\') => {}
            Some(&byte) => {
                return Err(self.error_at(at, JsonErrorKind::ControlCharacter(u32::from(byte))));
            }
            None => {
                return Err(self.error_at(at, JsonErrorKind::UnexpectedEnd { expected: "'\"'" }));
            }
        }
        let mut out = String::with_capacity(at - start + 16);
        out.push_str(&self.text[start..at]);
        loop {
            match bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => at = self.escape(at, &mut out)?,
                Some(&byte) if is_special(byte) => {
                    return Err(self.error_at(at, JsonErrorKind::ControlCharacter(u32::from(byte))));
                }
                Some(_) => {
                    let run = at + find_special(&bytes[at..]);
                    out.push_str(&self.text[at..run]);
                    at = run;
                }
                None => {
                    return Err(
                        self.error_at(at, JsonErrorKind::UnexpectedEnd { expected: "'\"'" })
                    );
                }
            }
        }
    }

    /// Passes over a string token, checking its grammar only: a `\u` escape of half a surrogate
    /// pair is valid JSON (whether it makes a valid string is the reader of the value's concern).
    fn skip_str(&mut self) -> Result<(), JsonError> {
        let bytes = self.text.as_bytes();
        let mut at = self.pos + 1;
        loop {
            at += find_special(&bytes[at..]);
            match bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(());
                }
                Some(b'\\') => match bytes.get(at + 1) {
                    Some(b'u') => {
                        self.hex4(at)?;
                        at += 6;
                    }
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                    _ => return self.escape(at, &mut String::new()).map(drop),
                },
                Some(&byte) => {
                    return Err(self.error_at(at, JsonErrorKind::ControlCharacter(u32::from(byte))));
                }
                None => {
                    return Err(
                        self.error_at(at, JsonErrorKind::UnexpectedEnd { expected: "'\"'" })
                    );
                }
            }
        }
    }

    /// Decodes the escape at `at` (a `\`) into `out`; returns the index after it.
    fn escape(&self, at: usize, out: &mut String) -> Result<usize, JsonError> {
        let bytes = self.text.as_bytes();
        let simple = match bytes.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4(at)?;
                let (c, len) = match high {
                    0xd800..=0xdbff => {
                        let low = if bytes.get(at + 6..at + 8) == Some(b"\\u") {
                            Some(self.hex4(at + 6)?)
                        } else {
                            None
                        };
                        match low {
                            Some(low @ 0xdc00..=0xdfff) => {
                                let code = 0x10000
                                    + ((u32::from(high) - 0xd800) << 10)
                                    + (u32::from(low) - 0xdc00);
                                (char::from_u32(code), 12)
                            }
                            _ => {
                                return Err(
                                    self.error_at(at, JsonErrorKind::UnpairedSurrogate(high))
                                );
                            }
                        }
                    }
                    0xdc00..=0xdfff => {
                        return Err(self.error_at(at, JsonErrorKind::UnpairedSurrogate(high)));
                    }
                    _ => (char::from_u32(u32::from(high)), 6),
                };
                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
                return Ok(at + len);
            }
            Some(_) => {
                let end = (at + 2..=self.text.len())
                    .find(|&i| self.text.is_char_boundary(i))
                    .unwrap_or(self.text.len());
                return Err(self.error_at(
                    at,
                    JsonErrorKind::InvalidEscape(self.text[at..end].to_string()),
                ));
            }
            None => {
                return Err(self.error_at(
                    at,
                    JsonErrorKind::UnexpectedEnd {
                        expected: "an escape sequence",
                    },
                ));
            }
        };
        out.push(simple);
        Ok(at + 2)
    }

    /// The four hex digits of the `\u` escape at `at`.
    fn hex4(&self, at: usize) -> Result<u16, JsonError> {
        let digits = self.text.as_bytes().get(at + 2..at + 6);
        digits
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .and_then(|d| u16::from_str_radix(std::str::from_utf8(d).ok()?, 16).ok())
            .ok_or_else(|| {
                let end = (at + 6).min(self.text.len());
                let end = (end..=self.text.len())
                    .find(|&i| self.text.is_char_boundary(i))
                    .unwrap_or(self.text.len());
                self.error_at(
                    at,
                    JsonErrorKind::InvalidEscape(self.text[at..end].to_string()),
                )
            })
    }
}

/// Whether `text` is `-?[0-9]+`.
fn is_integer_syntax(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` holds only what decimal numbers are written with. Rust's float parser also takes
/// "inf" and "nan" spellings, which the proto3 JSON mapping does not.
fn is_decimal_text(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E'))
}

/// The value of integer text `-?[0-9]+`, if it fits an i64.
fn integer_text(text: &str) -> Option<i64> {
    if is_integer_syntax(text) {
        text.parse().ok()
    } else {
        None
    }
}

fn describe(byte: Option<&u8>) -> String {
    match byte {
        None => "the end of the input".to_string(),
        Some(&b) if b.is_ascii_graphic() => format!("'{}'", char::from(b)),
        Some(&b) => format!("byte {b:#04x}"),
    }
}
