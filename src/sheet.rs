//! Reading uploaded spreadsheets safely: .xlsx cell by cell (calamine) and .csv in UTF-8 (with or
//! without BOM), UTF-16 or GB18030, with limits on file size, unpacked size, rows and columns;
//! encrypted, legacy, malformed and non-spreadsheet files are refused with a message in Chinese.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx, XlsxError};

/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;
/// Most rows on the sheet (header rows included).
pub const MAX_ROWS: u32 = 200_000;
/// Most columns read; cells further right are ignored.
pub const MAX_COLUMNS: u32 = 200;
/// Largest text of one cell, in bytes (about 5,000 Chinese characters; no field of the forms
/// comes near it). A longer cell refuses the file, naming the cell.
pub const MAX_CELL_BYTES: usize = 16 * 1024;
/// Largest total size of an .xlsx file's parts once unpacked.
pub const MAX_UNPACKED_BYTES: u64 = 400 * 1024 * 1024;
/// Largest unpacked/packed ratio of one part bigger than 1 MiB (ordinary sheets stay far below;
/// zip bombs are in the thousands).
const MAX_RATIO: u64 = 200;

/// One cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    /// A number (Excel keeps 15 significant digits: long ID numbers typed as numbers are lost).
    Number(f64),
    /// A cell Excel formats as a date.
    Date(time::Date),
    Bool(bool),
    /// A formula error such as `#N/A`.
    Error(String),
}

impl Value {
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }
}

/// A merged range of cells: rows 1-based as Excel shows them, columns 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub first_row: u32,
    pub last_row: u32,
    pub first_col: u32,
    pub last_col: u32,
}

impl Merged {
    /// As Excel names it, e.g. `B5:B7`.
    pub fn name(&self) -> String {
        format!(
            "{}{}:{}{}",
            column_name(self.first_col),
            self.first_row,
            column_name(self.last_col),
            self.last_row
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

/// The first visible sheet of a file: its non-empty rows with their row numbers (1-based).
#[derive(Debug, Clone)]
pub struct Sheet {
    pub format: Format,
    pub rows: Vec<(u32, Vec<Value>)>,
    pub merged: Vec<Merged>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("文件为空")]
    EmptyFile,
    #[error("文件过大（{size_mb} MB）：单个文件不能超过 {limit_mb} MB，请分成几个文件导入")]
    TooLarge { size_mb: usize, limit_mb: usize },
    #[error("该文件不是电子表格：请上传 Excel 工作簿（.xlsx）或 CSV 文件")]
    NotSpreadsheet,
    #[error("文件设有打开密码（已加密），无法读取：请在 Excel 中取消密码并另存为 .xlsx 后再导入")]
    Encrypted,
    #[error("不支持旧版 Excel 97-2003（.xls）格式：请在 Excel 中“另存为” .xlsx 后再导入")]
    LegacyXls,
    #[error("文件已损坏，无法读取：请在 Excel 中打开确认后重新保存再导入")]
    Corrupt,
    #[error("文件解压后过大（超过 {limit_mb} MB）或压缩比异常，疑似“压缩炸弹”，已拒绝")]
    Bomb { limit_mb: u64 },
    #[error("行数过多：超过 {0} 行，请分成几个文件导入")]
    TooManyRows(u32),
    #[error("CSV 文件的文字编码无法识别：请保存为“CSV UTF-8”或 GB18030（GBK）编码")]
    Encoding,
    #[error("CSV 文件第{0}行格式有误（引号不成对等），请检查后重新保存")]
    CsvRow(u64),
    #[error("第{row}行第{column}列的内容过长（超过约5000字），请检查该单元格")]
    CellTooLong { row: u32, column: String },
}

/// Excel's column letters for a 0-based column (0 → A, 26 → AA).
pub fn column_name(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// What the streaming reader knows before the first row.
#[derive(Debug, Clone)]
pub struct Head {
    pub format: Format,
    pub merged: Vec<Merged>,
}

/// Read the first sheet of an uploaded file. The format is told by the content, not the name
/// (the name only decides for plain text, which is read as CSV). Rows are put in order.
pub fn read(bytes: &[u8]) -> Result<Sheet, SheetError> {
    let mut head = None;
    let mut rows: Vec<(u32, Vec<Value>)> = Vec::new();
    stream(
        bytes,
        |h| head = Some(h),
        |n, cells| {
            rows.push((n, cells));
            true
        },
    )?;
    let Head { format, merged } = head.ok_or(SheetError::Corrupt)?;
    // Cells normally come row by row; a file written otherwise is put in order.
    if rows.windows(2).any(|w| w[0].0 >= w[1].0) {
        rows.sort_by_key(|(n, _)| *n);
        let mut merged_rows: Vec<(u32, Vec<Value>)> = Vec::with_capacity(rows.len());
        for (n, cells) in rows {
            match merged_rows.last_mut() {
                Some((m, existing)) if *m == n => {
                    for (i, v) in cells.into_iter().enumerate() {
                        if !v.is_empty() {
                            if existing.len() <= i {
                                existing.resize(i + 1, Value::Empty);
                            }
                            existing[i] = v;
                        }
                    }
                }
                _ => merged_rows.push((n, cells)),
            }
        }
        rows = merged_rows;
    }
    Ok(Sheet {
        format,
        rows,
        merged,
    })
}

/// Read the first sheet row by row, without holding it whole: `head` once, then `row` for
/// every row with content, as the file has them (Excel writes them in order; a file that does
/// not gives a row number again or going back). `row` returns false to stop reading.
pub fn stream(
    bytes: &[u8],
    head: impl FnOnce(Head),
    row: impl FnMut(u32, Vec<Value>) -> bool,
) -> Result<(), SheetError> {
    if bytes.is_empty() {
        return Err(SheetError::EmptyFile);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SheetError::TooLarge {
            size_mb: bytes.len().div_ceil(1024 * 1024),
            limit_mb: MAX_FILE_BYTES / (1024 * 1024),
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return stream_xlsx(bytes, head, row);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // An OLE2 compound file: an encrypted .xlsx keeps its package in an `EncryptedPackage`
        // stream; anything else is a legacy .xls (or .doc).
        let marker: Vec<u8> = "EncryptedPackage"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        return Err(if bytes.windows(marker.len()).any(|w| w == marker) {
            SheetError::Encrypted
        } else {
            SheetError::LegacyXls
        });
    }
    stream_csv(bytes, head, row)
}

fn check_zip(bytes: &[u8]) -> Result<(), SheetError> {
    let bomb = SheetError::Bomb {
        limit_mb: MAX_UNPACKED_BYTES / (1024 * 1024),
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| SheetError::Corrupt)?;
    let mut total: u64 = 0;
    let mut workbook = false;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|_| SheetError::Corrupt)?;
        if f.encrypted() {
            return Err(SheetError::Encrypted);
        }
        let size = f.size();
        if size > 1024 * 1024 && size / f.compressed_size().max(1) > MAX_RATIO {
            return Err(bomb);
        }
        total = total.saturating_add(size);
        if f.name().is_ok_and(|n| n == "xl/workbook.xml") {
            workbook = true;
        }
    }
    if total > MAX_UNPACKED_BYTES {
        return Err(bomb);
    }
    if !workbook {
        // A zip, but not a workbook: a .docx, a .zip of files …
        return Err(SheetError::NotSpreadsheet);
    }
    Ok(())
}

/// Whether any worksheet part holds merged cells. Unpacking and searching the parts is several
/// times cheaper than calamine's XML walk for merged regions, which then only runs when needed.
fn has_merged_cells(bytes: &[u8]) -> Result<bool, SheetError> {
    use std::io::Read;
    let needle = b"<mergeCell ";
    let finder = memchr::memmem::Finder::new(needle);
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| SheetError::Corrupt)?;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|_| SheetError::Corrupt)?;
        if !part.name_raw().starts_with(b"xl/worksheets/") {
            continue;
        }
        let mut buf = vec![0u8; 1 << 16];
        let mut carry = 0usize;
        loop {
            let n = part
                .read(&mut buf[carry..])
                .map_err(|_| SheetError::Corrupt)?;
            if n == 0 {
                break;
            }
            let end = carry + n;
            if finder.find(&buf[..end]).is_some() {
                return Ok(true);
            }
            // Keep the tail, in case the tag is split between two reads.
            let keep = (needle.len() - 1).min(end);
            buf.copy_within(end - keep..end, 0);
            carry = keep;
        }
    }
    Ok(false)
}

fn xlsx_error(e: XlsxError) -> SheetError {
    match e {
        XlsxError::Password => SheetError::Encrypted,
        XlsxError::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => SheetError::Bomb {
            limit_mb: MAX_UNPACKED_BYTES / (1024 * 1024),
        },
        _ => SheetError::Corrupt,
    }
}

fn date_of(y: u16, m: u8, d: u8) -> Option<time::Date> {
    time::Date::from_calendar_date(i32::from(y), time::Month::try_from(m).ok()?, d).ok()
}

fn stream_xlsx(
    bytes: &[u8],
    head: impl FnOnce(Head),
    mut row: impl FnMut(u32, Vec<Value>) -> bool,
) -> Result<(), SheetError> {
    // The zip's own directory says how big every part unpacks to, and the zip reader stops at
    // that size; checking it first keeps a bomb from ever being inflated.
    check_zip(bytes)?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
    // The first visible worksheet (templates keep their code lists on a hidden one).
    let Some(name) = wb
        .sheets_metadata()
        .iter()
        .find(|s| {
            s.visible == calamine::SheetVisible::Visible && s.typ == calamine::SheetType::WorkSheet
        })
        .map(|s| s.name.clone())
    else {
        return Err(SheetError::NotSpreadsheet);
    };
    let merged = if has_merged_cells(bytes)? {
        wb.merge_cells_by_sheet_name(&name).map_err(xlsx_error)?
    } else {
        Vec::new()
    };
    let merged = merged
        .into_iter()
        .map(|d| Merged {
            first_row: d.start.0 + 1,
            last_row: d.end.0 + 1,
            first_col: d.start.1,
            last_col: d.end.1,
        })
        .collect();
    head(Head {
        format: Format::Xlsx,
        merged,
    });
    let mut reader = wb.worksheet_cells_reader(&name).map_err(xlsx_error)?;
    // The row being gathered: its number and cells.
    let mut current: Option<(u32, Vec<Value>)> = None;
    while let Some(cell) = reader.next_cell().map_err(xlsx_error)? {
        let (r, c) = cell.get_position();
        if c >= MAX_COLUMNS {
            continue;
        }
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::Int(i) => Value::Number(*i as f64),
            DataRef::Float(f) => Value::Number(*f),
            DataRef::String(s) => Value::Text(s.clone()),
            DataRef::SharedString(s) => Value::Text((*s).to_owned()),
            DataRef::Bool(b) => Value::Bool(*b),
            DataRef::DateTime(dt) if dt.is_datetime() => {
                let (y, m, d, ..) = dt.to_ymd_hms_milli();
                match date_of(y, m, d) {
                    Some(date) => Value::Date(date),
                    None => Value::Number(dt.as_f64()),
                }
            }
            DataRef::DateTime(dt) => Value::Number(dt.as_f64()),
            DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Value::Text(s.clone()),
            DataRef::Error(e) => Value::Error(e.to_string()),
        };
        if value.is_empty() {
            continue;
        }
        if let Value::Text(t) = &value
            && t.len() > MAX_CELL_BYTES
        {
            return Err(SheetError::CellTooLong {
                row: r + 1,
                column: column_name(c),
            });
        }
        if r >= MAX_ROWS {
            return Err(SheetError::TooManyRows(MAX_ROWS));
        }
        let number = r + 1;
        if current.as_ref().is_some_and(|(n, _)| *n != number)
            && let Some((n, cells)) = current.take()
            && !row(n, cells)
        {
            return Ok(());
        }
        let (_, cells) = current.get_or_insert_with(|| (number, Vec::new()));
        let c = c as usize;
        if cells.len() <= c {
            cells.resize(c + 1, Value::Empty);
        }
        cells[c] = value;
    }
    if let Some((n, cells)) = current {
        row(n, cells);
    }
    Ok(())
}

/// The text of a CSV file: UTF-8 (a BOM is dropped), UTF-16 with a BOM (Excel's "Unicode
/// text"), else GB18030 (which covers GBK and GB2312, what Chinese Excel writes by default).
/// UTF-8 text is read where it lies (no copy of the file).
fn decode(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, SheetError> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom..]);
        if had_errors {
            return Err(SheetError::Encoding);
        }
        return Ok(text);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.into());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(SheetError::Encoding)
}

fn stream_csv(
    bytes: &[u8],
    head: impl FnOnce(Head),
    mut row: impl FnMut(u32, Vec<Value>) -> bool,
) -> Result<(), SheetError> {
    let text = decode(bytes)?;
    // Text never holds NUL or most other control characters; binary files (PDF, images,
    // executables) decoded by accident do.
    let start: String = text.chars().take(8192).collect();
    let odd = start
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    if start.contains('\0') || odd * 100 > start.chars().count().max(1) {
        return Err(SheetError::NotSpreadsheet);
    }
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    head(Head {
        format: Format::Csv,
        merged: Vec::new(),
    });
    for (i, record) in reader.records().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if number > MAX_ROWS {
            return Err(SheetError::TooManyRows(MAX_ROWS));
        }
        let record = record.map_err(|e| {
            SheetError::CsvRow(e.position().map_or(u64::from(number), |p| p.line()))
        })?;
        if let Some(c) = record.iter().position(|s| s.len() > MAX_CELL_BYTES) {
            return Err(SheetError::CellTooLong {
                row: number,
                column: column_name(u32::try_from(c).unwrap_or(0)),
            });
        }
        let cells: Vec<Value> = record
            .iter()
            .take(MAX_COLUMNS as usize)
            .map(|s| {
                if s.trim().is_empty() {
                    Value::Empty
                } else {
                    Value::Text(s.to_owned())
                }
            })
            .collect();
        if cells.iter().all(Value::is_empty) {
            continue;
        }
        if !row(number, cells) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(27), "AB");
        assert_eq!(column_name(701), "ZZ");
        assert_eq!(column_name(702), "AAA");
    }

    #[test]
    fn csv_in_three_encodings() {
        let text = "姓名,民族\n张三,汉族\n";
        let utf8 = read(text.as_bytes()).unwrap();
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let with_bom = read(&bom).unwrap();
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        let gb = read(&gb).unwrap();
        for s in [utf8, with_bom, gb] {
            assert_eq!(s.rows.len(), 2);
            assert_eq!(s.rows[1].1[0], Value::Text("张三".into()));
            assert_eq!(s.rows[0].1[0], Value::Text("姓名".into()));
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(read(b"").err(), Some(SheetError::EmptyFile));
        assert_eq!(
            read(b"%PDF-1.4\0\0\x01\x02binary").err(),
            Some(SheetError::NotSpreadsheet)
        );
        assert_eq!(read(b"PK\x03\x04garbage").err(), Some(SheetError::Corrupt));
        let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole.extend_from_slice(&[0; 100]);
        assert_eq!(read(&ole).err(), Some(SheetError::LegacyXls));
        ole.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(read(&ole).err(), Some(SheetError::Encrypted));
        assert!(matches!(
            read(&vec![b'a'; MAX_FILE_BYTES + 1]),
            Err(SheetError::TooLarge { .. })
        ));
        let long = format!("姓名,备注\n张三,{}\n", "很".repeat(6000));
        let e = read(long.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            SheetError::CellTooLong {
                row: 2,
                column: "B".into()
            }
        );
        assert!(e.to_string().contains("第2行第B列"), "{e}");
        // The row limit is met while streaming: the rows before it were handed on, no more.
        let mut many = String::from("姓名\n");
        for i in 0..MAX_ROWS {
            many.push_str(&format!("张{i}\n"));
        }
        let mut handed = 0u32;
        let e = stream(
            many.as_bytes(),
            |_| {},
            |_, _| {
                handed += 1;
                true
            },
        )
        .unwrap_err();
        assert_eq!(e, SheetError::TooManyRows(MAX_ROWS));
        assert_eq!(handed, MAX_ROWS, "refused at row {}", MAX_ROWS + 1);
    }
}
