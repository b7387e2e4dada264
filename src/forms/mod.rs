//! The registration forms as data: code lists (`forms/codes.toml`), the member fields
//! (`forms/member_fields.toml`) and the attachments that arrange them (`forms/a1.toml`,
//! `forms/a2.toml`), embedded in the binary and checked for consistency when first loaded.
//! One definition drives the web form, the validation messages and (later) Excel columns.

pub mod divisions;
pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

pub use rules::{Finding, Severity, validate};

const CODES: &str = include_str!("../../forms/codes.toml");
const FIELD_FILES: [&str; 2] = [
    include_str!("../../forms/member_fields.toml"),
    include_str!("../../forms/org_fields.toml"),
];
const SUMMARIES: &str = include_str!("../../forms/summaries.toml");
const HEADERS: &str = include_str!("../../forms/headers.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderFile {
    aliases: BTreeMap<String, Vec<String>>,
}
const FORMS: [&str; 3] = [
    include_str!("../../forms/a1.toml"),
    include_str!("../../forms/a2.toml"),
    include_str!("../../forms/a3.toml"),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeList {
    pub name: String,
    pub source: String,
    pub revision: String,
    pub codes: Vec<(String, String)>,
    /// Other ways people write a value (code, what they write): short forms, old names.
    #[serde(default)]
    pub aliases: Vec<(String, String)>,
    /// Codes that head a group of the list (GB/T 4658's 研究生教育 …): kept for old records
    /// and imports, never offered as a choice.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Labels and aliases [`normalise`]d, built on first use: (normalised text, code), labels
    /// first, and the same as a map for the exact match.
    #[serde(skip)]
    normalised: std::sync::OnceLock<Normalised>,
}

/// A code list's texts made comparable: (normalised label, code) in list order, and every
/// normalised label, alias and code to its code.
type Normalised = (Vec<(String, String)>, HashMap<String, String>);

/// A value as written by hand, made comparable: full-width letters, digits and brackets to
/// half-width, spaces of every kind and ＊ marks dropped.
pub fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '＊' | '*' | '\u{3000}'))
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '【' | '［' => '[',
            '】' | '］' => ']',
            '，' => ',',
            '：' => ':',
            '／' => '/',
            // Full-width ASCII (！ to ～) to its half-width form.
            c if ('\u{FF01}'..='\u{FF5E}').contains(&c) => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .collect()
}

impl CodeList {
    pub fn label(&self, code: &str) -> Option<&str> {
        self.codes
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, l)| l.as_str())
    }

    /// The code a value written by hand stands for: a code, a label or an alias (compared
    /// after [`normalise`]), or the start of exactly one label (专职 for 专职律师). Otherwise
    /// the labels closest to it, for the message.
    pub fn resolve(&self, typed: &str) -> Result<&str, Vec<&str>> {
        if let Some((c, _)) = self.codes.iter().find(|(c, _)| c == typed) {
            return Ok(c);
        }
        let (labels, exact) = self.normalised.get_or_init(|| {
            let labels: Vec<(String, String)> = self
                .codes
                .iter()
                .map(|(c, l)| (normalise(l), c.clone()))
                .collect();
            let mut exact: HashMap<String, String> = HashMap::new();
            for (c, text) in self.codes.iter().chain(&self.aliases) {
                exact.entry(normalise(text)).or_insert_with(|| c.clone());
            }
            for (c, _) in &self.codes {
                exact.entry(c.clone()).or_insert_with(|| c.clone());
            }
            (labels, exact)
        });
        let t = normalise(typed);
        let code_of = |c: &str| {
            self.codes
                .iter()
                .find(|(code, _)| code == c)
                .map(|(code, _)| code.as_str())
        };
        if let Some(c) = exact.get(&t).and_then(|c| code_of(c)) {
            return Ok(c);
        }
        if !t.is_empty() {
            let starting: Vec<&str> = labels
                .iter()
                .filter(|(l, _)| l.starts_with(&t))
                .filter_map(|(_, c)| code_of(c))
                .collect();
            if let [c] = starting.as_slice() {
                return Ok(c);
            }
            if starting.len() > 1 {
                return Err(starting
                    .iter()
                    .filter_map(|c| self.label(c))
                    .take(6)
                    .collect());
            }
        }
        // The labels sharing most characters with what was typed.
        let mut scored: Vec<(usize, &str)> = self
            .codes
            .iter()
            .map(|(_, l)| (l.chars().filter(|c| t.contains(*c)).count(), l.as_str()))
            .filter(|(n, _)| *n > 0)
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        let closest: Vec<&str> = scored.iter().map(|(_, l)| *l).take(5).collect();
        Err(if closest.is_empty() {
            self.codes.iter().map(|(_, l)| l.as_str()).take(8).collect()
        } else {
            closest
        })
    }
}

/// How a field's value is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Date,
    Ym,
    Code,
    Int,
    Money,
    CitizenId,
    Mobile,
    Landline,
    LicenceNo,
    Region,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub code: String,
    pub label: String,
    pub kind: Kind,
    /// The code list of a `code` field.
    pub list: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Required when another field has this value: `[field, value]`.
    pub required_if: Option<(String, String)>,
    pub max_len: Option<usize>,
    /// Exactly this many digits (for numbers written as text).
    pub digits: Option<usize>,
    pub min: Option<i64>,
    /// A date that may lie in the future (e.g. the end of a term of office).
    #[serde(default)]
    pub future: bool,
    pub help: Option<String>,
    /// Roles that may change the field (codes of `Role`); everybody who may file the form
    /// when absent. Others see the field read-only.
    pub edit: Option<Vec<String>>,
}

impl Field {
    /// Whether a user with this role may change the field.
    pub fn editable_by(&self, role: crate::domain::Role) -> bool {
        self.edit
            .as_ref()
            .is_none_or(|roles| roles.iter().any(|r| r == role.code()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    field: Vec<Field>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub title: String,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub code: String,
    pub attachment: String,
    pub title: String,
    /// Who files it: `lawyer` or `staff` members, or an `organisation`.
    pub category: String,
    #[serde(rename = "section")]
    pub sections: Vec<Section>,
}

/// One column of a summary table: a form field, or a value the system derives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub label: String,
    pub field: Option<String>,
    pub derived: Option<String>,
}

/// The column set of a summary table (附件4/5/6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub code: String,
    pub attachment: String,
    pub title: String,
    /// `lawyer`, `staff` or `organisation`.
    pub rows: String,
    /// Whether the level statistics block goes with the table (附件6).
    #[serde(default)]
    pub stats: bool,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryFile {
    table: Vec<Summary>,
}

/// Everything the forms need, loaded once.
#[derive(Debug)]
pub struct Catalogue {
    pub lists: BTreeMap<String, CodeList>,
    pub fields: BTreeMap<String, Field>,
    pub forms: Vec<Form>,
    pub summaries: Vec<Summary>,
    /// Column headers as people write them (alias → the template's header), from
    /// `forms/headers.toml`.
    pub header_aliases: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("form data does not parse: {0}")]
    Parse(String),
    #[error("form data is inconsistent: {0}")]
    Inconsistent(String),
}

impl Catalogue {
    /// Parse and cross-check the embedded definitions.
    pub fn parse() -> Result<Self, CatalogueError> {
        let parse = |e: toml::de::Error| CatalogueError::Parse(e.to_string());
        let lists: BTreeMap<String, CodeList> = toml::from_str(CODES).map_err(parse)?;
        for (name, list) in &lists {
            if let Some((code, alias)) = list.aliases.iter().find(|(c, _)| list.label(c).is_none())
            {
                return Err(CatalogueError::Inconsistent(format!(
                    "list {name}: alias {alias} names unknown code {code}"
                )));
            }
        }
        let mut all_fields = Vec::new();
        for text in FIELD_FILES {
            let file: FieldFile = toml::from_str(text).map_err(parse)?;
            all_fields.extend(file.field);
        }
        let mut by_code = BTreeMap::new();
        for f in all_fields {
            if let Some(roles) = &f.edit
                && let Some(bad) = roles
                    .iter()
                    .find(|r| crate::domain::Role::from_code(r).is_none())
            {
                return Err(CatalogueError::Inconsistent(format!(
                    "field {} names unknown role {bad}",
                    f.code
                )));
            }
            if let Some(list) = &f.list
                && !lists.contains_key(list)
            {
                return Err(CatalogueError::Inconsistent(format!(
                    "field {} names unknown list {list}",
                    f.code
                )));
            }
            if (f.kind == Kind::Code) != f.list.is_some() {
                return Err(CatalogueError::Inconsistent(format!(
                    "field {}: code fields and only they have a list",
                    f.code
                )));
            }
            let code = f.code.clone();
            if by_code.insert(code.clone(), f).is_some() {
                return Err(CatalogueError::Inconsistent(format!("field {code} twice")));
            }
        }
        let mut forms = Vec::new();
        for text in FORMS {
            let form: Form = toml::from_str(text).map_err(parse)?;
            for s in &form.sections {
                for f in &s.fields {
                    if !by_code.contains_key(f) {
                        return Err(CatalogueError::Inconsistent(format!(
                            "form {} uses unknown field {f}",
                            form.code
                        )));
                    }
                }
            }
            forms.push(form);
        }
        for f in by_code.values() {
            if let Some((other, value)) = &f.required_if {
                let Some(o) = by_code.get(other) else {
                    return Err(CatalogueError::Inconsistent(format!(
                        "field {} depends on unknown field {other}",
                        f.code
                    )));
                };
                if let Some(list) = o.list.as_ref().and_then(|l| lists.get(l))
                    && list.label(value).is_none()
                {
                    return Err(CatalogueError::Inconsistent(format!(
                        "field {} depends on {other} = {value}, not in its list",
                        f.code
                    )));
                }
            }
        }
        let summaries: SummaryFile = toml::from_str(SUMMARIES).map_err(parse)?;
        for t in &summaries.table {
            for c in &t.columns {
                let ok = match (&c.field, &c.derived) {
                    (Some(f), None) => by_code.contains_key(f),
                    (None, Some(_)) => true,
                    _ => false,
                };
                if !ok {
                    return Err(CatalogueError::Inconsistent(format!(
                        "summary {} column {}: one known field or one derived value",
                        t.code, c.label
                    )));
                }
            }
        }
        let headers: HeaderFile = toml::from_str(HEADERS).map_err(parse)?;
        let header_aliases = headers
            .aliases
            .into_iter()
            .flat_map(|(canonical, aliases)| {
                aliases.into_iter().map(move |a| (a, canonical.clone()))
            })
            .collect();
        Ok(Self {
            lists,
            fields: by_code,
            forms,
            summaries: summaries.table,
            header_aliases,
        })
    }

    /// The shipped catalogue (parsed on first use; its consistency is a unit test).
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| match Self::parse() {
            Ok(c) => c,
            // The embedded data is fixed at build time and tested; failing here is a build bug.
            Err(e) => panic!("embedded form definitions are broken: {e}"),
        })
    }

    pub fn form(&self, code: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.code == code)
    }

    /// The form a member of this category files (附件1 lawyers, 附件2 staff).
    pub fn form_for_category(&self, category: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.category == category)
    }

    pub fn field(&self, code: &str) -> Option<&Field> {
        self.fields.get(code)
    }

    pub fn list(&self, code: &str) -> Option<&CodeList> {
        self.lists.get(code)
    }

    /// The fields of a form in display order.
    pub fn fields_of<'a>(&'a self, form: &'a Form) -> impl Iterator<Item = &'a Field> + 'a {
        form.sections
            .iter()
            .flat_map(|s| s.fields.iter())
            .filter_map(|c| self.fields.get(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_the_way_people_write_them() {
        let c = Catalogue::get();
        let code =
            |list: &str, typed: &str| c.list(list).unwrap().resolve(typed).map(str::to_owned);
        assert_eq!(code("practice_type", "专职"), Ok("1".into()));
        assert_eq!(code("practice_type", "专职律师　"), Ok("1".into()));
        assert_eq!(code("practice_type", "法援"), Ok("8".into()));
        assert_eq!(code("transfer_status", "转接中"), Ok("in_transit".into()));
        assert_eq!(code("staff_post", "实习人员"), Ok("trainee".into()));
        assert_eq!(
            code("staff_post", "实习人员(持实习证)"),
            Ok("trainee".into())
        );
        assert_eq!(
            code("holder_type", "联合党支部(含本所)"),
            Ok("joint_branch".into())
        );
        assert_eq!(
            code("holder_type", "联合党支部 （含本所）"),
            Ok("joint_branch".into())
        );
        assert_eq!(code("education", "本科"), Ok("21".into()));
        assert_eq!(code("party_status", "正式"), Ok("full".into()));
        assert_eq!(code("ethnicity", "汉"), Ok("01".into()));
        assert_eq!(code("ethnicity", "01"), Ok("01".into()));
        assert_eq!(code("sex", "女性"), Ok("2".into()));
        // Ambiguous or unknown: the closest values, for the message.
        let e = code("education", "大学").unwrap_err();
        assert!(e.iter().any(|l| l.starts_with("大学本科")), "{e:?}");
        let e = code("ethnicity", "火星族").unwrap_err();
        assert!(!e.is_empty(), "{e:?}");
        assert_eq!(normalise("ＡＢ１（２）"), "AB1(2)");
    }

    #[test]
    fn shipped_definitions_are_consistent() {
        let c = Catalogue::parse().unwrap();
        assert_eq!(c.list("ethnicity").unwrap().codes.len(), 56);
        assert_eq!(c.list("ethnicity").unwrap().label("46"), Some("德昂族"));
        assert_eq!(c.list("case").unwrap().codes.len(), 5);
        assert!(c.list("education").unwrap().label("14").is_some());
        let a1 = c.form("A1").unwrap();
        assert_eq!(a1.attachment, "附件1");
        assert!(c.fields_of(a1).any(|f| f.code == "licence_no"));
        let a2 = c.form_for_category("staff").unwrap();
        assert_eq!(a2.code, "A2");
        assert!(!c.fields_of(a2).any(|f| f.code == "licence_no"));
        assert!(c.fields_of(a2).any(|f| f.code == "staff_post"));
        let a3 = c.form("A3").unwrap();
        assert_eq!(a3.attachment, "附件3");
        assert!(c.fields_of(a3).any(|f| f.code == "term_end"));
        let remarks = c.field("remarks").unwrap();
        assert!(!remarks.editable_by(crate::domain::Role::Member));
        assert!(remarks.editable_by(crate::domain::Role::Clerk));
        assert!(
            c.field("name")
                .unwrap()
                .editable_by(crate::domain::Role::Member)
        );
        let codes: Vec<&str> = c.summaries.iter().map(|s| s.attachment.as_str()).collect();
        assert_eq!(
            codes,
            ["附件4", "附件5", "附件6", "附件1", "附件2", "附件3"]
        );
        // The rosters carry every field of their form under the form's labels (so an export
        // of them imports again).
        for (roster, form) in [("A1", "A1"), ("A2", "A2"), ("A3", "A3")] {
            let t = c.summaries.iter().find(|t| t.code == roster).unwrap();
            for f in c.fields_of(c.form(form).unwrap()) {
                assert!(
                    t.columns
                        .iter()
                        .any(|col| col.field.as_deref() == Some(&f.code) && col.label == f.label),
                    "{roster} lacks {}",
                    f.code
                );
            }
        }
        assert!(
            c.summaries[0]
                .columns
                .iter()
                .any(|col| col.label == "执业证号")
        );
        for l in c.lists.values() {
            assert!(!l.source.is_empty() && !l.revision.is_empty(), "{}", l.name);
        }
    }
}
