//! Reading a licensing-roster file row by row without holding it whole: .xlsx (through
//! `sheet`), CSV in UTF-8 (with or without BOM), UTF-16 with BOM or GB18030, and JSON Lines;
//! every file's SHA-256 computed on the way.

use std::io::{self, BufRead, BufReader, Read};

use sha2::{Digest, Sha256};

use crate::sheet::{self, Value};

/// Most rows of one file.
pub const MAX_ROWS: u64 = 5_000_000;
/// Longest JSON line, in bytes.
const MAX_LINE_BYTES: u64 = 64 * 1024;

/// Where a file comes from.
pub enum Source {
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>),
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Sheet(#[from] sheet::SheetError),
    #[error("文件为空")]
    Empty,
    #[error("无法读取文件：{0}")]
    Io(String),
    #[error(
        "第{0}行附近的文字编码有误：请把文件保存为 UTF-8（可带 BOM）或 GB18030（GBK）编码的 CSV"
    )]
    Encoding(u64),
    #[error(
        "文件含有空字符，不是 UTF-8 或 GB18030 文本（可能是无 BOM 的 UTF-16 文件或二进制文件）：请另存为“CSV UTF-8”"
    )]
    NulBytes,
    #[error("第{0}行不是有效的 JSON 对象：JSON Lines 文件每行一个 JSON 对象")]
    Json(u64),
    #[error("第{0}行过长（超过 64 KB）")]
    LineTooLong(u64),
    #[error("第{row}行第{column}列的内容过长（超过约5000字），请检查该单元格")]
    CellTooLong { row: u64, column: String },
    #[error("行数过多：一个文件不能超过 {0} 行")]
    TooManyRows(u64),
}

/// The file's format, told by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    JsonLines,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Self::Xlsx => "Excel 工作簿",
            Self::Csv => "CSV",
            Self::JsonLines => "JSON Lines",
        }
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A reader turning text of some encoding into UTF-8, refusing malformed input.
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    at: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, decoder: encoding_rs::Decoder) -> Self {
        Self {
            inner,
            decoder,
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            output: Vec::with_capacity(256 * 1024),
            at: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.output.len() {
                let n = buf.len().min(self.output.len() - self.at);
                buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                self.end = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.eof = self.end == 0;
            }
            self.output.clear();
            self.output.resize(256 * 1024, 0);
            self.at = 0;
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            self.start += read;
            self.output.truncate(written);
            match result {
                encoding_rs::DecoderResult::Malformed(_, _) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed"));
                }
                encoding_rs::DecoderResult::InputEmpty if self.eof => self.done = true,
                _ => {}
            }
        }
    }
}

/// What the reader hands on: the format once, then each row with content.
pub struct Rows<'a> {
    pub on_format: &'a mut dyn FnMut(Format),
    /// A row as the file numbers it (1-based) and its cells; false stops reading.
    pub on_row: &'a mut dyn FnMut(u64, Vec<Value>) -> bool,
}

/// Read a file; its SHA-256 in hex.
pub fn read(source: Source, rows: Rows<'_>) -> Result<String, ReadError> {
    match source {
        Source::Bytes(bytes) => {
            let digest = hex::encode(Sha256::digest(&bytes));
            if bytes.starts_with(b"PK\x03\x04")
                || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
            {
                (rows.on_format)(Format::Xlsx);
                let on_row = rows.on_row;
                sheet::stream(&bytes, |_| {}, |row, cells| on_row(u64::from(row), cells))?;
                return Ok(digest);
            }
            read_text(Box::new(io::Cursor::new(bytes)), rows)?;
            Ok(digest)
        }
        Source::Reader(r) => {
            let mut hashing = Hashing {
                inner: r,
                hash: Sha256::new(),
            };
            let mut head = vec![0u8; 8];
            let n = read_full(&mut hashing, &mut head)?;
            head.truncate(n);
            if head.starts_with(b"PK\x03\x04")
                || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
            {
                // A workbook is read whole (calamine needs it so; sheet limits apply).
                let mut all = head;
                hashing
                    .by_ref()
                    .take(sheet::MAX_FILE_BYTES as u64 + 1)
                    .read_to_end(&mut all)
                    .map_err(|e| ReadError::Io(e.to_string()))?;
                return read(Source::Bytes(all), rows);
            }
            let chained = io::Cursor::new(head).chain(&mut hashing);
            read_text(Box::new(chained), rows)?;
            // Whatever the reader stopped short of still counts in the digest.
            io::copy(&mut hashing, &mut io::sink()).map_err(|e| ReadError::Io(e.to_string()))?;
            Ok(hex::encode(hashing.hash.finalize()))
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    }
    Ok(n)
}

/// CSV or JSON Lines, told by the first character that is not white space.
fn read_text(r: Box<dyn Read + Send + '_>, rows: Rows<'_>) -> Result<(), ReadError> {
    let mut r = BufReader::with_capacity(64 * 1024, r);
    let head = r.fill_buf().map_err(|e| ReadError::Io(e.to_string()))?;
    if head.is_empty() {
        return Err(ReadError::Empty);
    }
    let bom_utf8 = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let bom_utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if !bom_utf16 && head.contains(&0) {
        return Err(ReadError::NulBytes);
    }
    let encoding = if bom_utf8 || bom_utf16 {
        encoding_rs::UTF_8
    } else {
        match std::str::from_utf8(head) {
            Ok(_) => encoding_rs::UTF_8,
            // A character cut by the end of the sample is still UTF-8.
            Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
            Err(_) => encoding_rs::GB18030,
        }
    };
    // `new_decoder` follows a BOM if there is one.
    let decoded = BufReader::new(Decoding::new(r, encoding.new_decoder()));
    let mut decoded = decoded;
    let first = {
        let buf = decoded.fill_buf().map_err(|e| map_io(e, 1))?;
        buf.iter().copied().find(|b| !b.is_ascii_whitespace())
    };
    if first == Some(b'{') {
        (rows.on_format)(Format::JsonLines);
        json_lines(decoded, rows.on_row)
    } else {
        (rows.on_format)(Format::Csv);
        csv_rows(decoded, rows.on_row)
    }
}

fn map_io(e: io::Error, row: u64) -> ReadError {
    if e.kind() == io::ErrorKind::InvalidData {
        ReadError::Encoding(row)
    } else {
        ReadError::Io(e.to_string())
    }
}

fn check_cell(row: u64, col: usize, text: &str) -> Result<(), ReadError> {
    if text.len() > sheet::MAX_CELL_BYTES {
        return Err(ReadError::CellTooLong {
            row,
            column: sheet::column_name(col as u32),
        });
    }
    Ok(())
}

fn csv_rows(
    r: impl Read,
    on_row: &mut dyn FnMut(u64, Vec<Value>) -> bool,
) -> Result<(), ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    let mut record = csv::StringRecord::new();
    let mut count = 0u64;
    loop {
        let line = record.position().map_or(1, |p| p.line() + 1);
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                return Err(match e.kind() {
                    csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                        ReadError::Encoding(line)
                    }
                    csv::ErrorKind::Utf8 { .. } => ReadError::Encoding(line),
                    _ => ReadError::Sheet(sheet::SheetError::CsvRow(line)),
                });
            }
        }
        let row = record.position().map_or(line, csv::Position::line);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        count += 1;
        if count > MAX_ROWS {
            return Err(ReadError::TooManyRows(MAX_ROWS));
        }
        let mut cells = Vec::with_capacity(record.len());
        for (i, c) in record.iter().enumerate() {
            check_cell(row, i, c)?;
            let c = c.trim_start_matches('\u{feff}');
            cells.push(if c.trim().is_empty() {
                Value::Empty
            } else {
                Value::Text(c.to_owned())
            });
        }
        if !on_row(row, cells) {
            return Ok(());
        }
    }
}

/// JSON Lines: the first object's keys are the header (row 0 is never given: the header is
/// handed on as row 1 and the first object as row 1 too would clash, so objects keep their
/// line numbers and the header comes as line 0).
fn json_lines(
    mut r: impl BufRead,
    on_row: &mut dyn FnMut(u64, Vec<Value>) -> bool,
) -> Result<(), ReadError> {
    let mut keys: Vec<String> = Vec::new();
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        line_no += 1;
        let n = (&mut r)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| map_io(e, line_no))?;
        if n == 0 {
            return Ok(());
        }
        if n as u64 > MAX_LINE_BYTES {
            return Err(ReadError::LineTooLong(line_no));
        }
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        if line_no > MAX_ROWS {
            return Err(ReadError::TooManyRows(MAX_ROWS));
        }
        let serde_json::Value::Object(obj) =
            serde_json::from_str(text).map_err(|_| ReadError::Json(line_no))?
        else {
            return Err(ReadError::Json(line_no));
        };
        if keys.is_empty() {
            keys = obj.keys().cloned().collect();
            let head = keys.iter().map(|k| Value::Text(k.clone())).collect();
            if !on_row(0, head) {
                return Ok(());
            }
        }
        let mut cells = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let v = match obj.get(k) {
                None | Some(serde_json::Value::Null) => Value::Empty,
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Value::Empty,
                Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
                Some(serde_json::Value::Number(n)) => Value::Text(n.to_string()),
                Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
                Some(other) => Value::Text(other.to_string()),
            };
            if let Value::Text(t) = &v {
                check_cell(line_no, i, t)?;
            }
            cells.push(v);
        }
        if !on_row(line_no, cells) {
            return Ok(());
        }
    }
}
