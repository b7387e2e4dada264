//! The exchange with the 全国律师综合管理系统 (notice §三(五)3): loading its roster of lawyers and
//! firms as a snapshot (layout in `docs/exchange.md`, other column names by a mapping file),
//! all or nothing, and reconciling every subtree's registrations against the latest snapshot,
//! with a note to explain a line and a workbook of the results.

mod read;

use std::collections::HashMap;

pub use read::{Format, ReadError, Source};

use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::crypto::Keys;
use crate::domain::{CitizenId, CreditCode, LicenceNo, MemberId, OrgId, TreePath};
use crate::forms::Catalogue;
use crate::service::import::cells::{cell_text, date_text, header_row, norm};
use crate::sheet::Value;
use crate::store::audit::{self, NewEvent};
use crate::store::licensing::{self as store, Category, FirmRow, LawyerRow, Places, Snapshot};
use crate::store::orgs::{self, Org};

/// Findings listed in a refusal; the rest are counted.
pub const MAX_LISTED: usize = 200;
/// Rows sent to the database at once.
const CHUNK: usize = 5_000;

/// A column of the exchange layout.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The JSON Lines key and the mapping file's other name for it.
    pub key: &'static str,
    /// The header of the layout.
    pub header: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

const fn col(
    key: &'static str,
    header: &'static str,
    aliases: &'static [&'static str],
    required: bool,
) -> Column {
    Column {
        key,
        header,
        aliases,
        required,
    }
}

/// The lawyers' layout.
pub const LAWYER_COLUMNS: [Column; 11] = [
    col(
        "licence_no",
        "执业证号",
        &["律师执业证号", "执业证号码", "执业证编号", "律师执业证号码"],
        true,
    ),
    col(
        "citizen_id",
        "公民身份号码",
        &["身份证号", "身份证号码", "公民身份证号码", "证件号码"],
        true,
    ),
    col("name", "姓名", &["律师姓名"], true),
    col(
        "firm_code",
        "执业机构统一社会信用代码",
        &[
            "执业机构信用代码",
            "律所统一社会信用代码",
            "律师事务所统一社会信用代码",
            "统一社会信用代码",
        ],
        true,
    ),
    col(
        "firm_name",
        "执业机构名称",
        &["执业机构", "律师事务所名称", "律所名称", "执业律所"],
        true,
    ),
    col("practice_type", "执业类别", &["律师类别", "执业类型"], true),
    col("status", "执业状态", &["执业证状态", "状态"], true),
    col(
        "status_on",
        "执业状态变更日期",
        &["状态变更日期", "状态日期", "注销日期", "吊销日期"],
        false,
    ),
    col(
        "firm_since",
        "转入本所日期",
        &["进所日期", "转所日期", "本所执业起始日期"],
        false,
    ),
    col(
        "first_licensed_on",
        "首次执业日期",
        &["首次执业时间", "初次执业日期", "首次取得执业证日期"],
        false,
    ),
    col("political", "政治面貌", &[], false),
];

/// The firms' layout.
pub const FIRM_COLUMNS: [Column; 4] = [
    col(
        "credit_code",
        "统一社会信用代码",
        &[
            "律所统一社会信用代码",
            "律师事务所统一社会信用代码",
            "信用代码",
        ],
        true,
    ),
    col(
        "name",
        "律师事务所名称",
        &["律所名称", "名称", "执业机构名称"],
        true,
    ),
    col(
        "region_code",
        "所在行政区划",
        &["行政区划代码", "行政区划", "所在地区代码"],
        false,
    ),
    col("status", "状态", &["律所状态", "执业状态"], true),
];

/// Which roster a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lawyers,
    Firms,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Lawyers => "律师名册",
            Self::Firms => "律师事务所名册",
        }
    }

    fn columns(self) -> &'static [Column] {
        match self {
            Self::Lawyers => &LAWYER_COLUMNS,
            Self::Firms => &FIRM_COLUMNS,
        }
    }

    fn section(self) -> &'static str {
        match self {
            Self::Lawyers => "lawyers",
            Self::Firms => "firms",
        }
    }
}

/// A mapping file: for each roster, the layout's column (header or key) → the file's header.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    lawyers: HashMap<&'static str, String>,
    firms: HashMap<&'static str, String>,
}

impl Mapping {
    /// Parse a mapping file (TOML, `[lawyers]` and `[firms]` tables of `列 = "文件中的列名"`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: toml::Table = toml::from_str(text)
            .map_err(|e| format!("映射文件不是有效的 TOML：{}", e.message()))?;
        let mut m = Self::default();
        for (section, v) in value {
            let kind = match section.as_str() {
                "lawyers" | "律师" | "律师名册" => Kind::Lawyers,
                "firms" | "律所" | "律师事务所名册" => Kind::Firms,
                other => {
                    return Err(format!(
                        "映射文件中的“[{other}]”无法识别：只能是 [lawyers]（律师名册）或 [firms]（律师事务所名册）"
                    ));
                }
            };
            let toml::Value::Table(t) = v else {
                return Err(format!("映射文件中的“{section}”应为一个表（[{section}]）"));
            };
            for (k, v) in t {
                let column = kind
                    .columns()
                    .iter()
                    .find(|c| c.key == k || norm(c.header) == norm(&k))
                    .ok_or_else(|| {
                        format!(
                            "映射文件 [{}] 中的“{k}”不是交换格式的列（见 docs/exchange.md）",
                            kind.section()
                        )
                    })?;
                let toml::Value::String(s) = v else {
                    return Err(format!("映射文件中“{k}”的值应为文件中的列名（文字）"));
                };
                match kind {
                    Kind::Lawyers => m.lawyers.insert(column.key, s),
                    Kind::Firms => m.firms.insert(column.key, s),
                };
            }
        }
        Ok(m)
    }

    fn of(&self, kind: Kind) -> &HashMap<&'static str, String> {
        match kind {
            Kind::Lawyers => &self.lawyers,
            Kind::Firms => &self.firms,
        }
    }
}

/// One file to load.
pub struct Input {
    pub name: String,
    pub source: Source,
}

/// A finding that refuses the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub row: Option<u64>,
    pub column: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn place(&self) -> String {
        let mut s = self.file.clone();
        if let Some(r) = self.row {
            s.push_str(&format!(" 第{r}行"));
        }
        if let Some(c) = &self.column {
            s.push_str(&format!("“{c}”列"));
        }
        s
    }
}

/// What a load came to.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// Stored and now the latest snapshot.
    Done(Snapshot),
    /// Nothing stored: the findings (at most [`MAX_LISTED`]) and how many there were.
    Refused {
        problems: Vec<Problem>,
        total: usize,
    },
}

/// The rows of one file, checked, and what was wrong.
enum Batch {
    Lawyers(Vec<LawyerRow>),
    Firms(Vec<FirmRow>),
    /// A file done: its name, format, kind, digest and rows.
    FileDone {
        name: String,
        kind: Option<Kind>,
        format: Option<Format>,
        digest: Option<String>,
        rows: u64,
    },
}

/// State of the checks across the files of one load.
struct Checker<'a> {
    keys: &'a Keys,
    mapping: &'a Mapping,
    places: &'a Places,
    as_of: time::Date,
    catalogue: &'static Catalogue,
    problems: Vec<Problem>,
    total: usize,
    /// Keys seen in this load, packed small (a national roster has over a million): the
    /// licence number as a number, the ID's blind index cut to 128 bits, the credit code in
    /// base 36, the kind in the top two bits; each with the file (an index into `files`) and row it was first seen at.
    seen: HashMap<u128, (u16, u32)>,
    files: Vec<String>,
}

/// How a file's header maps to the layout: the column's position by key.
struct Header {
    kind: Kind,
    at: HashMap<&'static str, usize>,
    names: Vec<String>,
}

impl Checker<'_> {
    fn problem(&mut self, file: &str, row: Option<u64>, column: Option<&str>, message: String) {
        self.total += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(Problem {
                file: file.to_owned(),
                row,
                column: column.map(str::to_owned),
                message,
            });
        }
    }

    /// The header among the first rows, and the roster it is of.
    fn header(&mut self, file: &str, rows: &[(u64, Vec<Value>)]) -> Option<(usize, Header)> {
        let score = |cells: &[Value], kind: Kind| -> usize {
            let names: Vec<String> = cells.iter().map(|c| norm(&cell_text(c))).collect();
            kind.columns()
                .iter()
                .filter(|c| find_column(c, &names, self.mapping.of(kind)).is_some())
                .count()
        };
        let as_sheet: Vec<(u32, Vec<Value>)> = rows
            .iter()
            .map(|(n, c)| (u32::try_from(*n).unwrap_or(u32::MAX), c.clone()))
            .collect();
        let best = header_row(&as_sheet, |cells| {
            let n = score(cells, Kind::Lawyers).max(score(cells, Kind::Firms));
            (n >= 2).then_some(n)
        });
        let Some((i, _)) = best else {
            self.problem(
                file,
                None,
                None,
                "找不到表头：前10行中没有交换格式的列名（律师名册须有“执业证号”“公民身份号码”等列，律师事务所名册须有“统一社会信用代码”“律师事务所名称”等列；列名不同时请用映射文件）".into(),
            );
            return None;
        };
        let cells = &rows[i].1;
        let names: Vec<String> = cells.iter().map(cell_text).collect();
        let normed: Vec<String> = names.iter().map(|n| norm(n)).collect();
        // Only a lawyers' roster has licence or ID numbers.
        let lawyers = self.mapping.of(Kind::Lawyers);
        let kind = if find_column(&LAWYER_COLUMNS[0], &normed, lawyers).is_some()
            || find_column(&LAWYER_COLUMNS[1], &normed, lawyers).is_some()
        {
            Kind::Lawyers
        } else {
            Kind::Firms
        };
        let mut at = HashMap::new();
        let mut ok = true;
        for (key, wanted) in self.mapping.of(kind) {
            if !normed.contains(&norm(wanted)) {
                let header = kind
                    .columns()
                    .iter()
                    .find(|c| c.key == *key)
                    .map_or("", |c| c.header);
                self.problem(
                    file,
                    Some(rows[i].0),
                    None,
                    format!(
                        "映射文件把“{header}”对应到“{wanted}”列，但文件的表头中没有“{wanted}”列"
                    ),
                );
                ok = false;
            }
        }
        let mut missing = Vec::new();
        for c in kind.columns() {
            match find_column(c, &normed, self.mapping.of(kind)) {
                Some(p) => {
                    at.insert(c.key, p);
                }
                None if c.required => missing.push(c.header),
                None => {}
            }
        }
        if !missing.is_empty() {
            self.problem(
                file,
                Some(rows[i].0),
                None,
                format!(
                    "{}缺少必需的列：{}（列名不同时请用映射文件对应）",
                    kind.label(),
                    missing.join("、")
                ),
            );
            ok = false;
        }
        ok.then_some((i, Header { kind, at, names }))
    }

    /// A problem in the row's column of this key (the header as the file has it).
    fn at(&mut self, r: &At<'_>, key: &str, message: String) {
        let column = r.h.at.get(key).map(|&p| r.h.names[p].clone());
        self.problem(r.file, Some(r.row), column.as_deref(), message);
    }

    /// The cell's text, none when empty; `digits`: a number typed into the cell is refused
    /// (Excel has rounded long numbers already).
    fn text(&mut self, r: &At<'_>, key: &str, digits: bool) -> Option<String> {
        let &p = r.h.at.get(key)?;
        let v = r.cells.get(p).unwrap_or(&Value::Empty);
        if digits && let Value::Number(_) = v {
            self.at(
                r,
                key,
                "该单元格是数字（Excel 只保留15位有效数字，长号码已被改变）：请把该列设为“文本”格式后重新填写".into(),
            );
            return None;
        }
        let t = cell_text(v);
        (!t.is_empty()).then_some(t)
    }

    /// A required cell parsed, or the reason named at its column.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        r: &At<'_>,
        key: &str,
        digits: bool,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let before = self.total;
        let Some(t) = self.text(r, key, digits) else {
            if self.total == before {
                self.at(r, key, "不能为空".into());
            }
            return None;
        };
        match parse(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                self.at(r, key, e.to_string());
                None
            }
        }
    }

    fn required(&mut self, r: &At<'_>, key: &str) -> Option<String> {
        self.parsed(r, key, false, |t| Ok::<_, String>(t.to_owned()))
    }

    /// A code of `list`, typed as its label, a short form or the code; none when empty.
    fn code(&mut self, r: &At<'_>, key: &str, list: &str) -> Option<String> {
        let t = self.text(r, key, false)?;
        let list = self.catalogue.list(list)?;
        let typed =
            if list.name == "政治面貌" && t.len() == 1 && t.chars().all(|c| c.is_ascii_digit())
            {
                format!("0{t}")
            } else {
                t.clone()
            };
        match list.resolve(&typed) {
            Ok(c) => Some(c.to_owned()),
            Err(near) => {
                let hint = if near.is_empty() {
                    String::new()
                } else {
                    format!("；是否为：{}", near.join("、"))
                };
                self.at(r, key, format!("“{t}”不是{}的代码或名称{hint}", list.name));
                None
            }
        }
    }

    fn required_code(&mut self, r: &At<'_>, key: &str, list: &str) -> Option<String> {
        let before = self.total;
        let c = self.code(r, key, list);
        if c.is_none() && self.total == before {
            self.at(r, key, "不能为空".into());
        }
        c
    }

    /// A date no later than the data date; `Some(None)` when empty, `None` when wrong.
    fn date(&mut self, r: &At<'_>, key: &str) -> Option<Option<String>> {
        let Some(&p) = r.h.at.get(key) else {
            return Some(None);
        };
        let v = r.cells.get(p).unwrap_or(&Value::Empty);
        let text = match v {
            Value::Empty => return Some(None),
            Value::Date(d) => d.to_string(),
            Value::Number(f) => match crate::service::import::cells::serial_date(*f) {
                Some(d) => d.to_string(),
                None => cell_text(v),
            },
            other => date_text(&cell_text(other)),
        };
        if text.is_empty() {
            return Some(None);
        }
        match crate::forms::rules::parse_date(&text) {
            Some(d) if d <= self.as_of => Some(Some(d.to_string())),
            Some(d) => {
                self.at(
                    r,
                    key,
                    format!("日期 {d} 晚于名册的数据日期 {}", self.as_of),
                );
                None
            }
            None => {
                self.at(
                    r,
                    key,
                    format!("“{text}”不是有效日期（应为 2018-07-31 这样的日期）"),
                );
                None
            }
        }
    }

    /// A key seen before in this load is a problem naming where; else remembered.
    fn unique(&mut self, r: &At<'_>, key: &str, seen: Seen, value: &str, message: &str) {
        let packed = match seen {
            Seen::Licence => value.parse::<u128>().ok(),
            Seen::Citizen => value
                .get(..31)
                .and_then(|h| u128::from_str_radix(h, 16).ok()),
            Seen::Firm => value.chars().try_fold(0u128, |acc, c| {
                c.to_digit(36).map(|d| acc * 36 + u128::from(d))
            }),
        };
        let Some(packed) = packed else {
            return;
        };
        let packed = (packed & (u128::MAX >> 2)) | ((seen as u128) << 126);
        let file = match self.files.iter().position(|f| f == r.file) {
            Some(i) => i,
            None => {
                self.files.push(r.file.to_owned());
                self.files.len() - 1
            }
        };
        let here = (
            u16::try_from(file).unwrap_or(u16::MAX),
            u32::try_from(r.row).unwrap_or(u32::MAX),
        );
        if let Some(&(f, n)) = self.seen.get(&packed) {
            let f = self.files.get(usize::from(f)).cloned().unwrap_or_default();
            self.at(r, key, format!("{message}与{f} 第{n}行重复"));
        } else {
            self.seen.insert(packed, here);
        }
    }

    fn lawyer(&mut self, r: &At<'_>) -> Option<LawyerRow> {
        let before = self.total;
        let licence = self.parsed(r, "licence_no", true, LicenceNo::parse);
        let as_of = self.as_of;
        let id = self.parsed(r, "citizen_id", true, |t| CitizenId::parse(t, as_of));
        let name = self.required(r, "name");
        if name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            self.at(r, "name", "姓名过长（超过50字）".into());
        }
        let firm_code = self.parsed(r, "firm_code", false, CreditCode::parse_law_firm);
        let firm_name = self.required(r, "firm_name");
        let practice_type = self.required_code(r, "practice_type", "practice_type");
        let status = self.required_code(r, "status", "licence_status");
        let status_on = self.date(r, "status_on");
        let firm_since = self.date(r, "firm_since");
        let first = self.date(r, "first_licensed_on");
        let political = self.code(r, "political", "political");
        if let Some(l) = &licence {
            let message = format!("执业证号 {} ", l.as_str());
            self.unique(r, "licence_no", Seen::Licence, l.as_str(), &message);
        }
        let index = id.as_ref().map(|id| self.keys.id_index(id));
        if let Some(ix) = &index {
            self.unique(
                r,
                "citizen_id",
                Seen::Citizen,
                ix,
                "公民身份号码（同一人只能有一个执业证号）",
            );
        }
        if self.total > before {
            return None;
        }
        let (id, firm_code) = (id?, firm_code?);
        Some(LawyerRow {
            row_no: r.row as i64,
            licence_no: licence?.as_str().to_owned(),
            citizen_id_index: index?,
            citizen_id_enc: self.keys.encrypt_id(&id),
            citizen_id_masked: id.masked(),
            name: name?,
            scope_path: self.places.of(firm_code.as_str(), None),
            firm_code: firm_code.as_str().to_owned(),
            firm_name: firm_name?,
            practice_type: practice_type?,
            status: status?,
            status_on: status_on?,
            firm_since: firm_since?,
            first_licensed_on: first?,
            political,
        })
    }

    fn firm(&mut self, r: &At<'_>) -> Option<FirmRow> {
        let before = self.total;
        let code = self.parsed(r, "credit_code", false, CreditCode::parse_law_firm);
        let name = self.required(r, "name");
        let region = self.text(r, "region_code", false);
        if let Some(g) = &region
            && !(g.len() == 6 && g.chars().all(|c| c.is_ascii_digit()))
        {
            self.at(r, "region_code", format!("“{g}”不是6位行政区划代码"));
        }
        let status = self.required_code(r, "status", "firm_status");
        if let Some(c) = &code {
            let message = format!("统一社会信用代码 {} ", c.as_str());
            self.unique(r, "credit_code", Seen::Firm, c.as_str(), &message);
        }
        if self.total > before {
            return None;
        }
        let code = code?;
        Some(FirmRow {
            row_no: r.row as i64,
            scope_path: self.places.of(code.as_str(), region.as_deref()),
            credit_code: code.as_str().to_owned(),
            name: name?,
            region_code: region,
            status: status?,
        })
    }
}

/// One data row being checked: its file, number, header and cells.
struct At<'a> {
    file: &'a str,
    row: u64,
    h: &'a Header,
    cells: &'a [Value],
}

/// Which keys of the load must be unique.
#[derive(Clone, Copy)]
enum Seen {
    Licence,
    Citizen,
    Firm,
}

/// The header's position of a layout column: by the mapping when it names one, else by the
/// header, an alias or the key.
fn find_column(
    c: &Column,
    normed: &[String],
    mapping: &HashMap<&'static str, String>,
) -> Option<usize> {
    if let Some(wanted) = mapping.get(c.key) {
        let w = norm(wanted);
        return normed.iter().position(|n| *n == w);
    }
    let names: Vec<String> = std::iter::once(c.header)
        .chain(c.aliases.iter().copied())
        .chain(std::iter::once(c.key))
        .map(norm)
        .collect();
    normed.iter().position(|n| names.contains(n))
}

/// One file's rows on their way through the checks: the first rows held back until the
/// header is found among them, then each row checked and the good ones gathered for sending.
struct FileRows<'f> {
    file: &'f str,
    head: Vec<(u64, Vec<Value>)>,
    header: Option<Header>,
    failed_header: bool,
    lawyers: Vec<LawyerRow>,
    firms: Vec<FirmRow>,
    rows: u64,
}

impl FileRows<'_> {
    /// Check a data row (once the header is known); a good one is kept unless the load is
    /// already refused.
    fn check(&mut self, checker: &mut Checker<'_>, row: u64, cells: &[Value]) {
        let Some(h) = &self.header else {
            return;
        };
        self.rows += 1;
        let at = At {
            file: self.file,
            row,
            h,
            cells,
        };
        match h.kind {
            Kind::Lawyers => {
                if let Some(l) = checker.lawyer(&at)
                    && checker.total == 0
                {
                    self.lawyers.push(l);
                }
            }
            Kind::Firms => {
                if let Some(f) = checker.firm(&at)
                    && checker.total == 0
                {
                    self.firms.push(f);
                }
            }
        }
    }

    /// Find the header among the rows held back, then check the rows after it.
    fn find_header(&mut self, checker: &mut Checker<'_>) {
        match checker.header(self.file, &self.head) {
            Some((i, h)) => {
                let rest = self.head.split_off(i + 1);
                self.header = Some(h);
                for (n, c) in rest {
                    self.check(checker, n, &c);
                }
            }
            None => self.failed_header = true,
        }
    }
}

/// Check every file in a thread of its own, sending the good rows on; stops sending once a
/// finding refuses the load (the checks go on, to list what else is wrong).
fn check_files(
    inputs: Vec<Input>,
    mut checker: Checker<'_>,
    tx: &tokio::sync::mpsc::Sender<Batch>,
) -> (Vec<Problem>, usize) {
    for input in inputs {
        let file = input.name.clone();
        let mut format = None;
        let mut f = FileRows {
            file: &file,
            head: Vec::new(),
            header: None,
            failed_header: false,
            lawyers: Vec::new(),
            firms: Vec::new(),
            rows: 0,
        };
        let mut closed = false;
        let mut on_format = |fmt: Format| format = Some(fmt);
        let mut on_row = |row: u64, cells: Vec<Value>| -> bool {
            if f.header.is_none() {
                f.head.push((row, cells));
                if f.head.len() < crate::service::import::cells::HEADER_SEARCH_ROWS {
                    return true;
                }
                f.find_header(&mut checker);
                if f.failed_header {
                    return false;
                }
            } else {
                f.check(&mut checker, row, &cells);
            }
            if checker.total > 0 {
                f.lawyers.clear();
                f.firms.clear();
            }
            if f.lawyers.len() >= CHUNK {
                closed |= tx
                    .blocking_send(Batch::Lawyers(std::mem::take(&mut f.lawyers)))
                    .is_err();
            }
            if f.firms.len() >= CHUNK {
                closed |= tx
                    .blocking_send(Batch::Firms(std::mem::take(&mut f.firms)))
                    .is_err();
            }
            !closed && checker.total < MAX_LISTED * 5
        };
        let result = read::read(
            input.source,
            read::Rows {
                on_format: &mut on_format,
                on_row: &mut on_row,
            },
        );
        // A short file: its header is looked for once it has ended.
        if f.header.is_none() && !f.failed_header && result.is_ok() {
            if f.head.is_empty() {
                checker.problem(&file, None, None, "文件中没有数据".into());
            } else {
                f.find_header(&mut checker);
            }
        }
        let digest = match result {
            Ok(d) => Some(d),
            Err(e) => {
                checker.problem(&file, None, None, e.to_string());
                None
            }
        };
        if f.header.is_some() && f.rows == 0 {
            checker.problem(&file, None, None, "文件中只有表头，没有数据行".into());
        }
        if checker.total > 0 {
            f.lawyers.clear();
            f.firms.clear();
        }
        let kind = f.header.as_ref().map(|h| h.kind);
        let rows = f.rows;
        let _ = tx.blocking_send(Batch::Lawyers(f.lawyers));
        let _ = tx.blocking_send(Batch::Firms(f.firms));
        let _ = tx.blocking_send(Batch::FileDone {
            name: file.clone(),
            kind,
            format,
            digest,
            rows,
        });
    }
    (checker.problems, checker.total)
}

/// What the new-member form is pre-filled with from a roster line.
#[derive(Debug, Clone)]
pub struct Prefill {
    pub name: String,
    pub citizen_id: String,
    pub licence_no: String,
    pub practice_type: String,
    /// Our registry's firm of that credit code.
    pub firm: Option<crate::domain::FirmId>,
    /// 政治面貌 中共预备党员.
    pub probationary: bool,
}

/// One line of the reconciliation, as shown.
#[derive(Debug, Clone)]
pub struct Line {
    pub category: Category,
    pub subject: String,
    pub member: Option<MemberId>,
    pub name: String,
    pub masked: String,
    pub licence_no: String,
    pub firm: String,
    pub firm_code: String,
    /// The node the line lies at.
    pub path: String,
    /// What is wrong, in words.
    pub finding: String,
    /// Field by field: (field, ours, the roster's).
    pub differences: Vec<(&'static str, String, String)>,
    /// The day it happened (licence revoked, left the firm), if the roster says.
    pub since: Option<String>,
    /// More than six months before the campaign's judging day (分类处理第4类).
    pub over_six_months: bool,
    /// (note, by whom, when).
    pub note: Option<(String, String, String)>,
}

/// A node's reconciliation: counts by category, for the node and by child.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub org: Org,
    pub snapshot: Snapshot,
    /// The day six months are counted back from.
    pub judged_at: String,
    /// (category, all, explained).
    pub totals: Vec<(Category, i64, i64)>,
    pub matched: i64,
    /// Per child (and the node itself for lines directly at it): the org, then counts in the
    /// order of `Category::ALL`.
    pub children: Vec<ChildRow>,
    /// When the lines were last classified (Beijing time); the records may have changed since.
    pub refreshed_at: Option<String>,
}

/// A child's counts: the org, (all, explained) per category in the order of
/// `Category::ALL`, and the matched.
pub type ChildRow = (Org, Vec<(i64, i64)>, i64);

/// One category's lines under a node.
#[derive(Debug, Clone)]
pub struct Lines {
    pub org: Org,
    pub snapshot: Snapshot,
    pub category: Category,
    pub lines: Vec<Line>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

super::area!(ExchangeService);

fn six_months_before(day: time::Date) -> time::Date {
    let (y, m) = if day.month() as u8 > 6 {
        (day.year(), day.month() as u8 - 6)
    } else {
        (day.year() - 1, day.month() as u8 + 6)
    };
    let month = time::Month::try_from(m).unwrap_or(time::Month::January);
    let last = time::util::days_in_month(month, y);
    time::Date::from_calendar_date(y, month, day.day().min(last)).unwrap_or(day)
}

fn label_of(list: &str, code: &str) -> String {
    Catalogue::get()
        .list(list)
        .and_then(|l| l.label(code))
        .map_or_else(|| code.to_owned(), str::to_owned)
}

impl ExchangeService<'_> {
    /// Load a snapshot of the licensing roster from one or more files (lawyers and firms,
    /// told by their headers), as of `as_of`; all or nothing. National level only.
    pub async fn load(
        &self,
        caller: Caller<'_>,
        inputs: Vec<Input>,
        mapping: Option<&str>,
        as_of: &str,
    ) -> ServiceResult<Loaded> {
        caller.require(Action::LoadLicensing, None)?;
        let as_of = crate::forms::rules::parse_date(&date_text(as_of)).ok_or_else(|| {
            ServiceError::invalid("数据日期", "请填写名册的数据日期（如 2018-07-31）")
        })?;
        let mapping = match mapping {
            Some(text) => Mapping::parse(text).map_err(|e| ServiceError::invalid("映射文件", e))?,
            None => Mapping::default(),
        };
        if inputs.is_empty() {
            return Err(ServiceError::invalid("文件", "请选择要载入的名册文件"));
        }
        let _turn = LOADING
            .try_lock()
            .map_err(|_| ServiceError::invalid("文件", "已有一份名册正在载入，请稍后再试"))?;
        let (places, snapshot) = {
            let mut conn = self.db.acquire_writer().await?;
            for id in store::unfinished(&mut conn).await? {
                while !store::discard_some(&mut conn, id).await? {}
            }
            let places = store::places(&mut conn).await?;
            let id = store::begin(&mut conn, &as_of.to_string(), caller.user_id()).await?;
            (places, id)
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let keys = self.keys.clone();
        let checker_thread = tokio::task::spawn_blocking(move || {
            let checker = Checker {
                keys: &keys,
                mapping: &mapping,
                places: &places,
                as_of,
                catalogue: Catalogue::get(),
                problems: Vec::new(),
                total: 0,
                seen: HashMap::new(),
                files: Vec::new(),
            };
            check_files(inputs, checker, &tx)
        });
        let mut files: Vec<serde_json::Value> = Vec::new();
        let mut stored: Result<(), ServiceError> = Ok(());
        let mut kinds = Vec::new();
        while let Some(batch) = rx.recv().await {
            if stored.is_err() {
                continue;
            }
            let step = async {
                match batch {
                    Batch::Lawyers(rows) if !rows.is_empty() => {
                        let mut t = self.db.begin().await?;
                        store::insert_lawyers(&mut t, snapshot, &rows).await?;
                        t.commit().await?;
                    }
                    Batch::Firms(rows) if !rows.is_empty() => {
                        let mut t = self.db.begin().await?;
                        store::insert_firms(&mut t, snapshot, &rows).await?;
                        t.commit().await?;
                    }
                    Batch::FileDone {
                        name,
                        kind,
                        format,
                        digest,
                        rows,
                    } => {
                        kinds.extend(kind);
                        files.push(serde_json::json!({
                            "name": name,
                            "kind": kind.map(Kind::label),
                            "format": format.map(Format::label),
                            "sha256": digest,
                            "rows": rows,
                        }));
                    }
                    _ => {}
                }
                Ok::<(), ServiceError>(())
            };
            stored = step.await;
        }
        let (mut problems, mut total) = checker_thread
            .await
            .map_err(|e| ServiceError::Failed(format!("名册检查中断：{e}")))?;
        if total == 0 && stored.is_ok() {
            let lawyer_files = kinds.iter().filter(|k| **k == Kind::Lawyers).count();
            let firm_files = kinds.iter().filter(|k| **k == Kind::Firms).count();
            if lawyer_files == 0 {
                total += 1;
                problems.push(Problem {
                    file: "名册".into(),
                    row: None,
                    column: None,
                    message: "没有律师名册：请同时提供律师名册文件（律师事务所名册可选）".into(),
                });
            } else if lawyer_files > 1 || firm_files > 1 {
                total += 1;
                problems.push(Problem {
                    file: "名册".into(),
                    row: None,
                    column: None,
                    message: "一次只能载入一份律师名册和一份律师事务所名册".into(),
                });
            }
        }
        if total > 0 || stored.is_err() {
            let mut conn = self.db.acquire_writer().await?;
            while !store::discard_some(&mut conn, snapshot).await? {}
            stored?;
            return Ok(Loaded::Refused { problems, total });
        }
        let source = files
            .iter()
            .map(|f| f["name"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
            .join("、");
        let digest = files
            .iter()
            .map(|f| f["sha256"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.classify_all(snapshot).await?;
        let mut tx = self.db.begin().await?;
        let (lawyers, firms) = store::finish(&mut tx, snapshot, &source, &digest).await?;
        let root = orgs::root(&mut tx).await?.ok_or(ServiceError::NotFound)?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "licensing.load",
                target_kind: "licence_snapshot",
                target_id: snapshot.to_string(),
                target_path: &root.path,
                detail: serde_json::json!({
                    "as_of": as_of.to_string(),
                    "lawyers": lawyers,
                    "firms": firms,
                    "files": files,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db.acquire().await?;
        let s = store::list(&mut conn)
            .await?
            .into_iter()
            .find(|s| s.id == snapshot)
            .ok_or(ServiceError::NotFound)?;
        Ok(Loaded::Done(s))
    }

    /// Classify the whole tree against a snapshot: each child of the root in a transaction of
    /// its own (a province's takes a fraction of a second on the national demo, so writers
    /// never wait long), then the lines at the root itself.
    async fn classify_all(&self, snapshot: i64) -> ServiceResult<()> {
        let (root, kids) = {
            let mut conn = self.db.acquire().await?;
            let root = orgs::root(&mut conn).await?.ok_or(ServiceError::NotFound)?;
            let kids = orgs::children(&mut conn, root.id, 10_000).await?;
            (root, kids)
        };
        for k in &kids {
            let mut tx = self.db.begin().await?;
            store::refresh(&mut tx, snapshot, store::Reach::Subtree(&k.path)).await?;
            tx.commit().await?;
        }
        let mut tx = self.db.begin().await?;
        store::refresh(&mut tx, snapshot, store::Reach::Only(&root.path)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// 重新核对: classify the node's subtree again against the latest snapshot, after records
    /// were corrected (a clerk, reviewer or administrator of the subtree).
    pub async fn refresh(&self, caller: Caller<'_>, node: OrgId) -> ServiceResult<()> {
        caller.require(Action::ManageMembers, None)?;
        let mut tx = self.db.begin().await?;
        let (org, snapshot) = writable_node(&mut tx, caller, node).await?;
        store::refresh(&mut tx, snapshot.id, store::Reach::Subtree(&org.path)).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "licensing.refresh",
                target_kind: "org",
                target_id: org.id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({ "snapshot": snapshot.id }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// 添加党员 from a 申报为党员但未登记 line: the roster's particulars of that lawyer, the full
    /// ID number among them, to pre-fill the new-member form (audited as a reveal of the
    /// number; a clerk, reviewer or administrator of a node the line lies under).
    pub async fn prefill(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        licence: &str,
    ) -> ServiceResult<Prefill> {
        caller.require(Action::ManageMembers, None)?;
        let mut tx = self.db.begin().await?;
        let (org, snapshot) = writable_node(&mut tx, caller, node).await?;
        let path = store::line_path(
            &mut tx,
            snapshot.id,
            &org.path,
            Category::Unregistered,
            licence,
        )
        .await?
        .ok_or(ServiceError::NotFound)?;
        let l = store::lawyer(&mut tx, snapshot.id, licence)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let citizen_id = self.keys.decrypt_id(&l.citizen_id_enc)?;
        let at = TreePath::parse(&path).unwrap_or_else(|| org.path.clone());
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "licensing.prefill",
                target_kind: "licence",
                target_id: licence.to_owned(),
                target_path: &at,
                detail: serde_json::json!({ "snapshot": snapshot.id, "name": l.name }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Prefill {
            name: l.name,
            citizen_id,
            licence_no: l.licence_no,
            practice_type: l.practice_type,
            firm: l.firm_id,
            probationary: l.political.as_deref() == Some("02"),
        })
    }

    /// The hourly upkeep: the whole tree classified again against the latest snapshot, if
    /// one is loaded.
    pub async fn refresh_latest(&self) -> ServiceResult<()> {
        let latest = {
            let mut conn = self.db.acquire().await?;
            store::latest(&mut conn).await?
        };
        if let Some(s) = latest {
            self.classify_all(s.id).await?;
        }
        Ok(())
    }

    /// The loaded snapshots, newest first (any staff account: what the reconciliation is
    /// against).
    pub async fn snapshots(&self, caller: Caller<'_>) -> ServiceResult<Vec<Snapshot>> {
        caller.require(Action::ReadDirectory, None)?;
        let mut conn = self.db.acquire_read().await?;
        Ok(store::list(&mut conn).await?)
    }

    async fn node_and_snapshot(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        node: OrgId,
    ) -> ServiceResult<(Org, Snapshot, String)> {
        caller.require(Action::ReadDirectory, None)?;
        let org = orgs::get(conn, node).await?.ok_or(ServiceError::NotFound)?;
        caller.require(Action::ReadDirectory, Some(&org.path))?;
        let snapshot = store::latest(conn)
            .await?
            .ok_or_else(|| ServiceError::Conflict(super::Refusal::NoLicensingSnapshot))?;
        let judged_at = match crate::store::campaigns::latest(conn).await? {
            Some(c) => c.judged_at().to_owned(),
            None => snapshot.as_of.clone(),
        };
        Ok((org, snapshot, judged_at))
    }

    /// The node's reconciliation counts against the latest snapshot.
    pub async fn reconcile(
        &self,
        caller: Caller<'_>,
        node: OrgId,
    ) -> ServiceResult<Reconciliation> {
        let mut conn = self.db.acquire_read().await?;
        let (org, snapshot, judged_at) = self.node_and_snapshot(&mut conn, caller, node).await?;
        let counts = store::counts(&mut conn, snapshot.id, &org.path).await?;
        let refreshed_at = store::refreshed_at(&mut conn, snapshot.id, &org.path)
            .await?
            .map(super::beijing_time);
        let kids = orgs::children(&mut conn, org.id, 10_000).await?;
        let mut totals: Vec<(Category, i64, i64)> =
            Category::ALL.iter().map(|c| (*c, 0, 0)).collect();
        let mut matched = 0;
        let mut by_child: HashMap<String, (Vec<(i64, i64)>, i64)> = HashMap::new();
        for c in &counts {
            matched += c.matched;
            let row: Vec<(i64, i64)> = Category::ALL
                .iter()
                .map(|k| c.counts.get(k).copied().unwrap_or((0, 0)))
                .collect();
            for (i, (n, e)) in row.iter().enumerate() {
                totals[i].1 += n;
                totals[i].2 += e;
            }
            let entry = by_child
                .entry(c.child.clone())
                .or_insert_with(|| (vec![(0, 0); Category::ALL.len()], 0));
            for (i, v) in row.into_iter().enumerate() {
                entry.0[i].0 += v.0;
                entry.0[i].1 += v.1;
            }
            entry.1 += c.matched;
        }
        let mut children = Vec::new();
        if let Some((row, m)) = by_child.remove(org.path.as_str()) {
            children.push((org.clone(), row, m));
        }
        for k in kids {
            let (row, m) = by_child
                .remove(k.path.as_str())
                .unwrap_or_else(|| (vec![(0, 0); Category::ALL.len()], 0));
            children.push((k, row, m));
        }
        Ok(Reconciliation {
            org,
            snapshot,
            judged_at,
            totals,
            matched,
            children,
            refreshed_at,
        })
    }

    /// A page of one category's lines under the node.
    pub async fn lines(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        category: Category,
        page: i64,
        per_page: i64,
    ) -> ServiceResult<Lines> {
        let mut conn = self.db.acquire_read().await?;
        let (org, snapshot, judged_at) = self.node_and_snapshot(&mut conn, caller, node).await?;
        let page = page.max(1);
        let (rows, total) = store::lines(
            &mut conn,
            snapshot.id,
            &org.path,
            category,
            (page - 1) * per_page,
            per_page,
        )
        .await?;
        let judged = crate::forms::rules::parse_date(&judged_at);
        let lines = rows
            .into_iter()
            .map(|l| shown(category, l, judged))
            .collect();
        Ok(Lines {
            org,
            snapshot,
            category,
            lines,
            total,
            page,
            per_page,
        })
    }

    /// Explain a line with a note (kept, audited and shown on later snapshots too): a clerk,
    /// reviewer or administrator of a node the line lies under.
    pub async fn explain(
        &self,
        caller: Caller<'_>,
        node: OrgId,
        category: Category,
        subject: &str,
        note: &str,
    ) -> ServiceResult<()> {
        caller.require(Action::ManageMembers, None)?;
        let note = note.trim();
        if note.is_empty() {
            return Err(ServiceError::invalid("说明", "请填写说明"));
        }
        if note.chars().count() > 500 {
            return Err(ServiceError::invalid("说明", "说明不能超过500字"));
        }
        let mut tx = self.db.begin().await?;
        let (org, snapshot) = writable_node(&mut tx, caller, node).await?;
        let path = store::line_path(&mut tx, snapshot.id, &org.path, category, subject)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let at = TreePath::parse(&path).unwrap_or_else(|| org.path.clone());
        let id = store::add_note(
            &mut tx,
            snapshot.id,
            category,
            subject,
            &path,
            note,
            caller.user_id(),
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "licensing.explain",
                target_kind: "reconciliation_note",
                target_id: id.to_string(),
                target_path: &at,
                detail: serde_json::json!({
                    "category": category.code(),
                    "subject": subject,
                    "snapshot": snapshot.id,
                    "note": note,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The reconciliation as a workbook: the counts by child, then every category's lines
    /// (watermarked and audited like every export); the file name.
    pub async fn workbook(
        &self,
        caller: Caller<'_>,
        node: OrgId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let r = self.reconcile(caller, node).await?;
        let mut sheets = Vec::new();
        for c in Category::ALL {
            let mut all = Vec::new();
            let mut page = 1;
            loop {
                let l = self.lines(caller, node, c, page, 5_000).await?;
                let n = l.lines.len();
                all.extend(l.lines);
                if n < 5_000 {
                    break;
                }
                page += 1;
            }
            sheets.push((c, all));
        }
        let mark = super::watermark(caller, &r.org.name, None);
        let bytes = workbook(&r, &sheets, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        let lines: i64 = r.totals.iter().map(|t| t.1).sum();
        self.audit_export(
            caller,
            NewEvent {
                action: "export.reconciliation",
                target_kind: "org",
                target_id: r.org.id.to_string(),
                target_path: &r.org.path,
                detail: serde_json::json!({ "snapshot": r.snapshot.id, "lines": lines }),
            },
            &[],
            &mark,
        )
        .await?;
        Ok((format!("执业信息核对-{}.xlsx", r.org.name), bytes))
    }
}

/// The node a change to its reconciliation is made at (a clerk, reviewer or administrator of
/// its subtree), and the latest snapshot.
async fn writable_node(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    node: OrgId,
) -> ServiceResult<(Org, Snapshot)> {
    let org = orgs::get(conn, node).await?.ok_or(ServiceError::NotFound)?;
    caller.require(Action::ManageMembers, Some(&org.path))?;
    let snapshot = store::latest(conn)
        .await?
        .ok_or(ServiceError::Conflict(super::Refusal::NoLicensingSnapshot))?;
    Ok((org, snapshot))
}

static LOADING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn shown(category: Category, l: store::Line, judged: Option<time::Date>) -> Line {
    let roster = |k: &str| l.roster.get(k).cloned().unwrap_or_default();
    let ours = |k: &str| l.ours.get(k).cloned().unwrap_or_default();
    let mut differences = Vec::new();
    let mut since = None;
    let finding: String;
    let now = Category::parse(&l.cat);
    match category {
        _ if now != Some(category) => {
            finding = match (now, l.cat.as_str()) {
                (_, "") => {
                    "记录已变化（已删除、停止登记或已不在本组织），点击“重新核对”更新".into()
                }
                (None, _) => "记录已更正，现与执业系统一致；点击“重新核对”更新".into(),
                (Some(c), _) => format!("记录已变化，现为“{}”；点击“重新核对”更新", c.label()),
            };
        }
        Category::Mismatch => {
            if l.other_id {
                differences.push((
                    "公民身份号码",
                    l.masked.clone(),
                    "执业系统中该执业证号属于另一公民身份号码".to_owned(),
                ));
            }
            for (key, label) in [("name", "姓名"), ("licence_no", "执业证号")] {
                if roster(key) != ours(key) {
                    differences.push((label, ours(key), roster(key)));
                }
            }
            if roster("practice_type") != ours("practice_type") {
                differences.push((
                    "执业类别",
                    label_of("practice_type", &ours("practice_type")),
                    label_of("practice_type", &roster("practice_type")),
                ));
            }
            if roster("status") != "practising" {
                differences.push((
                    "执业状态",
                    "已登记".to_owned(),
                    label_of("licence_status", &roster("status")),
                ));
            }
            let first = roster("first_licensed_on");
            let ours_year = l
                .licence_no
                .as_deref()
                .and_then(|n| n.get(5..9))
                .unwrap_or("");
            if first.len() >= 4 && &first[..4] != ours_year && !ours_year.is_empty() {
                differences.push(("首次执业年份", ours_year.to_owned(), first[..4].to_owned()));
            }
            finding = differences
                .iter()
                .map(|d| d.0)
                .collect::<Vec<_>>()
                .join("、")
                + "不一致";
        }
        Category::Unlicensed => {
            let status = roster("status");
            if !l.roster.contains_key("licence_no") {
                finding = "执业系统中没有该人员（公民身份号码和执业证号均未找到）".into();
            } else if matches!(status.as_str(), "cancelled" | "revoked") {
                finding = format!("执业证{}", label_of("licence_status", &status));
                since = l.roster.get("status_on").cloned();
            } else {
                finding = format!(
                    "执业系统中在另一律所执业：{}（{}）",
                    roster("firm_name"),
                    roster("firm_code")
                );
                since = l.roster.get("firm_since").cloned();
            }
        }
        Category::Ineligible => {
            finding = format!(
                "执业系统中的执业类别为{}，不属于专职律师，不在本次登记范围",
                label_of("practice_type", &roster("practice_type"))
            );
        }
        Category::Unregistered => {
            finding = format!(
                "执业系统中政治面貌为{}，专职执业，未在本系统登记",
                label_of("political", &roster("political"))
            );
        }
        Category::FirmMissing => {
            finding = "执业系统中有该律所，本系统律所名册中没有".into();
        }
        Category::FirmUnlisted => {
            finding = if roster("status") == "cancelled" {
                "执业系统中该律所已注销".into()
            } else {
                "执业系统中没有该律所".into()
            };
        }
    }
    let over_six_months = match (
        since.as_deref().and_then(crate::forms::rules::parse_date),
        judged,
    ) {
        (Some(d), Some(j)) => d <= six_months_before(j),
        _ => false,
    };
    Line {
        category,
        subject: l.subject,
        member: l.member,
        name: l.name,
        masked: l.masked,
        licence_no: l.licence_no.unwrap_or_default(),
        firm: l.firm_name.unwrap_or_default(),
        firm_code: l.firm_code.unwrap_or_default(),
        path: l.path,
        finding,
        differences,
        since,
        over_six_months,
        note: l.note.map(|(n, by, at)| (n, by, super::beijing_time(at))),
    }
}

fn workbook(
    r: &Reconciliation,
    sheets: &[(Category, Vec<Line>)],
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let heading = format!(
        "{} · 与全国律师综合管理系统核对（名册数据日期 {}，第{}次载入）",
        r.org.name, r.snapshot.as_of, r.snapshot.id
    );
    {
        let ws = wb.add_worksheet();
        a4_landscape(ws, "汇总", 2)?;
        ws.set_column_width(0, 30)?;
        ws.write_string_with_format(0, 0, &heading, &bold)?;
        ws.write_string(
            1,
            0,
            format!("一致 {} 人；六个月按 {} 计算", r.matched, r.judged_at),
        )?;
        let mut heads = vec!["党组织"];
        heads.extend(Category::ALL.iter().map(|c| c.label()));
        let mut rows: Vec<Vec<Cell>> = r
            .children
            .iter()
            .map(|(o, counts, _)| {
                let mut row = vec![Cell::from(o.name.clone())];
                row.extend(counts.iter().map(|(n, _)| Cell::from(*n)));
                row
            })
            .collect();
        let mut total = vec![Cell::from("合计")];
        total.extend(r.totals.iter().map(|t| Cell::from(t.1)));
        rows.push(total);
        write_table(ws, 2, &heads, &rows)?;
    }
    for (c, lines) in sheets {
        let ws = wb.add_worksheet();
        a4_landscape(ws, c.label(), 1)?;
        ws.set_column_width(0, 12)?;
        ws.set_column_width(1, 22)?;
        ws.set_column_width(2, 20)?;
        ws.set_column_width(3, 30)?;
        ws.set_column_width(4, 50)?;
        ws.write_string_with_format(0, 0, format!("{} · {heading}", c.label()), &bold)?;
        let heads = [
            "姓名/名称",
            "公民身份号码",
            "执业证号",
            "律师事务所（统一社会信用代码）",
            "核对结果",
            "日期",
            "超过六个月",
            "说明",
        ];
        let rows: Vec<Vec<Cell>> = lines
            .iter()
            .map(|l| {
                let mut finding = l.finding.clone();
                for (f, ours, theirs) in &l.differences {
                    finding.push_str(&format!("；{f}：本系统“{ours}”，执业系统“{theirs}”"));
                }
                vec![
                    Cell::from(l.name.clone()),
                    Cell::from(l.masked.clone()),
                    Cell::from(l.licence_no.clone()),
                    Cell::from(if l.firm_code.is_empty() {
                        l.firm.clone()
                    } else {
                        format!("{}（{}）", l.firm, l.firm_code)
                    }),
                    Cell::from(finding),
                    Cell::from(l.since.clone().unwrap_or_default()),
                    Cell::from(if l.over_six_months { "是" } else { "" }),
                    Cell::from(
                        l.note
                            .as_ref()
                            .map(|(n, by, at)| format!("{n}（{by} {at}）"))
                            .unwrap_or_default(),
                    ),
                ]
            })
            .collect();
        write_table(ws, 1, &heads, &rows)?;
    }
    mark.apply(&mut wb);
    wb.save_to_buffer()
}
