//! The firm registry (律师事务所名册): each firm checked (credit code, region, form, number of
//! lawyers, once in the country) and placed under its city-level node — the one imported into,
//! the one the row names, or the one whose region covers the firm's.

use std::collections::HashMap;

use super::*;

/// The columns of the firm registry (forms.md §3.3: firms with or without an organisation).
pub(super) const FIRM_COLUMNS: [Col; 6] = [
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "name",
            "律师事务所名称",
            true,
            Kind::Text,
            None,
            "律师事务所全称，与执业许可证一致",
        )
    },
    Col {
        max_len: Some(18),
        ..col(
            "credit_code",
            "统一社会信用代码",
            true,
            Kind::Text,
            None,
            "18位统一社会信用代码（GB 32100），律师事务所以“31”开头；三证合一后即执业许可证号；全国唯一",
        )
    },
    col(
        "region",
        "所在行政区划",
        true,
        Kind::Region,
        None,
        "律所所在地的区县代码",
    ),
    col("form", "组织形式", true, Kind::Code, Some("firm_form"), ""),
    col(
        "lawyers",
        "律师人数",
        true,
        Kind::Int,
        None,
        "本所执业律师人数，0或正整数",
    ),
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "city",
            "所属地市级党组织",
            false,
            Kind::Text,
            None,
            "律所归哪个地市级律师行业党委（或司法行政机关党组织）管理，写该党组织在本系统中的名称；导入到地市级党组织时可不填，导入到省级或全国时必填",
        )
    },
];

/// The code of a 组织形式 as typed: a code, label, short form or alias of the list
/// (`forms/codes.toml`), with or without 律师事务所 after it.
pub(super) fn form_code(t: &str) -> Option<String> {
    let t = norm(t);
    let list = Catalogue::get().list("firm_form")?;
    list.resolve(&t)
        .or_else(|_| list.resolve(t.trim_end_matches("律师事务所")))
        .ok()
        .map(str::to_owned)
}

/// The city-level nodes whose region covers a county-level `code`: the district itself (a
/// municipality's districts are city-level here), else its prefecture (`xxxx00`).
pub(super) fn covering<'o>(cities: &'o [Org], code: &str) -> Vec<&'o Org> {
    let exact: Vec<&Org> = cities
        .iter()
        .filter(|c| c.region_code.as_deref() == Some(code))
        .collect();
    if !exact.is_empty() || code.len() != 6 {
        return exact;
    }
    let prefecture = format!("{}00", &code[..4]);
    cities
        .iter()
        .filter(|c| c.region_code.as_deref() == Some(prefecture.as_str()))
        .collect()
}

pub(super) async fn check_firms<'a>(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    mut data: Vec<Row<'a>>,
    known: &HashMap<String, KnownFirm>,
) -> ServiceResult<(Vec<Row<'a>>, Vec<(u32, Plan)>)> {
    const K: ImportKind = ImportKind::Firms;
    let cities: Vec<Org> = if org.level == OrgLevel::City {
        vec![org.clone()]
    } else {
        org_store::orgs_at_level(conn, &Scope::Subtree(org.path.clone()), OrgLevel::City).await?
    };
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut plans = Vec::new();
    for r in &mut data {
        let name = r.name(K, "name", MAX_NAME);
        // The credit code: valid, once in the file, not yet on record anywhere.
        let raw = r.text("credit_code");
        let code = match CreditCode::parse_law_firm(&raw) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(e) => {
                r.error(K, "credit_code", "CREDIT-CODE", e.to_string());
                None
            }
        };
        if let Some(c) = &code {
            if let Some(first) = seen.get(c) {
                r.error(
                    K,
                    "credit_code",
                    "DUP-IN-FILE",
                    format!("与第{first}行的统一社会信用代码相同：同一律师事务所只登记一次"),
                );
            } else {
                seen.insert(c.clone(), r.n);
            }
            if let Some(f) = known.get(c) {
                if org.path.contains(&f.scope_path) {
                    r.error(
                        K,
                        "credit_code",
                        "FIRM-EXISTS",
                        format!("该律师事务所已登记：{}（{}）", f.name, f.city_name),
                    );
                } else {
                    r.error(
                        K,
                        "credit_code",
                        "FIRM-ELSEWHERE",
                        "该律师事务所已在系统中登记（不在您的管辖范围内），不能重复登记；如有疑问请与上级党组织核实".into(),
                    );
                }
            }
        }
        // The city-level node it goes under: the one imported into, the one the row names, or
        // the one whose region covers the firm's (GB/T 2260: the prefecture, or the district
        // of a municipality).
        let region = r.region(K, true, "");
        let city_text = r.text("city");
        let city: Option<&Org> = if org.level == OrgLevel::City {
            if !city_text.is_empty() && norm(&city_text) != norm(&org.name) {
                r.error(
                    K,
                    "city",
                    "CITY-NOT-HERE",
                    format!(
                        "导入到“{}”时，律师事务所只能登记在本单位之下（本行写的是“{city_text}”）",
                        org.name
                    ),
                );
                None
            } else {
                Some(org)
            }
        } else if city_text.is_empty() {
            match region.as_deref().map(|code| covering(&cities, code)) {
                // The region is missing or wrong: said once, by the region's own check.
                None => None,
                Some(found) => match found.as_slice() {
                    [one] => Some(*one),
                    [] => {
                        r.error(
                            K,
                            "city",
                            "CITY-NOT-FOUND",
                            format!(
                                "“{}”之下没有覆盖行政区划 {} 的地市级党组织：请先建立该地市级党组织（党组织名册或“建立地市级党组织”），或在“所属地市级党组织”栏写明",
                                org.name,
                                region.as_deref().unwrap_or_default()
                            ),
                        );
                        None
                    }
                    many => {
                        r.error(
                            K,
                            "city",
                            "CITY-AMBIGUOUS",
                            format!(
                                "行政区划 {} 有{}个地市级党组织（{}）：请在“所属地市级党组织”栏写明是哪一个",
                                region.as_deref().unwrap_or_default(),
                                many.len(),
                                many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("、")
                            ),
                        );
                        None
                    }
                },
            }
        } else {
            let found: Vec<&Org> = cities
                .iter()
                .filter(|c| norm(&c.name) == norm(&city_text))
                .collect();
            match found.as_slice() {
                [one] => Some(*one),
                [] => {
                    r.error(
                        K,
                        "city",
                        "CITY-NOT-FOUND",
                        format!("“{}”之下没有名为“{city_text}”的地市级党组织", org.name),
                    );
                    None
                }
                _ => {
                    r.error(
                        K,
                        "city",
                        "CITY-AMBIGUOUS",
                        format!(
                            "“{}”之下有{}个名为“{city_text}”的地市级党组织，无法确定",
                            org.name,
                            found.len()
                        ),
                    );
                    None
                }
            }
        };
        if let (Some(region), Some(city)) = (&region, city) {
            r.region_within(
                K,
                region,
                city.region_code.as_deref().map(|c| (city.name.as_str(), c)),
            );
        }
        let form_text = r.text("form");
        let form = if form_text.is_empty() {
            r.error(K, "form", "REQUIRED", "“组织形式”不能为空".into());
            None
        } else {
            let f = form_code(&form_text);
            if f.is_none() {
                r.error(
                    K,
                    "form",
                    "CODE",
                    format!("“{form_text}”不是可选的组织形式：合伙所、国资所、个人所"),
                );
            }
            f
        };
        let lawyers = match r.cells.get("lawyers").copied() {
            None | Some(Value::Empty) => {
                r.error(K, "lawyers", "REQUIRED", "“律师人数”不能为空".into());
                None
            }
            Some(Value::Number(f)) if f.fract() == 0.0 && (0.0..=100_000.0).contains(f) => {
                Some(*f as i64)
            }
            Some(v) => match cell_text(v).parse::<i64>() {
                Ok(n) if (0..=100_000).contains(&n) => Some(n),
                _ => {
                    r.error(
                        K,
                        "lawyers",
                        "INT",
                        format!("律师人数应为0或正整数，不是“{}”", cell_text(v)),
                    );
                    None
                }
            },
        };
        if let (Some(name), Some(code), Some(city), Some(region), Some(form), Some(lawyers)) =
            (name, code, city, region, form, lawyers)
        {
            plans.push((
                r.n,
                Plan::Firm(NewFirm {
                    name,
                    credit_code: code,
                    region_code: region,
                    city_org_id: city.id,
                    city_path: city.path.clone(),
                    form,
                    lawyer_count: lawyers,
                }),
            ));
        }
    }
    Ok((data, plans))
}
