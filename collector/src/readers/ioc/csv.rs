//! One line of an Exchange CSV log split into its fields: comma-separated, a value holding a
//! comma or a quote double-quoted with its quotes doubled (`"a ""b"", c"`). Lines are split one
//! at a time (a quoted value never spans lines in these logs), so a broken quote spoils one
//! line only.

use std::borrow::Cow;

/// The fields of `line`. An unterminated quote runs to the line's end.
pub fn fields(line: &[u8]) -> Vec<Cow<'_, str>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let mut value = Vec::new();
            i += 1;
            loop {
                match line.get(i) {
                    None => break,
                    Some(b'"') if line.get(i + 1) == Some(&b'"') => {
                        value.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            // Text between the closing quote and the next comma belongs to the value.
            let end =
                memchr::memchr(b',', &line[i.min(line.len())..]).map_or(line.len(), |p| i + p);
            value.extend_from_slice(&line[i.min(end)..end]);
            out.push(Cow::Owned(String::from_utf8_lossy(&value).into_owned()));
            i = end;
        } else {
            let end = memchr::memchr(b',', &line[i..]).map_or(line.len(), |p| i + p);
            out.push(String::from_utf8_lossy(&line[i..end]));
            i = end;
        }
        if i >= line.len() {
            break;
        }
        // Past the comma.
        i += 1;
        if i == line.len() {
            out.push(Cow::Borrowed(""));
            break;
        }
    }
    out
}

/// A header row: its column names, to find columns by name (case ignored), never by position.
#[derive(Debug, Clone, Default)]
pub struct Header(Vec<String>);

impl Header {
    /// The header of a CSV log from its header line (`#Fields: ` in front is dropped).
    pub fn parse(line: &[u8]) -> Header {
        let line = strip_prefix_ci(line, b"#Fields:").unwrap_or(line);
        Header(
            fields(line)
                .into_iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect(),
        )
    }

    /// The position of a column, by name without regard to case.
    pub fn column(&self, name: &str) -> Option<usize> {
        let name = name.to_ascii_lowercase();
        self.0.iter().position(|c| *c == name)
    }

    /// Whether the header has no column.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|c| c.is_empty())
    }
}

/// `line` without `prefix` (ASCII case ignored) and the spaces after it.
pub fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    if line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix) {
        let rest = &line[prefix.len()..];
        let skip = rest.iter().take_while(|b| **b == b' ').count();
        Some(&rest[skip..])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(s: &str) -> Vec<String> {
        fields(s.as_bytes())
            .into_iter()
            .map(|c| c.into_owned())
            .collect()
    }

    #[test]
    fn plain_quoted_and_empty_fields() {
        assert_eq!(f("a,b,c"), ["a", "b", "c"]);
        assert_eq!(f("a,,c,"), ["a", "", "c", ""]);
        assert_eq!(f(r#""x, y","say ""hi""",z"#), ["x, y", r#"say "hi""#, "z"]);
        assert_eq!(f(""), [""]);
        assert_eq!(f(r#""open, to the end"#), ["open, to the end"]);
    }

    #[test]
    fn header_columns_by_name_ignoring_case() {
        let h = Header::parse(b"#Fields: DateTime,RequestId,AnchorMailbox");
        assert_eq!(h.column("anchormailbox"), Some(2));
        assert_eq!(h.column("datetime"), Some(0));
        assert_eq!(h.column("HttpStatus"), None);
    }

    // Writes fields as a CSV writer would.
    fn write(values: &[String]) -> String {
        values
            .iter()
            .map(|v| {
                if v.contains([',', '"']) || v.starts_with('"') {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    proptest! {
        // What a CSV writer wrote reads back as the same fields.
        #[test]
        fn round_trips_what_a_writer_wrote(values in proptest::collection::vec("[a-z,\" ~/#]{0,12}", 1..10)) {
            let line = write(&values);
            prop_assert_eq!(f(&line), values);
        }

        // Any bytes: no panic, and at least one field.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert!(!fields(&bytes).is_empty());
        }
    }
}
