//! Export watermarks: who exported a file, when, for which node and purpose, with the
//! export's id — in an .xlsx's page header and document properties, a CSV's first line, and
//! printed pages.

use rust_xlsxwriter::{DocProperties, Workbook};

/// What every exported file carries. Made by the service that exports (it reads the clock
/// and draws the id) and recorded with the export's audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// `EX-` and 8 characters of Crockford base 32: `dengji audit export EX-…` finds it.
    pub export_id: String,
    /// The exporting account's name and username.
    pub who: String,
    /// The node exported for.
    pub org: String,
    /// Beijing time, `YYYY-MM-DD HH:MM`.
    pub at: String,
    /// The purpose given for full ID numbers, if asked.
    pub purpose: Option<String>,
}

/// A new export id (40 random bits: collisions are checked by the unique key in any case).
pub fn new_export_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut n: u64 = rand::random::<u64>();
    let mut id = String::from("EX-");
    for _ in 0..8 {
        id.push(char::from(ALPHABET[(n % 32) as usize]));
        n /= 32;
    }
    id
}

impl Watermark {
    /// The one line printed on every page and at the top of a CSV.
    pub fn line(&self) -> String {
        let mut s = format!(
            "导出编号 {} · {} · {} · {}",
            self.export_id, self.who, self.org, self.at
        );
        if let Some(p) = &self.purpose {
            s.push_str(&format!(" · 用途：{p}"));
        }
        s.push_str(" · 内部资料 注意保密");
        s
    }

    /// Print the line in the header of every sheet and write it into the document
    /// properties (author, comments and custom properties).
    pub fn apply(&self, wb: &mut Workbook) {
        // `&` starts a header code: double it; header text is at most 255 characters.
        let text: String = self.line().replace('&', "&&").chars().take(200).collect();
        for ws in wb.worksheets_mut() {
            ws.set_header(format!("&L&9{text}"));
        }
        let mut props = DocProperties::new()
            .set_author(&self.who)
            .set_comment(self.line())
            .set_custom_property("导出编号", self.export_id.as_str())
            .set_custom_property("导出人", self.who.as_str())
            .set_custom_property("导出单位", self.org.as_str())
            .set_custom_property("导出时间", self.at.as_str());
        if let Some(p) = &self.purpose {
            props = props.set_custom_property("用途", p.as_str());
        }
        wb.set_properties(&props);
    }

    /// The CSV's first line: a comment most spreadsheet programs show as a row and our own
    /// import skips (a row that is not the header).
    pub fn csv_line(&self) -> String {
        format!("# {}\r\n", self.line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_readable() {
        let a = new_export_id();
        let b = new_export_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 11);
        assert!(a.starts_with("EX-"));
        assert!(
            a[3..]
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }

    #[test]
    fn the_line_names_everything() {
        let w = Watermark {
            export_id: "EX-00000000".into(),
            who: "张三（zhang）".into(),
            org: "某市律师行业党委".into(),
            at: "2026-12-02 10:00".into(),
            purpose: Some("审核".into()),
        };
        let l = w.line();
        for part in [
            "EX-00000000",
            "张三",
            "某市律师行业党委",
            "2026-12-02 10:00",
            "用途：审核",
        ] {
            assert!(l.contains(part), "{l}");
        }
    }
}
