//! Reading TOML input (price tables, scenarios, config) into typed values with
//! errors that name the file, the line and the key.
//!
//! This is parsing, not I/O: callers read the file and hand in its text. Every
//! table is read through a [`TableReader`], which remembers the keys that were
//! asked for; [`TableReader::finish`] rejects any other key, naming the keys
//! that would have been valid. Numbers become [`Decimal`] from the text exactly
//! as written (`0.045` stays `0.045`; nothing goes through `f64`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use rust_decimal::Decimal;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A user-caused input error: where it is and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// The file (or a label such as `<embedded>/ap-southeast-1.toml`).
    pub file: String,
    /// 1-based line; 0 when the error is about the file as a whole.
    pub line: usize,
    /// Dotted key path, e.g. `network.traffic_gb_per_month.s3`.
    pub key: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.file, self.message),
            (0, false) => write!(f, "{}: `{}`: {}", self.file, self.key, self.message),
            (line, true) => write!(f, "{}:{}: {}", self.file, line, self.message),
            (line, false) => write!(f, "{}:{}: `{}`: {}", self.file, line, self.key, self.message),
        }
    }
}

/// A parsed TOML document with its source text kept for line numbers.
pub struct Document<'a> {
    file: String,
    src: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Document<'a> {
    /// Parses `src`; syntax errors (including duplicate keys) name the line.
    pub fn parse(file: &str, src: &'a str) -> Result<Self, InputError> {
        match DeTable::parse(src) {
            Ok(root) => Ok(Self {
                file: file.to_string(),
                src,
                root,
            }),
            Err(e) => {
                let line = e.span().map(|s| line_of(src, s.start)).unwrap_or(0);
                Err(InputError {
                    file: file.to_string(),
                    line,
                    key: String::new(),
                    message: format!("invalid TOML: {}", e.message().trim()),
                })
            }
        }
    }

    /// The top-level table.
    pub fn root(&self) -> TableReader<'_, 'a> {
        TableReader {
            doc: self,
            path: String::new(),
            span: self.root.span(),
            table: self.root.get_ref(),
            asked: RefCell::new(BTreeSet::new()),
        }
    }

    /// The file label this document was parsed from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// An error at a span of this document.
    pub fn error_at(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.clone(),
            line: line_of(self.src, span.start),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The largest magnitude any number in an input file may have. Products of
/// two such numbers (rate × quantity, LCUs × hours) stay far inside
/// `Decimal`'s range (about 7.9 × 10²⁸), so the cost model cannot overflow.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// One value with its location, for conversions.
#[derive(Clone, Copy)]
pub struct ValueRef<'d, 'a> {
    doc: &'d Document<'a>,
    /// Dotted key path of this value.
    pub path: &'d str,
    value: &'d Spanned<DeValue<'a>>,
}

impl<'d, 'a> ValueRef<'d, 'a> {
    /// An error located at this value.
    pub fn error(&self, message: impl Into<String>) -> InputError {
        self.doc.error_at(self.value.span(), self.path, message)
    }

    /// The line this value is on.
    pub fn line(&self) -> usize {
        line_of(self.doc.src, self.value.span().start)
    }

    /// A string value.
    pub fn as_str(&self) -> Result<&'d str, InputError> {
        match self.value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            other => Err(self.error(format!("expected a string, found {}", other.type_str()))),
        }
    }

    /// A decimal from a TOML integer, float or numeric string, exactly as written.
    pub fn as_decimal(&self) -> Result<Decimal, InputError> {
        let text: String = match self.value.get_ref() {
            DeValue::Integer(i) => {
                if i.radix() != 10 {
                    return Err(self.error("expected a decimal number, found a non-decimal integer"));
                }
                i.as_str().replace('_', "")
            }
            DeValue::Float(f) => f.as_str().replace('_', ""),
            DeValue::String(s) => s.trim().to_string(),
            other => {
                return Err(self.error(format!(
                    "expected a number such as 0.045 or \"0.045\", found {}",
                    other.type_str()
                )));
            }
        };
        let d = parse_decimal_text(&text)
            .ok_or_else(|| self.error(format!("`{text}` is not a number; write a decimal such as 0.045")))?;
        if d.abs() > Decimal::from(MAX_QUANTITY) {
            return Err(self.error(format!(
                "`{text}` is too large; numbers are at most {MAX_QUANTITY} (a trillion) in size"
            )));
        }
        Ok(d)
    }

    /// A non-negative decimal.
    pub fn as_non_negative(&self) -> Result<Decimal, InputError> {
        let d = self.as_decimal()?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(self.error(format!("must be zero or more, found {d}")));
        }
        Ok(d)
    }

    /// A whole number in `min..=max`.
    pub fn as_u32_in(&self, min: u32, max: u32) -> Result<u32, InputError> {
        let d = self.as_decimal()?;
        let ok = d.fract().is_zero() && d >= Decimal::from(min) && d <= Decimal::from(max);
        if !ok {
            return Err(self.error(format!("expected a whole number from {min} to {max}, found {d}")));
        }
        Ok(u32::try_from(d.mantissa() / 10i128.pow(d.scale())).unwrap_or(max))
    }

    /// A boolean.
    pub fn as_bool(&self) -> Result<bool, InputError> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            other => Err(self.error(format!("expected true or false, found {}", other.type_str()))),
        }
    }

    /// A value parsed with `FromStr`-like function; `what` says what is valid.
    pub fn parse_with<T>(&self, what: &str, f: impl FnOnce(&str) -> Result<T, String>) -> Result<T, InputError> {
        let s = self.as_str()?;
        f(s).map_err(|why| self.error(format!("{why}; expected {what}")))
    }
}

fn parse_decimal_text(text: &str) -> Option<Decimal> {
    if text.is_empty() || text.contains(['n', 'N', 'i', 'I']) {
        return None; // nan / inf
    }
    Decimal::from_str(text)
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
        .map(|d| d.normalize())
}

/// Reads one TOML table, tracking which keys were asked for.
pub struct TableReader<'d, 'a> {
    doc: &'d Document<'a>,
    path: String,
    span: Range<usize>,
    table: &'d DeTable<'a>,
    asked: RefCell<BTreeSet<String>>,
}

impl<'d, 'a> TableReader<'d, 'a> {
    /// Dotted path of this table (empty for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The document this table belongs to.
    pub fn doc(&self) -> &'d Document<'a> {
        self.doc
    }

    /// An error located at this table's header.
    pub fn error(&self, key: &str, message: impl Into<String>) -> InputError {
        self.doc.error_at(self.span.clone(), &join(&self.path, key), message)
    }

    /// The value under `key`, if present (marks the key as valid).
    pub fn get(&self, key: &str) -> Option<Value<'d, 'a>> {
        self.asked.borrow_mut().insert(key.to_string());
        self.table.get_key_value(key).map(|(_, v)| Value {
            path: join(&self.path, key),
            doc: self.doc,
            value: v,
        })
    }

    /// The value under `key`, or an error naming the missing key.
    pub fn require(&self, key: &str) -> Result<Value<'d, 'a>, InputError> {
        self.get(key).ok_or_else(|| {
            let place = if self.path.is_empty() {
                "the top level".to_string()
            } else {
                format!("[{}]", self.path)
            };
            self.error(key, format!("missing required key `{key}` in {place}"))
        })
    }

    /// All entries, in key order, for tables whose keys are data (e.g. traffic by destination).
    pub fn entries(&self) -> Vec<(String, Value<'d, 'a>)> {
        self.table
            .iter()
            .map(|(k, v)| {
                let key = k.get_ref().to_string();
                self.asked.borrow_mut().insert(key.clone());
                let path = join(&self.path, &quote_key(&key));
                (
                    key,
                    Value {
                        path,
                        doc: self.doc,
                        value: v,
                    },
                )
            })
            .collect()
    }

    /// Rejects keys that were never asked for, naming the valid ones.
    pub fn finish(&self) -> Result<(), InputError> {
        let asked = self.asked.borrow();
        for (k, _) in self.table.iter() {
            if !asked.contains(k.get_ref().as_ref()) {
                let valid: Vec<&str> = asked.iter().map(String::as_str).collect();
                return Err(self.doc.error_at(
                    k.span(),
                    &join(&self.path, k.get_ref()),
                    format!("unknown key; valid keys here: {}", valid.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

fn quote_key(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        format!("\"{key}\"")
    }
}

/// An owned-path value handle returned by [`TableReader::get`].
pub struct Value<'d, 'a> {
    path: String,
    doc: &'d Document<'a>,
    value: &'d Spanned<DeValue<'a>>,
}

impl<'d, 'a> Value<'d, 'a> {
    /// Borrow as a [`ValueRef`] for conversions.
    pub fn r(&self) -> ValueRef<'_, 'a> {
        ValueRef {
            doc: self.doc,
            path: &self.path,
            value: self.value,
        }
    }

    /// This value as a table (owning its path).
    pub fn table(&self) -> Result<TableReader<'d, 'a>, InputError> {
        match self.value.get_ref() {
            DeValue::Table(t) => Ok(TableReader {
                doc: self.doc,
                path: self.path.clone(),
                span: self.value.span(),
                table: t,
                asked: RefCell::new(BTreeSet::new()),
            }),
            other => Err(self.r().error(format!("expected a table, found {}", other.type_str()))),
        }
    }

    /// The elements of an array, each with its own path `key[i]`.
    pub fn items(&self) -> Result<Vec<Value<'d, 'a>>, InputError> {
        match self.value.get_ref() {
            DeValue::Array(a) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| Value {
                    path: format!("{}[{i}]", self.path),
                    doc: self.doc,
                    value: v,
                })
                .collect()),
            other => Err(self.r().error(format!("expected an array, found {}", other.type_str()))),
        }
    }

    /// Shorthands for the common conversions.
    pub fn str(&self) -> Result<String, InputError> {
        self.r().as_str().map(str::to_string)
    }
    /// See [`ValueRef::as_decimal`].
    pub fn decimal(&self) -> Result<Decimal, InputError> {
        self.r().as_decimal()
    }
    /// See [`ValueRef::as_non_negative`].
    pub fn non_negative(&self) -> Result<Decimal, InputError> {
        self.r().as_non_negative()
    }
    /// See [`ValueRef::as_u32_in`].
    pub fn u32_in(&self, min: u32, max: u32) -> Result<u32, InputError> {
        self.r().as_u32_in(min, max)
    }
    /// See [`ValueRef::as_bool`].
    pub fn bool(&self) -> Result<bool, InputError> {
        self.r().as_bool()
    }
    /// An error located at this value.
    pub fn error(&self, message: impl Into<String>) -> InputError {
        self.r().error(message)
    }
    /// The dotted path of this value.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// `s` as a TOML basic string, quoted and escaped (for the files costd writes).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_are_read_exactly_as_written() {
        let doc = Document::parse("t.toml", "a = 0.045\nb = \"0.0450000000\"\nc = 1_000\nd = 1e3\n").unwrap();
        let t = doc.root();
        assert_eq!(t.require("a").unwrap().decimal().unwrap(), dec!(0.045));
        assert_eq!(t.require("b").unwrap().decimal().unwrap(), dec!(0.045));
        assert_eq!(t.require("c").unwrap().decimal().unwrap(), dec!(1000));
        assert_eq!(t.require("d").unwrap().decimal().unwrap(), dec!(1000));
        t.finish().unwrap();
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let doc = Document::parse("t.toml", "[x]\na = 1\nb = \"abc\"\n").unwrap();
        let x = doc.root().require("x").unwrap().table().unwrap();
        let e = x.require("b").unwrap().decimal().unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.key.as_str()), ("t.toml", 3, "x.b"));
        let e = x.require("missing").err().unwrap();
        assert_eq!((e.line, e.key.as_str()), (1, "x.missing"));
        assert!(e.message.contains("missing required key"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_valid_ones() {
        let doc = Document::parse("t.toml", "a = 1\nzzz = 2\n").unwrap();
        let t = doc.root();
        let _ = t.get("a");
        let e = t.finish().unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "zzz"));
        assert!(e.message.contains("valid keys here: a"), "{e}");
    }

    #[test]
    fn duplicate_keys_are_a_syntax_error_with_a_line() {
        let e = Document::parse("t.toml", "a = 1\n\na = 2\n").err().unwrap();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("duplicate"), "{e}");
    }

    #[test]
    fn negative_and_non_numeric_values_are_rejected() {
        let doc = Document::parse("t.toml", "a = -1\nb = \"nan\"\nc = true\n").unwrap();
        let t = doc.root();
        assert!(
            t.require("a")
                .unwrap()
                .non_negative()
                .unwrap_err()
                .message
                .contains("zero or more")
        );
        assert!(t.require("b").unwrap().decimal().is_err());
        assert!(
            t.require("c")
                .unwrap()
                .decimal()
                .unwrap_err()
                .message
                .contains("found boolean")
        );
    }

    #[test]
    fn quoted_strings_read_back_as_written() {
        for text in [
            "plain",
            "a \"quote\" and a \\ backslash",
            "tab\tnew\nline",
            "bell \u{7} del \u{7f}",
            "ünïcødé",
        ] {
            let src = format!("k = {}", quote(text));
            let doc = Document::parse("q.toml", &src).unwrap();
            assert_eq!(doc.root().require("k").unwrap().str().unwrap(), text);
        }
    }
}
