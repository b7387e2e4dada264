//! What every page shows around its content, and small view models shared by the pages.

use super::CurrentUser;
use crate::authz::{Action, Decision, authorize};
use crate::domain::Role;
use crate::forms::Catalogue;
use crate::service::directory::Member;
use crate::service::directory::Page;

/// The frame of a signed-in page: who, where, the form token and which menu entries to show.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub display_name: String,
    pub role_label: &'static str,
    pub org_name: String,
    pub org_id: i64,
    pub csrf: String,
    pub is_member: bool,
    pub can_manage_users: bool,
    pub can_read_audit: bool,
    /// National administrators run the campaigns.
    pub can_run_campaigns: bool,
    pub unread: i64,
    pub nav: &'static str,
    /// Printed diagonally on every printed page: who printed it, where, when.
    pub watermark: String,
}

impl Ctx {
    pub fn new(user: &CurrentUser, nav: &'static str) -> Self {
        let a = &user.actor;
        Self {
            display_name: a.display_name.clone(),
            role_label: a.role.label(),
            org_name: a.org_name.clone(),
            org_id: a.org_id.0,
            csrf: user.csrf.clone(),
            is_member: a.role == Role::Member,
            can_manage_users: authorize(a, Action::ManageUsers, None) == Decision::Allow,
            can_read_audit: authorize(a, Action::ReadAudit, None) == Decision::Allow,
            can_run_campaigns: a.role == Role::Admin && a.org_path.depth() == 0,
            unread: user.unread,
            nav,
            watermark: format!(
                "{}（{}）· {} · {} · 内部资料 注意保密",
                a.display_name, a.username, a.org_name, user.at
            ),
        }
    }
}

/// Links to the previous and next pages, keeping the other query parameters.
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `params` are the current filters (empty values are left out of the links).
    pub fn new<T>(base: &str, params: &[(&str, String)], page: &Page<T>) -> Self {
        let link = |p: i64| {
            let mut pairs: Vec<(&str, String)> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            pairs.push(("page", p.to_string()));
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            format!("{base}?{query}")
        };
        Self {
            page: page.page,
            prev: (page.page > 1).then(|| link(page.page - 1)),
            next: page.has_next.then(|| link(page.page + 1)),
        }
    }
}

/// A member as lists and the record page show it: codes as labels, personal numbers masked
/// where the page is a list.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub ethnicity: String,
    pub birth_date: String,
    pub citizen_id_masked: String,
    pub category: String,
    pub party_status: String,
    pub practice_type: String,
    pub licence_no: String,
    pub education: String,
    pub joined_on: String,
    pub full_member_on: String,
    pub mobile: String,
    pub firm_id: i64,
    pub firm_name: String,
    pub org_id: i64,
    pub org_name: String,
}

/// The label of `code` in the catalogue's list `list`, or a marker for an unknown code.
pub fn code_label(list: &str, code: &str) -> String {
    Catalogue::get()
        .list(list)
        .and_then(|l| l.label(code))
        .unwrap_or("（未知代码）")
        .to_owned()
}

impl MemberView {
    /// `full_mobile`: the record page of someone allowed to see it shows the whole number;
    /// lists show it masked.
    pub fn new(m: &Member, full_mobile: bool) -> Self {
        Self {
            id: m.id.0,
            name: m.name.clone(),
            sex: code_label("sex", &m.sex),
            ethnicity: code_label("ethnicity", &m.ethnicity),
            birth_date: m.birth_date.clone(),
            citizen_id_masked: m.citizen_id_masked.clone(),
            category: code_label("category", &m.category),
            party_status: code_label("party_status", &m.party_status),
            practice_type: m
                .practice_type
                .as_deref()
                .map_or("—".to_owned(), |p| code_label("practice_type", p)),
            licence_no: m.licence_no.clone().unwrap_or_else(|| "—".into()),
            education: code_label("education", &m.education),
            joined_on: m.joined_on.clone(),
            full_member_on: m.full_member_on.clone().unwrap_or_else(|| "—".into()),
            mobile: if full_mobile {
                m.mobile.clone()
            } else {
                m.mobile_masked()
            },
            firm_id: m.firm_id.0,
            firm_name: m.firm_name.clone(),
            org_id: m.org_id.0,
            org_name: m.org_name.clone(),
        }
    }
}

/// Page number and size from a query, clamped to sane values.
pub fn paging(page: Option<i64>) -> (i64, i64) {
    (page.unwrap_or(1).clamp(1, 100_000), 20)
}

/// Time left to a deadline as the pages say it: 还有 N 天, 今天截止, 已过期 N 天.
pub fn days_left_label(days: Option<i64>) -> String {
    match days {
        Some(d) if d > 0 => format!("还有 {d} 天"),
        Some(0) => "今天截止".to_owned(),
        Some(d) => format!("已过期 {} 天", -d),
        None => String::new(),
    }
}
