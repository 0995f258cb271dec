//! The "Tables" section of DATASET.md, generated from the table definitions.

use std::fmt::Write as _;

use crate::schema::{ColumnDef, KEY_COLUMNS};
use crate::Table;

/// Where the generated section starts and ends in DATASET.md.
pub const BEGIN: &str = "<!-- tables: generated from dataset/src/tables.rs -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- end of tables -->";

/// The tables as markdown: the key columns, then each table's doc and columns.
pub fn tables() -> String {
    let mut s = String::new();
    s.push_str("Every table starts with three key columns:\n\n");
    columns(&mut s, KEY_COLUMNS);
    for &t in Table::ALL {
        let _ = writeln!(s, "\n### {}\n", t.name());
        let _ = writeln!(s, "{}\n", one_paragraph_per_blank(t.doc()));
        columns(&mut s, t.columns());
    }
    s
}

/// DATASET.md's text with its generated section replaced by [`tables`].
pub fn regenerate(doc: &str) -> Option<String> {
    let (head, rest) = doc.split_once(BEGIN)?;
    let (_, tail) = rest.split_once(END)?;
    Some(format!("{head}{BEGIN}\n\n{}\n{END}{tail}", tables()))
}

fn columns(s: &mut String, cols: &[ColumnDef]) {
    s.push_str("| column | type | meaning |\n|-|-|-|\n");
    for c in cols {
        let doc = c.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(s, "| `{}` | {} | {} |", c.name, c.kind, doc);
    }
}

/// Doc comment lines (each with its leading space) as paragraphs.
fn one_paragraph_per_blank(doc: &str) -> String {
    doc.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DATASET.md agrees with the definitions; `UPDATE_DATASET_MD=1` rewrites it.
    #[test]
    fn dataset_md_is_generated_from_the_definitions() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("DATASET.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let want = regenerate(&doc).expect("DATASET.md has the generated section's markers");
        if std::env::var("UPDATE_DATASET_MD").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        } else {
            assert!(
                doc == want,
                "DATASET.md is out of date: run UPDATE_DATASET_MD=1 cargo test -p exfleet-dataset"
            );
        }
    }
}
