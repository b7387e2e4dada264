//! Cells and headers as people write them: header text compared loosely and through the one
//! alias table of every importer (`forms/headers.toml`), cell values turned into the forms'
//! text (dates typed the usual ways, Excel serials, codes by label, short form or alias).

use std::collections::HashMap;

use crate::forms::{Catalogue, Field, Kind};
use crate::sheet::Value;

/// Rows searched for the header, in every importer.
pub(crate) const HEADER_SEARCH_ROWS: usize = 10;

/// The header among a sheet's first rows, for every importer: the row `score` rates highest
/// (how many of the kind's columns it names; `None` for a row that cannot be the header), the
/// earliest of equals. Headers are compared through [`header_key`] by the scorers.
pub(crate) fn header_row(
    rows: &[(u32, Vec<Value>)],
    score: impl Fn(&[Value]) -> Option<usize>,
) -> Option<(usize, usize)> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .filter_map(|(i, (_, cells))| score(cells).map(|n| (i, n)))
        .max_by_key(|(i, n)| (*n, usize::MAX - i))
}

/// A header as typed, compared without ＊ marks, spaces and parenthesis width.
pub(crate) fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '＊' | '*' | ' ' | '\u{3000}' | '\n' | '\r' | '\t'))
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect::<String>()
        .replace("(必填)", "")
}

pub(crate) fn cell_text(v: &Value) -> String {
    match v {
        Value::Empty => String::new(),
        // Our exports defuse formula-like text with a leading `'`; it comes back as typed.
        Value::Text(t) => {
            let t = t.trim();
            match t.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
                _ => t.to_owned(),
            }
        }
        Value::Number(f) => integral(*f).map_or_else(|| f.to_string(), |i| i.to_string()),
        Value::Date(d) => d.to_string(),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Value::Error(e) => e.clone(),
    }
}

fn integral(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// An Excel date serial (1900 system) as a date.
pub(crate) fn serial_date(f: f64) -> Option<time::Date> {
    let n = integral(f)?;
    if !(1..=2_958_465).contains(&n) {
        return None;
    }
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).ok()?;
    epoch.checked_add(time::Duration::days(n))
}

/// Numbers of a date typed as text in the usual ways (2018-7-31, 2018/07/31, 2018.7.31,
/// 2018年7月31日, 20180731), as `YYYY-MM-DD`; anything else as typed, for the validator to
/// name.
pub(crate) fn date_text(t: &str) -> String {
    let t = t.trim();
    let t = t.split([' ', 'T']).next().unwrap_or(t);
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    let ymd = match parts.as_slice() {
        [y, m, d] => Some(((*y).to_owned(), (*m).to_owned(), (*d).to_owned())),
        [s] if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) => {
            Some((s[..4].to_owned(), s[4..6].to_owned(), s[6..].to_owned()))
        }
        _ => None,
    };
    if let Some((y, m, d)) = ymd
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>())
        && (1900..=2200).contains(&y)
        && let Ok(month) = time::Month::try_from(m)
        && let Ok(date) = time::Date::from_calendar_date(y, month, d)
    {
        return date.to_string();
    }
    t.to_owned()
}

fn ym_text(t: &str) -> String {
    let t = t.trim();
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    let ym = match parts.as_slice() {
        [y, m] | [y, m, _] => Some(((*y).to_owned(), (*m).to_owned())),
        [s] if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) => {
            Some((s[..4].to_owned(), s[4..].to_owned()))
        }
        _ => None,
    };
    if let Some((y, m)) = ym
        && let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u8>())
        && (1900..=2200).contains(&y)
        && (1..=12).contains(&m)
    {
        return format!("{y:04}-{m:02}");
    }
    t.to_owned()
}

/// A cell as the form's text value; `Err((rule, message))` when the cell cannot hold it.
pub(crate) fn convert(
    catalogue: &Catalogue,
    field: &Field,
    v: &Value,
) -> Result<Option<String>, (&'static str, String)> {
    if v.is_empty() {
        return Ok(None);
    }
    let text = match (field.kind, v) {
        (_, Value::Error(e)) => {
            return Err((
                "CELL-ERROR",
                format!("单元格是公式错误 {e}，请填写实际内容"),
            ));
        }
        (Kind::CitizenId | Kind::LicenceNo, Value::Number(_)) => {
            return Err((
                "NUMBER-NOT-TEXT",
                "被 Excel 存成了数字（超过15位的数字末几位会变成0，末位X会丢失）：请先把该列设为“文本”格式，再重新输入号码".into(),
            ));
        }
        (Kind::Date, Value::Date(d)) => d.to_string(),
        (Kind::Date, Value::Number(f)) => match serial_date(*f) {
            Some(d) => d.to_string(),
            None => {
                return Err((
                    "DATE-FORMAT",
                    format!("“{}”不是日期，格式如 2018-07-31", cell_text(v)),
                ));
            }
        },
        (Kind::Date, Value::Text(t)) => date_text(t),
        (Kind::Ym, Value::Date(d)) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
        (Kind::Ym, Value::Number(f)) => match integral(*f) {
            Some(n) if (190_001..=220_012).contains(&n) => ym_text(&n.to_string()),
            _ => match serial_date(*f) {
                Some(d) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
                None => {
                    return Err((
                        "YM-FORMAT",
                        format!("“{}”不是年月，格式如 2018-07", cell_text(v)),
                    ));
                }
            },
        },
        (Kind::Ym, Value::Text(t)) => ym_text(t),
        (Kind::Code, _) => {
            let typed = cell_text(v);
            let list = field.list.as_deref().and_then(|l| catalogue.list(l));
            match list {
                // A code typed as a number that lost its leading zeros (民族 1 for 01).
                Some(list) if matches!(v, Value::Number(_)) && list.label(&typed).is_none() => list
                    .codes
                    .iter()
                    .find(|(c, _)| c.trim_start_matches('0') == typed.trim_start_matches('0'))
                    .map_or(typed, |(c, _)| c.clone()),
                // A code, a label, a short form or an alias, as people write them.
                Some(list) => match list.resolve(&typed) {
                    Ok(code) => code.to_owned(),
                    Err(closest) => {
                        return Err((
                            "CODE-UNKNOWN",
                            format!("“{typed}”不是可选的值，请选择：{}", closest.join("、")),
                        ));
                    }
                },
                None => typed,
            }
        }
        _ => cell_text(v),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// A column header as compared: [`norm`]ed, and an alias people write (身份证号) turned into
/// the template's header (公民身份号码), from `forms/headers.toml`.
pub(crate) fn header_key(catalogue: &Catalogue, h: &str) -> String {
    static ALIASES: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    let aliases = ALIASES.get_or_init(|| {
        catalogue
            .header_aliases
            .iter()
            .map(|(a, c)| (norm(a), norm(c)))
            .collect()
    });
    let n = norm(h);
    aliases.get(&n).cloned().unwrap_or(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_typed_in_the_usual_ways() {
        for t in [
            "2018-7-31",
            "2018/07/31",
            "2018.7.31",
            "2018年7月31日",
            "20180731",
            "2018-07-31 00:00:00",
        ] {
            assert_eq!(date_text(t), "2018-07-31", "{t}");
        }
        assert_eq!(date_text("去年夏天"), "去年夏天");
        assert_eq!(date_text("2018-02-30"), "2018-02-30");
        assert_eq!(ym_text("2018.7"), "2018-07");
        assert_eq!(ym_text("201807"), "2018-07");
        assert_eq!(ym_text("2018年7月"), "2018-07");
        assert_eq!(
            serial_date(43312.0).map(|d| d.to_string()),
            Some("2018-07-31".into())
        );
        assert_eq!(serial_date(0.5), None);
    }

    #[test]
    fn headers_compare_loosely() {
        assert_eq!(norm("＊公民身份号码"), norm("公民身份号码 "));
        assert_eq!(norm("入党日期（必填）"), "入党日期");
        assert_eq!(norm("学历（学位）"), norm("学历(学位)"));
    }
}
