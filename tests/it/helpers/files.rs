//! Spreadsheets as users write them, built in the test: member lists (附件1 columns in the
//! template's words), firm registries and organisation rosters, with cells typed the way
//! Excel types them.

use rust_xlsxwriter::{Format, Workbook};

use super::fresh_id;

/// The columns of a lawyer file, in the template's words (＊ marks as the template writes them).
pub const HEAD: [&str; 12] = [
    "律师事务所统一社会信用代码",
    "＊姓名",
    "＊公民身份号码",
    "＊民族",
    "＊学历",
    "＊手机号码",
    "＊人员类别",
    "＊入党日期",
    "转正日期",
    "＊执业证号",
    "＊执业类别",
    "备注（党组织填写）",
];

/// A good lawyer row: ID number `fresh_id(seq)`, licence ending in `seq`.
pub fn row(firm: &str, seq: u32) -> Vec<String> {
    [
        firm,
        &format!("林{seq}"),
        &fresh_id(seq),
        "汉族",
        "研究生教育",
        "13800138000",
        "正式党员",
        "1960-07-01",
        "1961-07-01",
        &format!("11101200511999{seq:03}"),
        "专职律师",
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// A cell to write: text, a number, or a date-formatted number.
pub enum Cell {
    Text(String),
    Number(f64),
    Date(u16, u8, u8),
}

/// An .xlsx with a header row and data rows (all text unless a cell is overridden).
pub struct Book {
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub cells: Vec<(u32, u16, Cell)>,
    pub merges: Vec<(u32, u16, u32, u16)>,
}

impl Book {
    pub fn new(rows: Vec<Vec<String>>) -> Self {
        Self {
            head: HEAD.iter().map(|s| (*s).to_owned()).collect(),
            rows,
            cells: Vec::new(),
            merges: Vec::new(),
        }
    }

    /// Override data row `r` (0-based), column `c`.
    pub fn cell(mut self, r: u32, c: u16, v: Cell) -> Self {
        self.cells.push((r, c, v));
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("附件1").unwrap();
        for (c, h) in self.head.iter().enumerate() {
            ws.write_string(0, c as u16, h).unwrap();
        }
        for (r, cells) in self.rows.iter().enumerate() {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32 + 1, c as u16, v).unwrap();
                }
            }
        }
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (r, c, v) in &self.cells {
            match v {
                Cell::Text(t) => ws.write_string(r + 1, *c, t).map(|_| ()),
                Cell::Number(n) => ws.write_number(r + 1, *c, *n).map(|_| ()),
                Cell::Date(y, m, d) => {
                    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                    ws.write_datetime_with_format(r + 1, *c, &dt, &date)
                        .map(|_| ())
                }
            }
            .unwrap();
        }
        for (r1, c1, r2, c2) in &self.merges {
            ws.merge_range(r1 + 1, *c1, r2 + 1, *c2, "", &Format::new())
                .unwrap();
        }
        wb.save_to_buffer().unwrap()
    }
}

pub const FIRM_HEAD: [&str; 6] = [
    "＊律师事务所名称",
    "＊统一社会信用代码",
    "＊所在行政区划",
    "＊组织形式",
    "＊律师人数",
    "所属地市级党组织",
];

pub const ORG_HEAD: [&str; 8] = [
    "＊党组织全称",
    "＊组织类别",
    "上级党组织",
    "所在行政区划",
    "所在律师事务所统一社会信用代码",
    "书记姓名",
    "联系电话",
    "成立日期",
];

/// A valid law firm credit code no demo firm has.
pub fn code(seq: u32) -> String {
    let body = format!("31999999XY{seq:07}");
    let check = dengji::domain::credit_code::check_char(body.as_bytes()).unwrap();
    format!("{body}{check}")
}

pub fn strings(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| (*s).to_owned()).collect()
}

/// An .xlsx with a header row and text rows.
pub fn xlsx(head: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}
