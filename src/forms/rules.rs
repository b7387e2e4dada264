//! Validation of a filled form: every rule has a stable code, a severity (an error blocks
//! submission; a warning needs a short confirmation note) and a Chinese message that names the
//! field and says what to do.

use std::collections::BTreeMap;

use time::{Date, Month};

use super::{Catalogue, Field, Form, Kind};
use crate::domain::{CitizenId, LicenceNo, Mobile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Stable rule code, e.g. `ID-CHECKSUM`.
    pub rule: &'static str,
    pub severity: Severity,
    /// The field the message belongs beside (the first of several, for cross-field rules).
    pub field: String,
    pub message: String,
}

/// The rule catalogue: code, severity, what it checks. Messages are built where the rule fires.
pub const RULES: &[(&str, Severity, &str)] = &[
    ("REQUIRED", Severity::Error, "必填项未填写"),
    ("REQUIRED-IF", Severity::Error, "在另一项取某值时必填"),
    ("TEXT-TOO-LONG", Severity::Error, "文字超过长度上限"),
    ("TEXT-CONTROL", Severity::Error, "文字含有不可见的控制字符"),
    ("DIGITS", Severity::Error, "应为固定位数的数字"),
    ("DATE-FORMAT", Severity::Error, "日期格式或日期本身无效"),
    (
        "DATE-FUTURE",
        Severity::Error,
        "日期晚于本次登记核查的判断日",
    ),
    ("YM-FORMAT", Severity::Error, "年月格式无效"),
    ("CODE-UNKNOWN", Severity::Error, "取值不在代码表中"),
    ("INT-FORMAT", Severity::Error, "应为整数或低于下限"),
    ("MONEY-FORMAT", Severity::Error, "金额格式无效"),
    ("ID-INVALID", Severity::Error, "公民身份号码不符合 GB 11643"),
    ("ID-BIRTH", Severity::Error, "出生日期与公民身份号码不一致"),
    ("ID-SEX", Severity::Error, "性别与公民身份号码第17位不一致"),
    ("MOBILE", Severity::Error, "手机号码格式无效"),
    ("LANDLINE", Severity::Error, "固定电话格式无效"),
    ("LICENCE-FORMAT", Severity::Error, "执业证号不是17位数字"),
    (
        "LICENCE-YEAR",
        Severity::Warning,
        "执业证号中的首次执业年份不合理或与所填不符",
    ),
    (
        "LICENCE-TYPE",
        Severity::Warning,
        "执业证号第10位与执业类别不符",
    ),
    ("REGION-UNKNOWN", Severity::Error, "行政区划代码不存在"),
    ("JOIN-AGE", Severity::Error, "入党时未满18周岁"),
    ("FULL-EARLY", Severity::Error, "转正日期早于入党满一年"),
    (
        "FULL-LATE",
        Severity::Warning,
        "转正日期晚于入党满两年（预备期最多延长一年）",
    ),
    (
        "FULL-PROBATIONARY",
        Severity::Error,
        "预备党员不应有转正日期",
    ),
    (
        "PROBATION-OVERDUE",
        Severity::Warning,
        "预备期已满一年仍为预备党员",
    ),
    (
        "LETTER-OLD",
        Severity::Warning,
        "组织关系介绍信开具已超过3个月",
    ),
    ("DUES-ARREARS", Severity::Warning, "党费超过6个月未交"),
    ("DUES-FUTURE", Severity::Warning, "党费交至年月晚于下个月"),
    ("LIFE-GAP", Severity::Warning, "超过6个月未参加组织生活"),
];

fn severity_of(rule: &str) -> Severity {
    RULES
        .iter()
        .find(|(code, _, _)| *code == rule)
        .map_or(Severity::Error, |r| r.1)
}

struct Out<'a> {
    findings: Vec<Finding>,
    fields: &'a BTreeMap<String, Field>,
}

impl Out<'_> {
    fn add(&mut self, rule: &'static str, field: &str, what: impl Into<String>) {
        let label = self.fields.get(field).map_or(field, |f| f.label.as_str());
        self.findings.push(Finding {
            rule,
            severity: severity_of(rule),
            field: field.to_owned(),
            message: format!("{label}：{}", what.into()),
        });
    }
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(5..7)?.parse().ok()?;
    let d: u8 = s.get(8..10)?.parse().ok()?;
    if y < 1900 {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// `YYYY-MM` as (year, month).
pub fn parse_ym(s: &str) -> Option<(i32, u8)> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    let y: i32 = s.get(0..4)?.parse().ok()?;
    let m: u8 = s.get(5..7)?.parse().ok()?;
    ((1900..=9999).contains(&y) && (1..=12).contains(&m)).then_some((y, m))
}

fn add_years(d: Date, years: i32) -> Date {
    let y = d.year() + years;
    d.replace_year(y)
        .or_else(|_| Date::from_calendar_date(y, d.month(), 28))
        .unwrap_or(d)
}

fn add_months(d: Date, months: i32) -> Date {
    let total = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months;
    let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let month = Month::try_from(m).unwrap_or(Month::January);
    let day = d.day().min(time::util::days_in_month(month, y));
    Date::from_calendar_date(y, month, day).unwrap_or(d)
}

fn month_index(y: i32, m: u8) -> i32 {
    y * 12 + i32::from(m) - 1
}

fn is_landline(s: &str) -> bool {
    let s: String = s.chars().filter(|c| *c != ' ').collect();
    let (area, rest) = match s.split_once('-') {
        Some(p) => p,
        None => return false,
    };
    let (number, ext) = match rest.split_once('-') {
        Some((n, e)) => (n, Some(e)),
        None => (rest, None),
    };
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    area.starts_with('0')
        && (3..=4).contains(&area.len())
        && digits(area)
        && (7..=8).contains(&number.len())
        && digits(number)
        && ext.is_none_or(|e| digits(e) && e.len() <= 6)
}

/// Check one form's values (field code → what was typed) as of `today`. Empty values are
/// absent or blank. The result lists errors first, then warnings.
pub fn validate(
    catalogue: &Catalogue,
    form: &Form,
    values: &BTreeMap<String, String>,
    today: Date,
) -> Vec<Finding> {
    let mut out = Out {
        findings: Vec::new(),
        fields: &catalogue.fields,
    };
    let value = |code: &str| values.get(code).map(|v| v.trim()).filter(|v| !v.is_empty());
    let region_codes = super::divisions::codes();
    for field in catalogue.fields_of(form) {
        let code = field.code.as_str();
        let Some(v) = value(code) else {
            if field.required {
                out.add("REQUIRED", code, "必填，请填写");
            } else if let Some((other, wanted)) = &field.required_if
                && value(other) == Some(wanted.as_str())
            {
                let other_field = catalogue.field(other);
                let other_label = other_field.map_or(other.as_str(), |f| f.label.as_str());
                let wanted_label = other_field
                    .and_then(|f| f.list.as_deref())
                    .and_then(|l| catalogue.list(l))
                    .and_then(|l| l.label(wanted))
                    .unwrap_or(wanted);
                out.add(
                    "REQUIRED-IF",
                    code,
                    format!("{other_label}为“{wanted_label}”时必填"),
                );
            }
            continue;
        };
        if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            out.add("TEXT-CONTROL", code, "含有不可见的控制字符，请重新输入");
            continue;
        }
        if let Some(max) = field.max_len
            && v.chars().count() > max
        {
            out.add(
                "TEXT-TOO-LONG",
                code,
                format!("不能超过{max}个字，当前{}个", v.chars().count()),
            );
            continue;
        }
        match field.kind {
            Kind::Text => {
                if let Some(n) = field.digits
                    && (v.len() != n || !v.chars().all(|c| c.is_ascii_digit()))
                {
                    out.add("DIGITS", code, format!("应为{n}位数字"));
                }
            }
            Kind::Date => match parse_date(v) {
                None => out.add("DATE-FORMAT", code, "应为有效日期，格式如 2018-07-31"),
                Some(d) if d > today && !field.future => {
                    out.add("DATE-FUTURE", code, format!("不能晚于判断日 {today}"))
                }
                Some(_) => {}
            },
            Kind::Ym => {
                if parse_ym(v).is_none() {
                    out.add("YM-FORMAT", code, "应为年月，格式如 2018-07");
                }
            }
            Kind::Code => {
                let list = field.list.as_deref().and_then(|l| catalogue.list(l));
                if list.is_some_and(|l| l.label(v).is_none()) {
                    out.add(
                        "CODE-UNKNOWN",
                        code,
                        format!("“{v}”不是有效选项，请从列表中选择"),
                    );
                }
            }
            Kind::Int => match v.parse::<i64>() {
                Ok(n) if field.min.is_some_and(|m| n < m) => out.add(
                    "INT-FORMAT",
                    code,
                    format!("不能小于{}", field.min.unwrap_or(0)),
                ),
                Ok(_) => {}
                Err(_) => out.add("INT-FORMAT", code, "应为整数"),
            },
            Kind::Money => {
                let ok = match v.split_once('.') {
                    Some((a, b)) => {
                        !a.is_empty()
                            && a.chars().all(|c| c.is_ascii_digit())
                            && (1..=2).contains(&b.len())
                            && b.chars().all(|c| c.is_ascii_digit())
                    }
                    None => v.chars().all(|c| c.is_ascii_digit()),
                };
                if !ok || v.len() > 12 {
                    out.add(
                        "MONEY-FORMAT",
                        code,
                        "应为金额（元），最多两位小数，如 8000.00",
                    );
                }
            }
            Kind::CitizenId => {
                if let Err(e) = CitizenId::parse(v, today) {
                    let reason = e.to_string();
                    let reason = reason.trim_start_matches("公民身份号码");
                    out.add("ID-INVALID", code, reason.to_owned());
                }
            }
            Kind::Mobile => {
                if Mobile::parse(v).is_err() {
                    out.add("MOBILE", code, "应为11位手机号码，以13–19开头");
                }
            }
            Kind::Landline => {
                if !is_landline(v) {
                    out.add("LANDLINE", code, "应为“区号-号码”，如 010-12345678");
                }
            }
            Kind::LicenceNo => {
                if let Err(e) = LicenceNo::parse(v) {
                    let reason = e.to_string();
                    out.add(
                        "LICENCE-FORMAT",
                        code,
                        reason.trim_start_matches("执业证号").to_owned(),
                    );
                }
            }
            Kind::Region => {
                if !region_codes.contains(v) {
                    out.add(
                        "REGION-UNKNOWN",
                        code,
                        format!("“{v}”不是有效的6位行政区划代码"),
                    );
                }
            }
        }
    }
    let has_error = |out: &Out<'_>, code: &str| {
        out.findings
            .iter()
            .any(|f| f.field == code && f.severity == Severity::Error)
    };
    let date_of = |out: &Out<'_>, code: &str| {
        if has_error(out, code) {
            None
        } else {
            value(code).and_then(parse_date)
        }
    };
    let in_form = |code: &str| {
        form.sections
            .iter()
            .any(|s| s.fields.iter().any(|f| f == code))
    };

    // Identity agrees with the ID number.
    let id = if has_error(&out, "citizen_id") {
        None
    } else {
        value("citizen_id").and_then(|v| CitizenId::parse(v, today).ok())
    };
    let birth = date_of(&out, "birth_date");
    if let (Some(id), Some(b)) = (&id, birth)
        && id.birth_date() != b
    {
        out.add(
            "ID-BIRTH",
            "birth_date",
            format!("与公民身份号码中的出生日期（{}）不一致", id.birth_date()),
        );
    }
    if let (Some(id), Some(sex)) = (&id, value("sex"))
        && !has_error(&out, "sex")
        && id.sex_code() != sex
    {
        out.add(
            "ID-SEX",
            "sex",
            "与公民身份号码第17位（奇数为男，偶数为女）不一致",
        );
    }
    let birth = birth.or_else(|| id.as_ref().map(CitizenId::birth_date));

    // Party dates: joined at 18 or older; full membership a year later, at most two.
    let joined = date_of(&out, "joined_on");
    if let (Some(b), Some(j)) = (birth, joined)
        && j < add_years(b, 18)
    {
        out.add(
            "JOIN-AGE",
            "joined_on",
            "入党时应年满18周岁，请核对入党日期和出生日期",
        );
    }
    let status = value("party_status");
    let full = date_of(&out, "full_member_on");
    match (status, joined, full) {
        (Some("probationary"), _, Some(_)) => out.add(
            "FULL-PROBATIONARY",
            "full_member_on",
            "预备党员不应填写转正日期；如已转正，请将人员类别改为正式党员",
        ),
        (Some("full"), Some(j), Some(f)) if f < add_years(j, 1) => out.add(
            "FULL-EARLY",
            "full_member_on",
            format!("应在入党日期一年之后（不早于 {}）", add_years(j, 1)),
        ),
        (Some("full"), Some(j), Some(f)) if f > add_years(j, 2) => out.add(
            "FULL-LATE",
            "full_member_on",
            "晚于入党满两年；预备期最多延长一年，请核对",
        ),
        (Some("probationary"), Some(j), None) if add_years(j, 1) < today => out.add(
            "PROBATION-OVERDUE",
            "party_status",
            format!("入党日期为 {j}，预备期已满一年，应按期讨论转正或延长预备期"),
        ),
        _ => {}
    }

    // Licence number against the practice fields.
    if in_form("licence_no")
        && !has_error(&out, "licence_no")
        && let Some(l) = value("licence_no").and_then(|v| LicenceNo::parse(v).ok())
    {
        let year = l.first_year();
        let first_year = value("first_licence_year").and_then(|v| v.parse::<i32>().ok());
        if year < 1979 || year > today.year() {
            out.add(
                "LICENCE-YEAR",
                "licence_no",
                format!("第6–9位（首次执业年份）为{year}，不在合理范围，请核对"),
            );
        } else if let Some(fy) = first_year
            && fy != year
        {
            out.add(
                "LICENCE-YEAR",
                "first_licence_year",
                format!("与执业证号第6–9位（{year}）不一致"),
            );
        }
        if let Some(pt) = value("practice_type")
            && !has_error(&out, "practice_type")
            && pt.len() == 1
            && pt.starts_with(|c: char| ('1'..='5').contains(&c))
            && l.practice_type().to_string() != pt
        {
            out.add(
                "LICENCE-TYPE",
                "practice_type",
                format!("执业证号第10位为{}，与所选执业类别不符", l.practice_type()),
            );
        }
    }

    // The four survey points: transfer letter, dues, organisation life.
    if value("transfer_status") == Some("in_transit")
        && let Some(issued) = date_of(&out, "letter_issued_on")
        && add_months(issued, 3) < today
    {
        out.add(
            "LETTER-OLD",
            "letter_issued_on",
            "介绍信开具已超过3个月，可能已过期，请核实或重新开具",
        );
    }
    if !has_error(&out, "dues_paid_until")
        && let Some((y, m)) = value("dues_paid_until").and_then(parse_ym)
    {
        let now = month_index(today.year(), u8::from(today.month()));
        let paid = month_index(y, m);
        if paid < now - 6 {
            out.add(
                "DUES-ARREARS",
                "dues_paid_until",
                "党费已超过6个月未交，请核实（连续6个月不交党费按党章规定处理）",
            );
        } else if paid > now + 1 {
            out.add(
                "DUES-FUTURE",
                "dues_paid_until",
                "晚于下个月；如为预交，请在说明中注明",
            );
        }
    }
    if let Some(last) = date_of(&out, "last_life_on")
        && add_months(last, 6) < today
    {
        out.add(
            "LIFE-GAP",
            "last_life_on",
            "已超过6个月未参加组织生活，请核实",
        );
    }
    out.findings.sort_by_key(|f| f.severity);
    out.findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2018 - 08 - 15);

    /// A complete, correct 附件1.
    fn good() -> BTreeMap<String, String> {
        [
            ("name", "张三"),
            ("sex", "1"),
            ("ethnicity", "01"),
            ("citizen_id", "440304198507151239"),
            ("birth_date", "1985-07-15"),
            ("education", "21"),
            ("mobile", "13800138000"),
            ("party_status", "full"),
            ("joined_on", "2008-06-01"),
            ("full_member_on", "2009-06-01"),
            ("standing", "normal"),
            ("licence_no", "14403201011123456"),
            ("practice_type", "1"),
            ("first_licence_year", "2010"),
            ("holder_name", "中共某某律师事务所支部委员会"),
            ("holder_type", "own_firm"),
            ("holder_region", "440304"),
            ("in_firm", "1"),
            ("transfer_status", "transferred"),
            ("dues_org", "中共某某律师事务所支部委员会"),
            ("dues_paid_until", "2018-07"),
            ("life_org", "中共某某律师事务所支部委员会"),
            ("last_life_on", "2018-07-01"),
            ("lost_contact", "0"),
            ("mobile_member", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn check(changes: &[(&str, &str)]) -> Vec<Finding> {
        let c = Catalogue::get();
        let mut v = good();
        for (k, val) in changes {
            v.insert((*k).to_owned(), (*val).to_owned());
        }
        validate(c, c.form("A1").unwrap(), &v, TODAY)
    }

    fn rules(changes: &[(&str, &str)]) -> Vec<&'static str> {
        check(changes).into_iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_correct_form_has_no_findings() {
        assert_eq!(check(&[]), vec![]);
    }

    #[test]
    fn every_rule_fires_on_its_case() {
        let long_name = "很".repeat(31);
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (vec![("name", "")], "REQUIRED", "姓名：必填"),
            (vec![("name", "   ")], "REQUIRED", "姓名：必填"),
            (
                vec![("name", &long_name)],
                "TEXT-TOO-LONG",
                "不能超过30个字",
            ),
            (vec![("name", "张\u{0007}三")], "TEXT-CONTROL", "控制字符"),
            (
                vec![("party_status", "full"), ("full_member_on", "")],
                "REQUIRED-IF",
                "转正日期：人员类别为“正式党员”时必填",
            ),
            (
                vec![("birth_date", "1985-02-30")],
                "DATE-FORMAT",
                "出生日期：应为有效日期",
            ),
            (vec![("birth_date", "85-7-15")], "DATE-FORMAT", "格式如"),
            (
                vec![("last_life_on", "2019-01-01")],
                "DATE-FUTURE",
                "最近一次参加组织生活日期：不能晚于判断日",
            ),
            (
                vec![("dues_paid_until", "2018/07")],
                "YM-FORMAT",
                "党费交至年月：应为年月",
            ),
            (
                vec![("ethnicity", "57")],
                "CODE-UNKNOWN",
                "民族：“57”不是有效选项",
            ),
            (
                vec![("first_licence_year", "20x0")],
                "INT-FORMAT",
                "应为整数",
            ),
            (
                vec![("dues_base", "8000.123")],
                "MONEY-FORMAT",
                "最多两位小数",
            ),
            (
                vec![("citizen_id", "440304198507151238")],
                "ID-INVALID",
                "公民身份号码：校验位不正确",
            ),
            (
                vec![("citizen_id", "44030419850715123")],
                "ID-INVALID",
                "应为18位，当前为17位",
            ),
            (
                vec![("birth_date", "1985-07-16")],
                "ID-BIRTH",
                "与公民身份号码中的出生日期（1985-07-15）不一致",
            ),
            (vec![("sex", "2")], "ID-SEX", "性别：与公民身份号码第17位"),
            (
                vec![("mobile", "1380013800")],
                "MOBILE",
                "手机号码：应为11位",
            ),
            (
                vec![("landline", "12345678")],
                "LANDLINE",
                "固定电话：应为“区号-号码”",
            ),
            (
                vec![("licence_no", "1440320101112345X")],
                "LICENCE-FORMAT",
                "执业证号：只能由数字组成",
            ),
            (
                vec![
                    ("licence_no", "14403197011123456"),
                    ("first_licence_year", ""),
                ],
                "LICENCE-YEAR",
                "第6–9位（首次执业年份）为1970",
            ),
            (
                vec![("first_licence_year", "2011")],
                "LICENCE-YEAR",
                "与执业证号第6–9位（2010）不一致",
            ),
            (
                vec![("practice_type", "2")],
                "LICENCE-TYPE",
                "执业证号第10位为1",
            ),
            (
                vec![("holder_region", "999999")],
                "REGION-UNKNOWN",
                "不是有效的6位行政区划代码",
            ),
            (
                vec![
                    ("joined_on", "2002-06-01"),
                    ("full_member_on", "2003-06-01"),
                ],
                "JOIN-AGE",
                "入党时应年满18周岁",
            ),
            (
                vec![("full_member_on", "2009-05-31")],
                "FULL-EARLY",
                "不早于 2009-06-01",
            ),
            (
                vec![("full_member_on", "2010-06-02")],
                "FULL-LATE",
                "预备期最多延长一年",
            ),
            (
                vec![("party_status", "probationary")],
                "FULL-PROBATIONARY",
                "预备党员不应填写转正日期",
            ),
            (
                vec![
                    ("party_status", "probationary"),
                    ("full_member_on", ""),
                    ("joined_on", "2017-06-01"),
                ],
                "PROBATION-OVERDUE",
                "预备期已满一年",
            ),
            (
                vec![
                    ("transfer_status", "in_transit"),
                    ("letter_issued_on", "2018-05-01"),
                ],
                "LETTER-OLD",
                "超过3个月",
            ),
            (
                vec![("transfer_status", "in_transit")],
                "REQUIRED-IF",
                "介绍信开具日期：组织关系转接状态为“转接中（介绍信已开出）”时必填",
            ),
            (
                vec![("dues_paid_until", "2018-01")],
                "DUES-ARREARS",
                "超过6个月未交",
            ),
            (
                vec![("dues_paid_until", "2018-12")],
                "DUES-FUTURE",
                "晚于下个月",
            ),
            (
                vec![("last_life_on", "2018-02-01")],
                "LIFE-GAP",
                "超过6个月未参加组织生活",
            ),
        ];
        for (changes, rule, text) in cases {
            let found = check(&changes);
            let hit = found.iter().find(|f| f.rule == rule);
            assert!(
                hit.is_some(),
                "{rule} did not fire for {changes:?}: {found:?}"
            );
            let hit = hit.unwrap();
            assert!(hit.message.contains(text), "{rule}: {}", hit.message);
            let (_, severity, _) = RULES.iter().find(|r| r.0 == rule).unwrap();
            assert_eq!(hit.severity, *severity, "{rule}");
        }
        // Every catalogued rule has a case above.
        for (code, _, _) in RULES {
            let covered = [
                "REQUIRED",
                "REQUIRED-IF",
                "TEXT-TOO-LONG",
                "TEXT-CONTROL",
                "DATE-FORMAT",
                "DATE-FUTURE",
                "YM-FORMAT",
                "CODE-UNKNOWN",
                "INT-FORMAT",
                "MONEY-FORMAT",
                "ID-INVALID",
                "ID-BIRTH",
                "ID-SEX",
                "MOBILE",
                "LANDLINE",
                "LICENCE-FORMAT",
                "LICENCE-YEAR",
                "LICENCE-TYPE",
                "REGION-UNKNOWN",
                "JOIN-AGE",
                "FULL-EARLY",
                "FULL-LATE",
                "FULL-PROBATIONARY",
                "PROBATION-OVERDUE",
                "LETTER-OLD",
                "DUES-ARREARS",
                "DUES-FUTURE",
                "LIFE-GAP",
                "DIGITS",
            ];
            assert!(covered.contains(code), "rule {code} has no test case");
        }
    }

    #[test]
    fn staff_form_rules() {
        let c = Catalogue::get();
        let a2 = c.form("A2").unwrap();
        let mut v = good();
        v.insert("staff_post".into(), "trainee".into());
        let found = validate(c, a2, &v, TODAY);
        assert_eq!(
            found.iter().map(|f| f.rule).collect::<Vec<_>>(),
            vec!["REQUIRED-IF"]
        );
        assert!(found[0].message.starts_with("实习证号："));
        v.insert("trainee_no".into(), "1234".into());
        let found = validate(c, a2, &v, TODAY);
        assert_eq!(found[0].rule, "DIGITS");
        assert_eq!(found[0].message, "实习证号：应为14位数字");
        v.insert("trainee_no".into(), "44012018011001".into());
        assert!(
            validate(c, a2, &v, TODAY).is_empty(),
            "licence fields are not in 附件2"
        );
    }

    #[test]
    fn html_is_just_text_and_errors_come_first() {
        let found = rules(&[
            ("address", "<script>alert(1)</script>"),
            ("dues_paid_until", "2018-01"),
            ("mobile", "x"),
        ]);
        assert_eq!(
            found,
            vec!["MOBILE", "DUES-ARREARS"],
            "script text is allowed as text; errors before warnings"
        );
    }

    #[test]
    fn landlines_and_dates() {
        for ok in ["010-12345678", "0755-1234567", "021-12345678-123"] {
            assert!(is_landline(ok), "{ok}");
        }
        for bad in [
            "",
            "10-12345678",
            "010-123",
            "010-123456789",
            "010-1234567a",
        ] {
            assert!(!is_landline(bad), "{bad}");
        }
        assert_eq!(add_years(date!(2016 - 02 - 29), 1), date!(2017 - 02 - 28));
        assert_eq!(add_months(date!(2018 - 08 - 31), -6), date!(2018 - 02 - 28));
        assert_eq!(parse_ym("2018-13"), None);
    }
}
