//! CSV files are opened in spreadsheets, which read a cell starting with `=`, `+`, `-` or `@`
//! (or a tab or carriage return) as a formula: a host name or a log line chosen by whoever
//! controls a server would run in the reader's spreadsheet (CSV injection). Every CSV the
//! analyzer writes escapes such cells the OWASP way, a `'` before them; Parquet and JSON keep
//! the true value.

use std::borrow::Cow;

use polars::prelude::*;

/// The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
/// Injection").
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet could read `cell` as a formula.
pub fn formula_like(cell: &str) -> bool {
    cell.starts_with(FORMULA_START)
}

/// `cell` as a CSV file should hold it: with a `'` before it when a spreadsheet could read
/// it as a formula, unchanged otherwise.
pub fn escape_cell(cell: &str) -> Cow<'_, str> {
    if formula_like(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `df` with every text cell escaped by [`escape_cell`]: what a CSV writer should write.
/// Columns without such a cell are shared, not copied.
pub fn csv_safe(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut out = df.clone();
    for c in df.columns() {
        if c.dtype() != &DataType::String {
            continue;
        }
        let values = c.str()?;
        if !values.iter().flatten().any(formula_like) {
            continue;
        }
        let escaped: Vec<Option<String>> = values
            .iter()
            .map(|v| v.map(|s| escape_cell(s).into_owned()))
            .collect();
        out.replace(c.name().as_str(), Column::new(c.name().clone(), escaped))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_formulas_get_a_quote_and_others_stay() {
        for cell in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(escape_cell(cell), format!("'{cell}"));
        }
        for cell in ["EX01", "", "a=b", " =1", "'=1"] {
            assert_eq!(escape_cell(cell), cell);
        }
    }

    #[test]
    fn only_text_columns_are_escaped() {
        let df = DataFrame::new(
            3,
            vec![
                Column::new("host".into(), ["=cmd", "EX01", "@x"]),
                Column::new("n".into(), [-1i64, 2, 3]),
                Column::new("note".into(), [Some("fine"), None, Some("ok")]),
            ],
        )
        .unwrap();
        let safe = csv_safe(&df).unwrap();
        let text = |df: &DataFrame, name: &str| -> Vec<Option<String>> {
            let c = df.column(name).unwrap().str().unwrap().clone();
            c.iter().map(|v| v.map(str::to_string)).collect()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(text(&safe, "host"), [s("'=cmd"), s("EX01"), s("'@x")]);
        assert_eq!(text(&safe, "note"), [s("fine"), None, s("ok")]);
        let n: Vec<_> = safe.column("n").unwrap().i64().unwrap().iter().collect();
        assert_eq!(n, [Some(-1), Some(2), Some(3)]);
        // The frame given is unchanged (Parquet and JSON are written from it).
        assert_eq!(text(&df, "host"), [s("=cmd"), s("EX01"), s("@x")]);
    }
}
