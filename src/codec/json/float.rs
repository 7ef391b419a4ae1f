//! Floats written exactly as the reference implementation writes them.
//!
//! Python's `google.protobuf.json_format` (the reference named by the project) writes a `float`
//! field as the shortest decimal of at least 6 significant digits that converts back to the same
//! 32-bit float (`type_checkers.ToShortestFloat`), and `json.dumps` prints that number with
//! Python's `repr`: fixed notation with a trailing `.0` for whole numbers, exponent notation
//! (`1e+16`, `1e-05`) outside `1e-4 <= |x| < 1e16`. This module reproduces both steps so that our
//! JSON text is byte-for-byte the reference's.

use std::fmt::{self, Write};

/// Appends `value` as Python's `json_format` writes a `float` field.
pub(super) fn write_f32(out: &mut String, value: f32) {
    if value.is_nan() {
        out.push_str("\"NaN\"");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        write_python_repr(out, shortest_for_f32(value));
    }
}

/// `ToShortestFloat`: the first of 6, 7, ... significant digits whose double converts back to
/// `value` (through a double, as Python does).
fn shortest_for_f32(value: f32) -> f64 {
    let wide = f64::from(value);
    for precision in 6..=17 {
        let mut digits = StackText::new();
        if write!(digits, "{:.*e}", precision - 1, wide).is_ok()
            && let Ok(rounded) = digits.as_str().parse::<f64>()
            && rounded as f32 == value
        {
            return rounded;
        }
    }
    wide
}

/// Python's `repr` of a finite double.
fn write_python_repr(out: &mut String, value: f64) {
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does; only the layout
    // differs.
    let mut text = StackText::new();
    if write!(text, "{value:e}").is_err() {
        out.push_str(&value.to_string());
        return;
    }
    let text = text.as_str();
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    if negative {
        out.push('-');
    }
    let (lead, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_len = lead.len() + rest.len();
    // The decimal point sits after `point` digits: value = 0.DIGITS * 10^point.
    let point = exponent + 1;
    if -4 < point && point <= 16 {
        let digits = || lead.chars().chain(rest.chars());
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.extend(digits());
        } else if (point as usize) < digits_len {
            out.extend(digits().take(point as usize));
            out.push('.');
            out.extend(digits().skip(point as usize));
        } else {
            out.extend(digits());
            out.extend(std::iter::repeat_n('0', point as usize - digits_len));
            out.push_str(".0");
        }
    } else {
        out.push_str(lead);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        let _ = write!(out, "{magnitude}");
    }
}

/// A small formatting buffer on the stack, so that writing a float does not allocate.
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl StackText {
    fn new() -> StackText {
        StackText {
            bytes: [0; 48],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(value: f32) -> String {
        let mut out = String::new();
        write_f32(&mut out, value);
        out
    }

    #[test]
    fn whole_numbers_keep_a_trailing_point_zero() {
        assert_eq!(repr(1.0), "1.0");
        assert_eq!(repr(-2.0), "-2.0");
        assert_eq!(repr(0.0), "0.0");
        assert_eq!(repr(-0.0), "-0.0");
    }

    #[test]
    fn fractions_use_the_shortest_digits_of_at_least_six() {
        assert_eq!(repr(0.1), "0.1");
        assert_eq!(repr(0.5), "0.5");
        assert_eq!(repr(1.0 / 3.0), "0.33333334");
        assert_eq!(repr(16_777_216.0), "16777216.0");
    }

    #[test]
    fn exponent_notation_outside_python_fixed_range() {
        assert_eq!(repr(1e16), "1e+16");
        assert_eq!(repr(1e15), "1000000000000000.0");
        assert_eq!(repr(1e-4), "0.0001");
        assert_eq!(repr(1e-5), "1e-05");
        assert_eq!(repr(f32::MAX), "3.4028235e+38");
        assert_eq!(repr(f32::MIN_POSITIVE), "1.1754944e-38");
        // Subnormals: six digits always convert back, so Python stops there.
        assert_eq!(repr(1.5e-42), "1.49939e-42");
    }

    #[test]
    fn non_finite_values_are_quoted_names() {
        assert_eq!(repr(f32::NAN), "\"NaN\"");
        assert_eq!(repr(f32::INFINITY), "\"Infinity\"");
        assert_eq!(repr(f32::NEG_INFINITY), "\"-Infinity\"");
    }
}
