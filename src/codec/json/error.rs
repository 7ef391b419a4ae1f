//! Errors of the JSON codec: what was wrong, at which field path, at which line and column.

use std::fmt;

/// Why JSON text could not be read as a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError(Box<Details>);

/// Boxed so that a `Result` carrying a `JsonError` stays one pointer wide on the success path.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Details {
    kind: JsonErrorKind,
    /// Field path from the top-level object, e.g. `message.users[2].username`.
    path: String,
    line: usize,
    column: usize,
}

/// What was wrong with the JSON text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// The text ended early.
    #[error("unexpected end of input, expected {expected}")]
    UnexpectedEnd {
        /// What the reader was looking for.
        expected: &'static str,
    },
    /// A token other than the one the grammar or the field's type calls for.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What the reader was looking for.
        expected: &'static str,
        /// What it found.
        found: String,
    },
    /// Objects and arrays nested past the limit.
    #[error("nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A backslash escape JSON does not define.
    #[error("invalid escape sequence {0:?}")]
    InvalidEscape(String),
    /// A `\u` escape of half a surrogate pair.
    #[error("unpaired surrogate \\u{0:04x}")]
    UnpairedSurrogate(u16),
    /// A control character inside a string.
    #[error("control character U+{0:04X} must be escaped inside a string")]
    ControlCharacter(u32),
    /// A member name that is neither a JSON name nor an original name of the message's fields.
    #[error("message type {message} has no field named {field:?}")]
    UnknownField {
        /// The message's full name.
        message: &'static str,
        /// The member name.
        field: String,
    },
    /// The same field given twice (under either of its names).
    #[error("field {field} is given more than once")]
    DuplicateField {
        /// The field's name in the `.proto` file.
        field: &'static str,
    },
    /// Two members of one oneof.
    #[error("more than one field of oneof {oneof} is given")]
    MultipleOneofFields {
        /// The oneof's name.
        oneof: &'static str,
    },
    /// A number or string where an integer is required, whose value is not an integer.
    #[error("{value} is not an integer")]
    NotAnInteger {
        /// The value as written.
        value: String,
    },
    /// An integer or float outside its field's range.
    #[error("{value} is out of range for {target}")]
    OutOfRange {
        /// The value as written.
        value: String,
        /// The field's type.
        target: &'static str,
    },
    /// A string where a number is required, which is not one.
    #[error("{value:?} is not a number")]
    InvalidNumber {
        /// The string.
        value: String,
    },
    /// A name or number that is not a value of the field's enum.
    #[error("{value} is not a value of enum {enum_name}")]
    InvalidEnumValue {
        /// The value as written.
        value: String,
        /// The enum's full name.
        enum_name: &'static str,
    },
    /// `null` inside an array.
    #[error("null is not allowed as an element of a repeated field")]
    NullElement,
    /// An `Any` object with members but no `@type`.
    #[error("the Any object has fields but no \"@type\"")]
    MissingType,
    /// Something after the top-level value.
    #[error("unexpected characters after the JSON value")]
    TrailingCharacters,
}

impl JsonError {
    /// An error of `kind` at byte `offset` of `text`.
    pub(crate) fn at(kind: JsonErrorKind, text: &str, offset: usize) -> JsonError {
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError(Box::new(Details {
            kind,
            path: String::new(),
            line,
            column,
        }))
    }

    /// What was wrong.
    pub fn kind(&self) -> &JsonErrorKind {
        &self.0.kind
    }

    /// The field path from the top-level object (`message.users[2].username`); empty at the top.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The line of the error, from 1.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// The column of the error in characters, from 1.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// The same error, seen from the object holding field `key`.
    pub(crate) fn in_field(mut self, key: &str) -> JsonError {
        self.prefix_path(key);
        self
    }

    /// The same error, seen from the array holding element `index`.
    pub(crate) fn in_element(mut self, index: usize) -> JsonError {
        self.prefix_path(&format!("[{index}]"));
        self
    }

    fn prefix_path(&mut self, segment: &str) {
        let path = &mut self.0.path;
        if !path.is_empty() && !path.starts_with('[') {
            path.insert(0, '.');
        }
        path.insert_str(0, segment);
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Details {
            kind,
            path,
            line,
            column,
        } = &*self.0;
        if path.is_empty() {
            write!(f, "at line {line}, column {column}: {kind}")
        } else {
            write!(f, "at {path} (line {line}, column {column}): {kind}")
        }
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.kind)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
