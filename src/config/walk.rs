//! The document walker: byte spans → line/column, the diagnostics collector, and typed access
//! to tables and values that reports every problem instead of stopping at the first.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, TableLike, Value};

use super::diagnostic::{Diagnostic, Severity};

type Span = Option<Range<usize>>;

/// One source text, able to turn a byte offset into a 1-based line and column.
pub(crate) struct Source<'t> {
    file: PathBuf,
    text: &'t str,
    /// Byte offset of the first byte of every line.
    line_starts: Vec<usize>,
}

impl<'t> Source<'t> {
    pub(crate) fn new(text: &'t str, file: &Path) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file: file.to_path_buf(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of `offset`; out-of-range offsets clamp.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// Collects errors and warnings against one [`Source`].
pub(crate) struct Report<'s, 't> {
    source: &'s Source<'t>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'s, 't> Report<'s, 't> {
    pub(crate) fn new(source: &'s Source<'t>) -> Self {
        Report {
            source,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, key: &str, span: Span, message: impl Into<String>) {
        self.push(Severity::Error, key, span, message.into());
    }

    pub(crate) fn warning(&mut self, key: &str, span: Span, message: impl Into<String>) {
        self.push(Severity::Warning, key, span, message.into());
    }

    fn push(&mut self, severity: Severity, key: &str, span: Span, message: String) {
        let (line, column) = self.source.position(span.map_or(0, |s| s.start));
        self.diagnostics.push(Diagnostic {
            file: self.source.file.clone(),
            line,
            column,
            key: key.to_string(),
            message,
            severity,
        });
    }
}

/// Parses TOML text keeping spans; a syntax error becomes one diagnostic at its position.
pub(crate) fn parse_document<'t>(
    text: &'t str,
    report: &mut Report,
) -> Option<ImDocument<&'t str>> {
    match ImDocument::parse(text) {
        Ok(doc) => Some(doc),
        Err(e) => {
            let message = e
                .message()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            report.error("", e.span(), format!("TOML syntax error: {message}"));
            None
        }
    }
}

/// Joins a parent key path and a child name: `("timeout", "idle")` → `timeout.idle`.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A value or item found in the document, with its dotted key and where it is.
#[derive(Clone)]
pub(crate) struct Field<'a> {
    pub(crate) key: String,
    pub(crate) span: Span,
    node: Node<'a>,
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
}

impl<'a> Field<'a> {
    fn type_name(&self) -> &'static str {
        match self.node {
            Node::Item(Item::Value(v)) | Node::Value(v) => value_type_name(v),
            Node::Item(Item::Table(_)) => "a table",
            Node::Item(Item::ArrayOfTables(_)) => "an array of tables",
            Node::Item(Item::None) => "nothing",
        }
    }

    fn value(&self) -> Option<&'a Value> {
        match self.node {
            Node::Item(Item::Value(v)) | Node::Value(v) => Some(v),
            _ => None,
        }
    }

    fn wrong_type(&self, report: &mut Report, expected: &str) {
        let msg = format!("expected {expected}, found {}", self.type_name());
        report.error(&self.key, self.span.clone(), msg);
    }

    pub(crate) fn error(&self, report: &mut Report, message: impl Into<String>) {
        report.error(&self.key, self.span.clone(), message);
    }

    pub(crate) fn warning(&self, report: &mut Report, message: impl Into<String>) {
        report.warning(&self.key, self.span.clone(), message);
    }

    /// The string value, if it is one; reports nothing (for checks that run after `str`).
    pub(crate) fn peek_str(&self) -> Option<&'a str> {
        self.value().and_then(Value::as_str)
    }

    pub(crate) fn str(&self, report: &mut Report) -> Option<&'a str> {
        let s = self.value().and_then(Value::as_str);
        if s.is_none() {
            self.wrong_type(report, "a string");
        }
        s
    }

    pub(crate) fn bool(&self, report: &mut Report) -> Option<bool> {
        let b = self.value().and_then(Value::as_bool);
        if b.is_none() {
            self.wrong_type(report, "a boolean (true or false)");
        }
        b
    }

    pub(crate) fn integer(&self, report: &mut Report) -> Option<i64> {
        let i = self.value().and_then(Value::as_integer);
        if i.is_none() {
            self.wrong_type(report, "an integer");
        }
        i
    }

    /// The elements of an array, keyed `key[0]`, `key[1]`, …
    pub(crate) fn array(&self, report: &mut Report) -> Option<Vec<Field<'a>>> {
        let Some(array) = self.value().and_then(Value::as_array) else {
            self.wrong_type(report, "an array");
            return None;
        };
        let elements = array.iter().enumerate().map(|(i, v)| Field {
            key: format!("{}[{i}]", self.key),
            span: v.span().or_else(|| self.span.clone()),
            node: Node::Value(v),
        });
        Some(elements.collect())
    }

    /// An array of strings; elements of another type are reported and skipped.
    pub(crate) fn strings(&self, report: &mut Report) -> Option<Vec<(Field<'a>, &'a str)>> {
        let elements = self.array(report)?;
        let strings = elements
            .into_iter()
            .filter_map(|f| f.str(report).map(|s| (f.clone(), s)))
            .collect();
        Some(strings)
    }

    /// This field as a table (a `[header]` table or an inline `{ … }` table).
    pub(crate) fn table(&self, report: &mut Report) -> Option<Section<'a>> {
        let table: Option<&'a dyn TableLike> = match self.node {
            Node::Item(item) => item.as_table_like(),
            Node::Value(Value::InlineTable(t)) => Some(t),
            Node::Value(_) => None,
        };
        match table {
            Some(table) => Some(Section {
                key: self.key.clone(),
                span: self.span.clone(),
                table,
            }),
            None => {
                self.wrong_type(report, "a table");
                None
            }
        }
    }

    /// This field as a list of tables (`[[name]]` or an array of inline tables).
    pub(crate) fn tables(&self, report: &mut Report) -> Option<Vec<Section<'a>>> {
        if let Node::Item(Item::ArrayOfTables(aot)) = self.node {
            let sections = aot.iter().enumerate().map(|(i, t)| Section {
                key: format!("{}[{i}]", self.key),
                span: t.span().or_else(|| self.span.clone()),
                table: t,
            });
            return Some(sections.collect());
        }
        let elements = self.array(report)?;
        Some(elements.iter().filter_map(|f| f.table(report)).collect())
    }
}

fn value_type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

/// A table being read, under its dotted key (empty for the document root).
pub(crate) struct Section<'a> {
    pub(crate) key: String,
    pub(crate) span: Span,
    table: &'a dyn TableLike,
}

impl<'a> Section<'a> {
    pub(crate) fn root(table: &'a dyn TableLike) -> Self {
        Section {
            key: String::new(),
            span: None,
            table,
        }
    }

    /// Reports every key not in `allowed`, at the key's position.
    pub(crate) fn reject_unknown(&self, allowed: &[&str], report: &mut Report) {
        for (name, item) in self.table.iter() {
            if allowed.contains(&name) {
                continue;
            }
            let key_span = self.table.get_key_value(name).and_then(|(k, _)| k.span());
            let span = key_span
                .or_else(|| item.span())
                .or_else(|| self.span.clone());
            let msg = if allowed.is_empty() {
                "unknown key".to_string()
            } else {
                format!("unknown key (expected one of: {})", allowed.join(", "))
            };
            report.error(&join(&self.key, name), span, msg);
        }
    }

    /// The field `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<Field<'a>> {
        let (key, item) = self.table.get_key_value(name)?;
        let span = item
            .span()
            .or_else(|| key.span())
            .or_else(|| self.span.clone());
        Some(Field {
            key: join(&self.key, name),
            span,
            node: Node::Item(item),
        })
    }

    /// Reports a missing required key at the table's position.
    pub(crate) fn missing(&self, name: &str, report: &mut Report) {
        report.error(
            &join(&self.key, name),
            self.span.clone(),
            "missing required key",
        );
    }

    /// The field `name`; when absent, reported as a missing required key.
    pub(crate) fn required(&self, name: &str, report: &mut Report) -> Option<Field<'a>> {
        let field = self.get(name);
        if field.is_none() {
            self.missing(name, report);
        }
        field
    }
}

/// Overwrites `slot` with the value of `name` when it is present and valid.
pub(crate) fn set<'a, T>(
    s: Option<&Section<'a>>,
    name: &str,
    r: &mut Report,
    slot: &mut T,
    read: impl FnOnce(&Field<'a>, &mut Report) -> Option<T>,
) {
    if let Some(field) = s.and_then(|s| s.get(name)) {
        if let Some(v) = read(&field, r) {
            *slot = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_one_based_line_and_character_column() {
        let src = Source::new("ab\ncé d\n", Path::new("x.toml"));
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(3), (2, 1));
        // "cé " is 4 bytes but 3 characters.
        assert_eq!(src.position(7), (2, 4));
        assert_eq!(src.position(100), (3, 1));
    }
}
