//! The organisation roster (党组织名册): each organisation built one level below its parent
//! (a node on record, a row above it, or a city-level committee the row names and the import
//! builds), firm organisations taking over their firms, and the roster's 附件3 columns filling
//! the organisation's 附件3 draft, judged by the form's and the party's rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;

/// The columns of the organisation roster.
pub(super) const ORG_COLUMNS: [Col; 8] = [
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "name",
            "党组织全称",
            true,
            Kind::Text,
            None,
            "如“中共××律师事务所支部委员会”；同一上级党组织下不能重名",
        )
    },
    col(
        "kind",
        "组织类别",
        true,
        Kind::Code,
        Some("org_kind"),
        "地市级：律师行业党委或司法行政机关党组织；律所党组织：党委、党总支、党支部或联合党支部",
    ),
    Col {
        max_len: Some(MAX_NAME),
        ..col(
            "parent",
            "上级党组织",
            false,
            Kind::Text,
            None,
            "不填即为导入到的党组织本身；也可写本辖区已有党组织的全称，或本文件中前面某行党组织的全称（如先建地市级党委，再在其下建律所党组织）",
        )
    },
    col(
        "region",
        "所在行政区划",
        false,
        Kind::Region,
        None,
        "省级、地市级党组织必填；律所党组织可不填",
    ),
    Col {
        ..col(
            "firms",
            "所在律师事务所统一社会信用代码",
            false,
            Kind::Text,
            None,
            "律所党组织必填：所在律所的统一社会信用代码；联合党支部写两个及以上，用顿号或逗号分隔；律所须已在本系统登记（先导入律师事务所名册）且尚未建立党组织、尚无党员登记",
        )
    },
    Col {
        max_len: Some(20),
        ..col("secretary", "书记姓名", false, Kind::Text, None, "")
    },
    Col {
        max_len: Some(20),
        ..col(
            "phone",
            "联系电话",
            false,
            Kind::Text,
            None,
            "手机或带区号的固定电话",
        )
    },
    Col {
        ..col("formed_on", "成立日期", false, Kind::Date, None, "")
    },
];

/// 附件3 fields the roster's own columns already carry (name, kind, region, secretary, phone,
/// date formed): the draft takes them from the organisation itself.
pub(super) const A3_FROM_ROSTER: [&str; 6] = [
    "org_full_name",
    "org_kind",
    "org_region",
    "secretary_name",
    "contact_phone",
    "formed_on",
];

/// A column people keep in organisation rosters that 附件3 does not store (the secretary's ID
/// number belongs in the secretary's own member form).
pub(super) const SECRETARY_ID: &str = "书记公民身份号码";

/// The 附件3 field a roster header names, beyond the roster's own columns.
pub(super) fn a3_field(h: &str) -> Option<&'static Field> {
    let catalogue = Catalogue::get();
    let form = catalogue.form("A3")?;
    catalogue
        .fields_of(form)
        .filter(|f| !A3_FROM_ROSTER.contains(&f.code.as_str()))
        .find(|f| header_key(catalogue, &f.label) == h)
}

/// The kind an organisation's 组织类别 names, as people write it (党支部, 支部, 联合支部 …).
pub(super) fn kind_of(t: &str) -> Option<OrgKind> {
    let code = Catalogue::get().list("org_kind")?.resolve(&norm(t)).ok()?;
    OrgKind::ALL.into_iter().find(|k| k.code() == code)
}

pub(super) fn allowed_labels(level: OrgLevel) -> String {
    OrgKind::ALL
        .into_iter()
        .filter(|k| k.allowed_at(level))
        .map(OrgKind::label)
        .collect::<Vec<_>>()
        .join("、")
}

#[allow(clippy::too_many_lines)]
pub(super) async fn check_orgs<'a>(
    conn: &mut sqlx::AnyConnection,
    org: &Org,
    mut data: Vec<Row<'a>>,
    known: &HashMap<String, KnownFirm>,
) -> ServiceResult<(Vec<Row<'a>>, Vec<(u32, Plan)>)> {
    const K: ImportKind = ImportKind::Orgs;
    // Every name the file uses (its organisations and their parents), looked up in the subtree.
    let names: Vec<String> = data
        .iter()
        .flat_map(|r| [r.text("name"), r.text("parent")])
        .filter(|n| !n.is_empty())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let existing = org_store::orgs_named(conn, &Scope::Subtree(org.path.clone()), &names).await?;
    let mut existing_by_name: HashMap<String, Vec<&Org>> = HashMap::new();
    for o in &existing {
        existing_by_name.entry(norm(&o.name)).or_default().push(o);
    }
    let by_norm =
        |name: &str| -> &[&Org] { existing_by_name.get(&norm(name)).map_or(&[], Vec::as_slice) };
    // The last row of each name, for a parent named by a later row.
    let mut last_row_named: HashMap<String, u32> = HashMap::new();
    for r in &data {
        last_row_named.insert(norm(&r.text("name")), r.n);
    }
    let today = crate::service::rules_date(crate::store::campaigns::latest(conn).await?.as_ref());
    // Into a province: its city-level nodes, so a missing one named by a row is built only
    // where no city-level node sits yet.
    let cities_here: Vec<Org> = if org.level.child() == Some(OrgLevel::City) {
        org_store::orgs_at_level(conn, &Scope::Subtree(org.path.clone()), OrgLevel::City).await?
    } else {
        Vec::new()
    };

    // What each earlier row became: its plan index, name, level, region; or failed.
    struct Earlier {
        n: u32,
        level: Option<OrgLevel>,
        region: Option<String>,
        plan: Option<usize>,
        /// The organisation on record the row names (a matched row).
        existing: Option<(OrgId, TreePath)>,
    }
    /// What a row became, found again by its name and by its parent and name.
    fn remember(
        earlier: &mut Vec<Earlier>,
        named: &mut HashMap<String, Vec<usize>>,
        under: &mut HashMap<(String, String), usize>,
        (own_name, parent_key): (String, String),
        row: Earlier,
    ) {
        if !own_name.is_empty() {
            named
                .entry(own_name.clone())
                .or_default()
                .push(earlier.len());
            under.entry((parent_key, own_name)).or_insert(earlier.len());
        }
        earlier.push(row);
    }
    let mut earlier: Vec<Earlier> = Vec::new();
    // Earlier rows by name, and by parent and name.
    let mut earlier_named: HashMap<String, Vec<usize>> = HashMap::new();
    let mut earlier_under: HashMap<(String, String), usize> = HashMap::new();
    let mut firm_rows: HashMap<FirmId, u32> = HashMap::new();
    let mut plans: Vec<(u32, Plan)> = Vec::new();
    for r in &mut data {
        let name = r.name(K, "name", MAX_NAME);
        let parent_text = r.text("parent");
        // The parent: the node imported into, a node of the subtree, or an earlier row.
        enum Found<'o> {
            Node(&'o Org),
            Row(usize),
        }
        let parent: Option<Found<'_>> = if parent_text.is_empty()
            || norm(&parent_text) == norm(&org.name)
        {
            Some(Found::Node(org))
        } else {
            let nodes = by_norm(&parent_text);
            // Earlier rows that name one of these very nodes are the node, not a second one.
            let rows: Vec<usize> = earlier_named
                .get(&norm(&parent_text))
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .copied()
                .filter(|i| {
                    earlier[*i]
                        .existing
                        .as_ref()
                        .is_none_or(|(id, _)| !nodes.iter().any(|o| o.id == *id))
                })
                .collect();
            match (nodes, rows.as_slice()) {
                ([one], []) => Some(Found::Node(one)),
                ([], [one]) => Some(Found::Row(*one)),
                ([], []) => {
                    let mut return_row = None;
                    let later = last_row_named
                        .get(&norm(&parent_text))
                        .filter(|n| **n > r.n);
                    match later {
                        Some(n) => r.error(
                            K,
                            "parent",
                            "PARENT-LATER",
                            format!("上级党组织“{parent_text}”在本文件第{n}行，在本行之后：请把上级党组织放在其下级的前面"),
                        ),
                        None => {
                            // Into a province, a firm organisation may name a city-level
                            // committee not yet built: made from its name and the row's region.
                            let seat = missing_city(org, r, &parent_text);
                            let covered = seat.as_deref().map(|s| {
                                cities_here
                                    .iter()
                                    .filter(|c| c.region_code.as_deref() == Some(s))
                                    .map(|c| c.name.as_str())
                                    .collect::<Vec<_>>()
                            });
                            if let Some(names) = covered.as_ref().filter(|n| !n.is_empty()) {
                                r.error(
                                    K,
                                    "parent",
                                    "PARENT-NOT-FOUND",
                                    format!(
                                        "找不到上级党组织“{parent_text}”：本行行政区划所在地已有地市级党组织“{}”，请核对上级党组织的名称",
                                        names.join("”“")
                                    ),
                                );
                            } else if let Some(seat) = seat {
                                r.warn(
                                    K,
                                    "parent",
                                    "PARENT-CREATED",
                                    format!("上级党组织“{parent_text}”尚未建立：将在“{}”之下新建为地市级律师行业党委（行政区划 {seat}），本文件中以它为上级的各行都归入其下；如实为司法行政机关党组织或名称有误，请先在“建立地市级党组织”中建立后再导入", org.name),
                                );
                                let index = plans.len();
                                // Row 0: kept even when the row naming it is wrong.
                                plans.push((
                                    0,
                                    Plan::Org {
                                        org: NewOrgPlan {
                                            parent: Parent::Existing(org.id, org.path.clone()),
                                            level: OrgLevel::City,
                                            kind: OrgKind::IndustryCommittee,
                                            name: parent_text.clone(),
                                            region_code: Some(seat.clone()),
                                            secretary_name: None,
                                            contact_phone: None,
                                            formed_on: None,
                                            a3: BTreeMap::new(),
                                        },
                                        firms: Vec::new(),
                                    },
                                ));
                                let at = earlier.len();
                                remember(
                                    &mut earlier,
                                    &mut earlier_named,
                                    &mut earlier_under,
                                    (norm(&parent_text), format!("#{}", org.id)),
                                    Earlier {
                                        n: r.n,
                                        level: Some(OrgLevel::City),
                                        region: Some(seat),
                                        plan: Some(index),
                                        existing: None,
                                    },
                                );
                                return_row = Some(at);
                            } else {
                                let hint = if org.level.child() == Some(OrgLevel::City) {
                                    "；如上级是尚未建立的地市级党组织，写明本行的“所在行政区划”即可一并建立"
                                } else {
                                    ""
                                };
                                r.error(
                                    K,
                                    "parent",
                                    "PARENT-NOT-FOUND",
                                    format!("找不到上级党组织“{parent_text}”：应为“{}”之下已有党组织的全称，或本文件前面各行中的党组织{hint}", org.name),
                                );
                            }
                        }
                    }
                    return_row.map(Found::Row)
                }
                _ => {
                    r.error(
                        K,
                        "parent",
                        "PARENT-AMBIGUOUS",
                        format!("有不止一个党组织名为“{parent_text}”，无法确定上级：请写明其全称"),
                    );
                    None
                }
            }
        };
        // What the parent is: its level, name, region and where it will be.
        let (parent_ref, parent_level, parent_name, parent_region, parent_key) = match parent {
            Some(Found::Node(p)) => (
                Some(Parent::Existing(p.id, p.path.clone())),
                Some(p.level),
                p.name.clone(),
                p.region_code.clone(),
                format!("#{}", p.id),
            ),
            Some(Found::Row(i)) => {
                let e = &earlier[i];
                match (e.plan, &e.existing) {
                    (_, Some((id, path))) => (
                        Some(Parent::Existing(*id, path.clone())),
                        e.level,
                        parent_text.clone(),
                        e.region.clone(),
                        format!("#{id}"),
                    ),
                    (Some(plan), None) => (
                        Some(Parent::Planned(plan)),
                        e.level,
                        parent_text.clone(),
                        e.region.clone(),
                        format!("@{}", e.n),
                    ),
                    (None, None) => {
                        r.error(
                            K,
                            "parent",
                            "PARENT-INVALID",
                            format!(
                                "上级党组织“{parent_text}”（第{}行）有错误，本行随之不能导入",
                                e.n
                            ),
                        );
                        (None, None, parent_text.clone(), None, String::new())
                    }
                }
            }
            None => (None, None, parent_text.clone(), None, String::new()),
        };
        let level = match parent_level {
            Some(l) => match l.child() {
                Some(c) => Some(c),
                None => {
                    r.error(
                        K,
                        "parent",
                        "PARENT-LEVEL",
                        format!("“{parent_name}”是律所党组织，其下不能再设党组织"),
                    );
                    None
                }
            },
            None => None,
        };
        // The kind, allowed at that level.
        let kind = org_kind(r, level, &parent_name);
        // No second organisation of the same name under the same parent; the one on record
        // itself (same kind too) is matched and left as it is.
        if let (Some(name), Some(p)) = (&name, &parent_ref) {
            let taken = match p {
                Parent::Existing(id, _) => by_norm(name)
                    .iter()
                    .find(|o| o.parent_id == Some(*id))
                    .copied(),
                Parent::Planned(_) => None,
            };
            if let Some(o) = taken.filter(|o| Some(o.kind) == kind && !r.failed()) {
                r.matched = true;
                let a3_note = if r.a3.is_empty() {
                    ""
                } else {
                    "；本行的附件3各栏也不导入，请在该党组织的附件3中填写"
                };
                r.warn(
                    K,
                    "name",
                    "ORG-EXISTS",
                    format!("“{name}”已在系统中（“{parent_name}”之下），本行不再导入{a3_note}"),
                );
                remember(
                    &mut earlier,
                    &mut earlier_named,
                    &mut earlier_under,
                    (norm(name), parent_key),
                    Earlier {
                        n: r.n,
                        level: Some(o.level),
                        region: o.region_code.clone(),
                        plan: None,
                        existing: Some((o.id, o.path.clone())),
                    },
                );
                continue;
            }
            if taken.is_some() {
                r.error(
                    K,
                    "name",
                    "ORG-EXISTS",
                    format!("“{parent_name}”之下已有名为“{name}”的党组织"),
                );
            } else if let Some(e) = earlier_under
                .get(&(parent_key.clone(), norm(name)))
                .map(|i| &earlier[*i])
            {
                r.error(
                    K,
                    "name",
                    "DUP-IN-FILE",
                    format!(
                        "与第{}行重复：同一上级党组织下已有名为“{name}”的党组织",
                        e.n
                    ),
                );
            }
        }
        // The region: needed to place provincial and city-level organisations.
        let region_needed = matches!(level, Some(OrgLevel::Province | OrgLevel::City));
        let region = r.region(K, region_needed, "：省级、地市级党组织须写明所在行政区划");
        if let Some(region) = &region {
            r.region_within(
                K,
                region,
                parent_region.as_deref().map(|c| (parent_name.as_str(), c)),
            );
        }
        // The firms a firm-level organisation covers.
        let firms = covered_firms(
            r,
            (level, kind),
            known,
            org,
            (parent_ref.as_ref(), &parent_name),
            &mut firm_rows,
        );
        // Optional particulars.
        let (secretary, phone, formed_on) = particulars(r, today);
        let a3 = a3_values(r, kind, today);
        let ok = !r.failed();
        let mut plan_index = None;
        if ok
            && let (Some(name), Some(kind), Some(level), Some(parent)) =
                (name.clone(), kind, level, parent_ref)
        {
            plan_index = Some(plans.len());
            plans.push((
                r.n,
                Plan::Org {
                    org: NewOrgPlan {
                        parent,
                        level,
                        kind,
                        name,
                        region_code: region.clone(),
                        secretary_name: (!secretary.is_empty()).then_some(secretary),
                        contact_phone: (!phone.is_empty()).then_some(phone),
                        formed_on,
                        a3,
                    },
                    firms,
                },
            ));
        }
        remember(
            &mut earlier,
            &mut earlier_named,
            &mut earlier_under,
            (name.as_deref().map(norm).unwrap_or_default(), parent_key),
            Earlier {
                n: r.n,
                level,
                region: region.or(parent_region),
                plan: plan_index,
                existing: None,
            },
        );
    }
    Ok((data, plans))
}

/// A row's 组织类别 as a kind allowed one level below its parent (`None`, with the finding,
/// when missing, unknown or not allowed there).
fn org_kind(r: &mut Row<'_>, level: Option<OrgLevel>, parent_name: &str) -> Option<OrgKind> {
    const K: ImportKind = ImportKind::Orgs;
    let kind_text = r.text("kind");
    if kind_text.is_empty() {
        r.error(K, "kind", "REQUIRED", "“组织类别”不能为空".into());
        None
    } else {
        match kind_of(&kind_text) {
            None => {
                r.error(
                    K,
                    "kind",
                    "CODE",
                    format!(
                        "“{kind_text}”不是可选的组织类别：{}",
                        OrgKind::ALL.map(OrgKind::label).join("、")
                    ),
                );
                None
            }
            Some(k) => match level {
                Some(l) if !k.allowed_at(l) => {
                    r.error(
                        K,
                        "kind",
                        "ORG-KIND-LEVEL",
                        format!(
                            "“{parent_name}”之下是{}，不能设{}（可选：{}）",
                            l.label(),
                            k.label(),
                            allowed_labels(l)
                        ),
                    );
                    None
                }
                _ => Some(k),
            },
        }
    }
}

/// The firms a firm-level organisation's row names by credit code, each checked: valid, on
/// record in the subtree, under the same city as the parent, not yet covered by an organisation
/// nor holding members, not taken by an earlier row (`firm_rows`); and the number of firms the
/// kind allows. Other levels name none.
fn covered_firms(
    r: &mut Row<'_>,
    (level, kind): (Option<OrgLevel>, Option<OrgKind>),
    known: &HashMap<String, KnownFirm>,
    org: &Org,
    (parent_ref, parent_name): (Option<&Parent>, &str),
    firm_rows: &mut HashMap<FirmId, u32>,
) -> Vec<FirmId> {
    const K: ImportKind = ImportKind::Orgs;
    let codes = split_codes(&r.text("firms"));
    let mut firms: Vec<FirmId> = Vec::new();
    match level {
        Some(OrgLevel::Firm) => {
            if codes.is_empty() {
                r.error(
                    K,
                    "firms",
                    "REQUIRED",
                    "律所党组织须写明所在律师事务所的统一社会信用代码".into(),
                );
            }
            for c in &codes {
                if let Err(e) = CreditCode::parse_law_firm(c) {
                    r.error(K, "firms", "CREDIT-CODE", format!("“{c}”：{e}"));
                    continue;
                }
                let Some(f) = known.get(c).filter(|f| org.path.contains(&f.scope_path)) else {
                    if known.contains_key(c) {
                        r.error(
                            K,
                            "firms",
                            "FIRM-OUTSIDE",
                            format!("统一社会信用代码为“{c}”的律师事务所不在您的管辖范围内"),
                        );
                    } else {
                        r.error(
                            K,
                            "firms",
                            "FIRM-NOT-FOUND",
                            format!("系统中没有统一社会信用代码为“{c}”的律师事务所：请先导入律师事务所名册"),
                        );
                    }
                    continue;
                };
                if let Some(Parent::Existing(city, _)) = &parent_ref
                    && f.city_org_id != *city
                {
                    r.error(
                        K,
                        "firms",
                        "FIRM-OTHER-CITY",
                        format!(
                            "“{}”登记在“{}”之下，不属于“{parent_name}”",
                            f.name, f.city_name
                        ),
                    );
                } else if let Some(Parent::Planned(_)) = &parent_ref {
                    r.error(
                        K,
                        "firms",
                        "FIRM-OTHER-CITY",
                        format!(
                            "“{}”登记在“{}”之下，不属于本文件新建的“{parent_name}”",
                            f.name, f.city_name
                        ),
                    );
                }
                if let Some(o) = &f.org_name {
                    r.error(
                        K,
                        "firms",
                        "FIRM-HAS-ORG",
                        format!(
                            "“{}”已纳入党组织“{o}”：一个律所只属于一个律所党组织",
                            f.name
                        ),
                    );
                } else if f.member_count > 0 {
                    r.error(
                        K,
                        "firms",
                        "FIRM-HAS-MEMBERS",
                        format!(
                            "“{}”已有{}名党员登记在“{}”之下：导入不转移已登记的党员，请在系统中调整后再建立该律所党组织",
                            f.name, f.member_count, f.city_name
                        ),
                    );
                }
                if let Some(first) = firm_rows.get(&f.id) {
                    r.error(
                        K,
                        "firms",
                        "FIRM-TWICE",
                        format!("“{}”已在第{first}行纳入另一个党组织", f.name),
                    );
                } else {
                    firm_rows.insert(f.id, r.n);
                }
                firms.push(f.id);
            }
            match kind {
                Some(OrgKind::JointBranch) if codes.len() < 2 => r.error(
                    K,
                    "firms",
                    "JOINT-FIRMS",
                    "联合党支部应由两个及以上律师事务所联合组建：请写明各律所的统一社会信用代码"
                        .into(),
                ),
                Some(OrgKind::JointBranch) if codes.len() > JOINT_MAX => r.warn(
                    K,
                    "firms",
                    "JOINT-MANY",
                    format!(
                        "联合党支部覆盖{}个律所，超过一般不宜超过的{JOINT_MAX}个",
                        codes.len()
                    ),
                ),
                Some(k) if k != OrgKind::JointBranch && codes.len() > 1 => r.error(
                    K,
                    "firms",
                    "ORG-FIRMS",
                    format!(
                        "{}只能建在一个律师事务所：覆盖多个律所的请选“联合党支部”",
                        k.label()
                    ),
                ),
                _ => {}
            }
        }
        Some(_) if !codes.is_empty() => r.error(
            K,
            "firms",
            "ORG-FIRMS-LEVEL",
            "只有律所党组织填写所在律师事务所：本行是地市级及以上的党组织".into(),
        ),
        _ => {}
    }
    firms
}

/// The row's optional particulars: the secretary's name, the phone, the date formed (not after
/// the campaign's date).
fn particulars(r: &mut Row<'_>, today: time::Date) -> (String, String, Option<String>) {
    const K: ImportKind = ImportKind::Orgs;
    let secretary = r.text("secretary");
    if secretary.chars().count() > 20 {
        r.error(K, "secretary", "TOO-LONG", "书记姓名不能超过20字".into());
    }
    let phone = r.text("phone");
    if phone.chars().count() > 20
        || !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')' | '（' | '）'))
    {
        r.error(
            K,
            "phone",
            "PHONE",
            format!("联系电话“{phone}”应为手机号或带区号的固定电话（只含数字和“-”，不超过20位）"),
        );
    }
    let formed_on = match r.cells.get("formed_on").copied() {
        None => None,
        Some(v) if v.is_empty() => None,
        Some(v) => match date_cell(v) {
            Ok(d) if crate::forms::rules::parse_date(&d).is_some_and(|d| d > today) => {
                r.error(
                    K,
                    "formed_on",
                    "DATE-FUTURE",
                    format!("成立日期 {d} 晚于判断日 {today}（本次登记核查按此日期判断）"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(t) => {
                r.error(
                    K,
                    "formed_on",
                    "DATE",
                    format!("成立日期“{t}”不是日期：请写成 2018-07-31"),
                );
                None
            }
        },
    };
    (secretary, phone, formed_on)
}

/// The seat (region code) of a city-level committee a firm organisation's row names as its
/// parent when it is not on record: imported into a province, the row a firm organisation's,
/// its region valid; the prefecture of that region (a municipality's district itself).
pub(super) fn missing_city(into: &Org, r: &Row<'_>, name: &str) -> Option<String> {
    if into.level.child() != Some(OrgLevel::City) || name.chars().count() > MAX_NAME {
        return None;
    }
    if !kind_of(&r.text("kind")).is_some_and(|k| k.allowed_at(OrgLevel::Firm)) {
        return None;
    }
    let region: String = r
        .text("region")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let codes = divisions::codes();
    if region.len() != 6 || !codes.contains(&region) {
        return None;
    }
    let seat = if matches!(&region[..2], "11" | "12" | "31" | "50") {
        region
    } else {
        format!("{}00", &region[..4])
    };
    codes.contains(&seat).then_some(seat)
}

/// A row's 附件3 cells as the draft's values: converted as the member import converts cells
/// (dates, 是/否, short forms of codes), then judged by the form's rules on the fields the row
/// gives and by the party's organisation rules, at the campaign's date. Before the members are
/// on record the rules count the numbers the row reports (正式党员数), so a branch of 7 and no
/// committee is flagged in the dry run.
pub(super) fn a3_values(
    r: &mut Row<'_>,
    kind: Option<OrgKind>,
    today: time::Date,
) -> BTreeMap<String, String> {
    const K: ImportKind = ImportKind::Orgs;
    let catalogue = Catalogue::get();
    let mut values = BTreeMap::new();
    let cells = std::mem::take(&mut r.a3);
    for (f, v) in &cells {
        match convert(catalogue, f, v) {
            Ok(Some(t)) => {
                values.insert(f.code.clone(), t);
            }
            Ok(None) => {}
            Err((rule, message)) => {
                let column = r.column(f.code.as_str(), K);
                r.error(K, f.code.as_str(), rule, format!("{column}：{message}"));
            }
        }
    }
    let (Some(kind), Some(form)) = (kind, catalogue.form("A3")) else {
        return values;
    };
    if values.is_empty() {
        return values;
    }
    let mut judged = values.clone();
    judged.insert("org_kind".into(), kind.code().to_owned());
    let findings = validate(catalogue, form, &judged, today)
        .into_iter()
        .filter(|f| values.contains_key(&f.field))
        .chain(org_rules(
            kind,
            &values,
            &MemberCounts::default(),
            &[],
            today,
        ));
    for f in findings {
        let code = cells
            .iter()
            .map(|(field, _)| field.code.as_str())
            .find(|c| *c == f.field)
            .unwrap_or("name");
        r.note(K, code, f.rule, f.severity == Severity::Error, f.message);
    }
    values
}
