//! Turning a form definition, its values and its findings into what the form templates show.

use std::collections::{BTreeMap, HashSet};

use crate::domain::Role;
use crate::forms::{Catalogue, Finding, Form, Kind, Severity};

pub struct FieldView {
    pub code: String,
    pub label: String,
    pub input: &'static str,
    pub value: String,
    /// A region field's code named in full (四川省成都市武侯区).
    pub region_name: Option<String>,
    pub options: Vec<(String, String, bool)>,
    pub required: bool,
    pub placeholder: Option<&'static str>,
    pub help: Option<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Shown read-only to this user.
    pub locked: bool,
}

pub struct SectionView {
    pub title: String,
    pub fields: Vec<FieldView>,
}

/// The sections of `form` with `values` filled in and each finding beside its field; findings
/// about no field of the form come back separately.
pub fn form_sections(
    form: &Form,
    values: &BTreeMap<String, String>,
    typed_id: &str,
    findings: &[Finding],
    role: Role,
) -> (Vec<SectionView>, Vec<String>) {
    let catalogue = Catalogue::get();
    let mut placed = HashSet::new();
    let sections = form
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title.clone(),
            fields: s
                .fields
                .iter()
                .filter_map(|code| catalogue.field(code))
                .map(|f| {
                    placed.insert(f.code.clone());
                    let value = if f.kind == Kind::CitizenId {
                        typed_id.to_owned()
                    } else {
                        values.get(&f.code).cloned().unwrap_or_default()
                    };
                    let options = f
                        .list
                        .as_deref()
                        .and_then(|l| catalogue.list(l))
                        .map(|l| {
                            // Group headings (研究生教育) are not choices, unless stored.
                            l.codes
                                .iter()
                                .filter(|(c, _)| !l.groups.contains(c) || *c == value)
                                .map(|(c, label)| (c.clone(), label.clone(), *c == value))
                                .collect()
                        })
                        .unwrap_or_default();
                    let of = |sev: Severity| {
                        findings
                            .iter()
                            .filter(|x| x.field == f.code && x.severity == sev)
                            .map(|x| x.message.clone())
                            .collect::<Vec<_>>()
                    };
                    FieldView {
                        code: f.code.clone(),
                        label: f.label.clone(),
                        input: match f.kind {
                            Kind::Code => "select",
                            Kind::CitizenId => "citizen_id",
                            Kind::Region => "region",
                            _ => "text",
                        },
                        region_name: if f.kind == Kind::Region {
                            crate::forms::divisions::full_name(value.trim())
                        } else {
                            None
                        },
                        value,
                        options,
                        required: f.required,
                        placeholder: match f.kind {
                            Kind::Date => Some("YYYY-MM-DD"),
                            Kind::Ym => Some("YYYY-MM"),
                            _ => None,
                        },
                        help: f.help.clone(),
                        errors: of(Severity::Error),
                        warnings: of(Severity::Warning),
                        locked: !f.editable_by(role),
                    }
                })
                .collect(),
        })
        .collect();
    let others = findings
        .iter()
        .filter(|f| !placed.contains(&f.field))
        .map(|f| f.message.clone())
        .collect();
    (sections, others)
}
