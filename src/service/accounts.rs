//! Working accounts in bulk: a sheet of organisation, name, role and mobile (as a city's clerk
//! writes it) becomes one 经办人 / 审核人 / 只读审计 account per row, each with a one-time
//! activation code handed out once (a printable list or an .xlsx); all rows or none.

use std::collections::HashMap;

use super::{Caller, ServiceError, ServiceResult, beijing_time};
use crate::authz::{Action, Scope};
use crate::domain::{Mobile, Role};
use crate::store::audit::{self, NewEvent};
use crate::store::{orgs, users};

super::area!(AccountsService);

/// Most rows in one accounts sheet.
pub const MAX_ROWS: usize = 5_000;

/// One account made, with its code (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub row: u32,
    pub org_name: String,
    pub name: String,
    pub role: Role,
    pub username: String,
    pub code: String,
    pub expires: String,
}

/// What is wrong with the sheet: each line names the row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<String>);

/// Compare names the way people write them: full-width brackets and spaces ignored.
fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

/// Which column a header names.
fn column_of(header: &str) -> Option<&'static str> {
    let h: String = normal(header)
        .chars()
        .filter(|c| !matches!(c, '*' | '＊'))
        .collect();
    match h.as_str() {
        "党组织" | "党组织名称" | "党组织全称" | "所在党组织" | "组织" | "单位" => {
            Some("org")
        }
        "姓名" | "名字" | "账号姓名" => Some("name"),
        "角色" | "账号角色" | "岗位" | "职责" => Some("role"),
        "手机" | "手机号" | "手机号码" | "移动电话" | "联系电话" => Some("mobile"),
        _ => None,
    }
}

/// A role as people write it; the administrator and member roles are not made in bulk.
fn role_of(cell: &str) -> Result<Role, &'static str> {
    match normal(cell).as_str() {
        "经办人" | "经办" | "联络员" | "clerk" => Ok(Role::Clerk),
        "审核人" | "审核" | "书记" | "组织委员" | "reviewer" => Ok(Role::Reviewer),
        "只读审计" | "审计" | "审计员" | "auditor" => Ok(Role::Auditor),
        "管理员" | "admin" => Err("管理员账号须逐个建立并经双人复核，不能批量导入"),
        "党员本人" | "党员" | "member" => {
            Err("党员本人账号由党员名单导入后发放激活码，不在此导入")
        }
        "" => Err("请填写角色（经办人、审核人或只读审计）"),
        _ => Err("角色应为“经办人”“审核人”或“只读审计”"),
    }
}

fn text(v: &crate::sheet::Value) -> String {
    use crate::sheet::Value;
    match v {
        Value::Text(t) => t.trim().to_owned(),
        Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Value::Number(n) => n.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Empty | Value::Error(_) => String::new(),
    }
}

/// One row checked: (row number, organisation, name, role, mobile).
type Planned = (u32, orgs::Org, String, Role, String);

impl AccountsService<'_> {
    /// Make the accounts of a sheet under the caller's subtree, or none: `Err(Problems)` lists
    /// every row and column that is wrong.
    pub async fn import(
        &self,
        caller: Caller<'_>,
        bytes: &[u8],
    ) -> ServiceResult<Result<Vec<Issued>, Problems>> {
        caller.require(Action::ManageUsers, None)?;
        let sheet = match crate::sheet::read(bytes) {
            Ok(s) => s,
            Err(e) => return Ok(Err(Problems(vec![format!("文件无法读取：{e}")]))),
        };
        // The header: the first of the first ten rows naming the four columns.
        let mut head: Option<(usize, HashMap<&'static str, usize>)> = None;
        for (i, (_, cells)) in sheet.rows.iter().enumerate().take(10) {
            let mut cols = HashMap::new();
            for (c, v) in cells.iter().enumerate() {
                if let Some(k) = column_of(&text(v)) {
                    cols.entry(k).or_insert(c);
                }
            }
            if cols.contains_key("org") && cols.contains_key("name") {
                head = Some((i, cols));
                break;
            }
        }
        let Some((head_at, cols)) = head else {
            return Ok(Err(Problems(vec![
                "未找到表头：表格应有“党组织”“姓名”“角色”“手机号”四列".into(),
            ])));
        };
        let mut problems = Vec::new();
        for k in ["role", "mobile"] {
            if !cols.contains_key(k) {
                problems.push(format!(
                    "缺少“{}”列",
                    if k == "role" { "角色" } else { "手机号" }
                ));
            }
        }
        if !problems.is_empty() {
            return Ok(Err(Problems(problems)));
        }
        let rows: Vec<&(u32, Vec<crate::sheet::Value>)> = sheet
            .rows
            .iter()
            .skip(head_at + 1)
            .filter(|(_, cells)| cells.iter().any(|v| !v.is_empty()))
            .collect();
        if rows.is_empty() {
            return Ok(Err(Problems(vec!["表格中没有账号".into()])));
        }
        if rows.len() > MAX_ROWS {
            return Ok(Err(Problems(vec![format!(
                "一次最多导入 {MAX_ROWS} 个账号，本表有 {} 行",
                rows.len()
            )])));
        }
        let scope = match caller {
            Caller::User(a) => Scope::of(a),
            Caller::Operator => Scope::Subtree(self.directory().root_path().await?),
        };
        let hash = super::membership::placeholder_hash().await?;
        let mut tx = self.db.begin().await?;
        // The organisations of the subtree by name as people write it.
        let mut by_name: HashMap<String, Vec<orgs::Org>> = HashMap::new();
        for o in orgs::select_in(&mut tx, &scope, |_| {}).await? {
            by_name.entry(normal(&o.name)).or_default().push(o);
        }
        let cell = |cells: &[crate::sheet::Value], k: &str| -> String {
            cols.get(k)
                .and_then(|c| cells.get(*c))
                .map(text)
                .unwrap_or_default()
        };
        let mut planned: Vec<Planned> = Vec::new();
        let mut seen: HashMap<(String, i64, Role), u32> = HashMap::new();
        for (n, cells) in &rows {
            let at = |col: &str, why: &str| format!("第{n}行“{col}”列：{why}");
            let org_name = cell(cells, "org");
            let org = match by_name.get(&normal(&org_name)).map(Vec::as_slice) {
                _ if org_name.is_empty() => {
                    problems.push(at("党组织", "请填写党组织名称"));
                    None
                }
                None | Some([]) => {
                    problems.push(at(
                        "党组织",
                        &format!("本级及下级中没有名为“{org_name}”的党组织"),
                    ));
                    None
                }
                Some([one]) => Some(one.clone()),
                Some(_) => {
                    problems.push(at("党组织", "有多个同名党组织，请写全称"));
                    None
                }
            };
            let name = cell(cells, "name");
            if name.is_empty() || name.chars().count() > 30 {
                problems.push(at("姓名", "不能为空，且不超过30个字"));
            }
            let role = match role_of(&cell(cells, "role")) {
                Ok(r) => Some(r),
                Err(why) => {
                    problems.push(at("角色", why));
                    None
                }
            };
            let mobile = match Mobile::parse(&cell(cells, "mobile")) {
                Ok(m) => Some(m.as_str().to_owned()),
                Err(e) => {
                    problems.push(at("手机号", &e.to_string()));
                    None
                }
            };
            if let (Some(org), Some(role), Some(mobile)) = (org, role, mobile) {
                if let Some(first) = seen.insert((mobile.clone(), org.id.0, role), *n) {
                    problems.push(at(
                        "手机号",
                        &format!("与第{first}行是同一人在同一党组织的同一角色"),
                    ));
                    continue;
                }
                planned.push((*n, org, name, role, mobile));
            }
        }
        if !problems.is_empty() {
            return Ok(Err(Problems(problems)));
        }
        let mut issued = Vec::with_capacity(planned.len());
        for (row, org, name, role, mobile) in planned {
            caller.require(Action::ManageUsers, Some(&org.path))?;
            let mut username = format!("m{mobile}");
            let mut k = 1;
            while users::get_by_username(&mut tx, &username).await?.is_some() {
                k += 1;
                username = format!("m{mobile}-{k}");
            }
            let id = users::insert(
                &mut tx,
                &users::NewUser {
                    username: username.clone(),
                    display_name: name.clone(),
                    password_hash: hash.clone(),
                    role,
                    org_id: org.id,
                    member_id: None,
                },
            )
            .await?;
            let (code, expires_at) = super::membership::new_code(&mut tx, caller, id).await?;
            audit::append(
                &mut tx,
                caller.by(),
                NewEvent {
                    action: "user.create",
                    target_kind: "user",
                    target_id: id.to_string(),
                    target_path: &org.path,
                    detail: serde_json::json!({
                        "username": username, "display_name": name, "role": role.code(),
                        "org_id": org.id.0, "imported": true,
                    }),
                },
            )
            .await?;
            issued.push(Issued {
                row,
                org_name: org.name.clone(),
                name,
                role,
                username,
                code,
                expires: beijing_time(expires_at),
            });
        }
        tx.commit().await?;
        Ok(Ok(issued))
    }
}

/// The accounts and their codes as an .xlsx for the clerk to hand out (the codes appear
/// nowhere else).
pub fn issued_xlsx(issued: &[Issued]) -> ServiceResult<Vec<u8>> {
    use crate::workbook::{Cell, a4_landscape, write_table};
    let make = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        a4_landscape(ws, "账号与激活码", 1)?;
        ws.write_string(
            0,
            0,
            "账号与激活码（激活码只显示这一次，请妥善交给本人；本人在登录页“激活账号”处设置密码）",
        )?;
        for (c, w) in [
            (0, 28.0),
            (1, 10.0),
            (2, 10.0),
            (3, 18.0),
            (4, 12.0),
            (5, 18.0),
        ] {
            ws.set_column_width(c, w)?;
        }
        let rows: Vec<Vec<Cell>> = issued
            .iter()
            .map(|i| {
                vec![
                    i.org_name.clone().into(),
                    i.name.clone().into(),
                    i.role.label().into(),
                    i.username.clone().into(),
                    i.code.clone().into(),
                    i.expires.clone().into(),
                ]
            })
            .collect();
        write_table(
            ws,
            1,
            &["党组织", "姓名", "角色", "用户名", "激活码", "有效期至"],
            &rows,
        )?;
        wb.save_to_buffer()
    };
    make().map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))
}
