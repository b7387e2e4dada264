//! Writing the plain bordered tables of the registers and lists into .xlsx worksheets (the
//! official attachments have their own layouts in `service::export`).

use rust_xlsxwriter::{Format, FormatBorder, Worksheet, XlsxError};

/// One cell of a table row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Self::Number(n as f64)
    }
}

/// Set the sheet's name and print it on A4 landscape, headings repeated on every page from
/// `head_row`.
pub fn a4_landscape(ws: &mut Worksheet, name: &str, head_row: u32) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    ws.set_paper_size(9);
    ws.set_landscape();
    ws.set_repeat_rows(head_row, head_row)?;
    Ok(())
}

/// Write bold bordered headings at `row` and the rows under them (text wrapped, borders
/// thin); returns the first row after the table.
pub fn write_table(
    ws: &mut Worksheet,
    row: u32,
    heads: &[&str],
    rows: &[Vec<Cell>],
) -> Result<u32, XlsxError> {
    let head = Format::new().set_bold().set_border(FormatBorder::Thin);
    let text = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    for (c, h) in heads.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &head)?;
    }
    let mut r = row + 1;
    for cells in rows {
        for (c, v) in cells.iter().enumerate() {
            match v {
                Cell::Text(s) => ws.write_string_with_format(r, c as u16, s, &text)?,
                Cell::Number(n) => ws.write_number_with_format(r, c as u16, *n, &text)?,
            };
        }
        r += 1;
    }
    Ok(r)
}
