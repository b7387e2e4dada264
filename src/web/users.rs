//! Account management pages for administrators.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};

use super::path::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::account::PasswordPage;
use super::view::{Ctx, Pager, paging};
use super::{AppError, AppState, CurrentUser};
use crate::domain::{MemberId, OrgId, Role, UserId};
use crate::service::directory::Page;
use crate::service::users::NewAccount;
use crate::service::users::{User, UserFilter};
use crate::service::{Caller, ServiceError};

fn roles() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.code(), r.label())).collect()
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
pub struct UsersPage {
    ctx: Option<Ctx>,
    q: String,
    role: String,
    roles: Vec<(&'static str, &'static str)>,
    csrf: String,
    ctx_org: i64,
    notice: Option<String>,
    page: Page<User>,
    pager: Pager,
    /// The second-factor requirement, for a national administrator.
    factor_setting: Option<bool>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<UsersPage, AppError> {
    let (page_no, per_page) = paging(q.page.as_deref().and_then(|p| p.parse().ok()));
    let text: String =
        q.q.as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(50)
            .collect();
    let role = q.role.as_deref().and_then(Role::from_code);
    let page = state
        .services
        .users()
        .list(
            Caller::User(&user.actor),
            &UserFilter {
                q: Some(text.clone()),
                role,
                page: page_no,
                per_page,
            },
        )
        .await?;
    let role_code = role.map(|r| r.code().to_owned()).unwrap_or_default();
    let notice = match q.done.as_deref() {
        Some("created") => Some("账号已创建。".to_owned()),
        Some("admin_pending") => Some(
            "管理员账号已创建，暂为停用状态：须由另一位管理员在“双人复核”中同意后才能使用。"
                .to_owned(),
        ),
        Some("disabled") => Some("账号已停用，其登录已全部失效。".to_owned()),
        Some("enabled") => Some("账号已启用。".to_owned()),
        Some("password") => {
            Some("密码已重置，该账号需用新密码重新登录，并在登录后修改密码。".to_owned())
        }
        Some("sessions_ended") => Some("该账号的全部登录已结束。".to_owned()),
        Some("totp_reset") => Some(
            "该账号的动态验证码已清除，其登录已全部失效；下次登录只需密码，之后可重新设置。"
                .to_owned(),
        ),
        Some("totp_required") => Some(
            "已要求审核人和管理员使用动态验证码：未设置的账号下次打开页面时须先设置。".to_owned(),
        ),
        Some("totp_optional") => Some("动态验证码已改为自愿使用。".to_owned()),
        _ => None,
    };
    let factor_setting = state.services.factors().setting_for(&user.actor).await?;
    Ok(UsersPage {
        factor_setting,
        ctx: Some(Ctx::new(&user, "users")),
        pager: Pager::new(
            "/users",
            &[("q", text.clone()), ("role", role_code.clone())],
            &page,
        ),
        q: text,
        role: role_code,
        roles: roles(),
        csrf: user.csrf.clone(),
        ctx_org: user.actor.org_id.0,
        notice,
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "user_new.html")]
pub struct NewUserPage {
    ctx: Option<Ctx>,
    csrf: String,
    org_id: i64,
    org_name: String,
    username: String,
    display_name: String,
    role: String,
    member: String,
    roles: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    org: Option<String>,
}

pub async fn new_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<NewQuery>,
) -> Result<NewUserPage, AppError> {
    let org_id = q
        .org
        .as_deref()
        .and_then(|o| o.parse().ok())
        .map_or(user.actor.org_id, OrgId);
    let org = state
        .services
        .users()
        .org_for_accounts(Caller::User(&user.actor), org_id)
        .await?;
    Ok(NewUserPage {
        ctx: Some(Ctx::new(&user, "users")),
        csrf: user.csrf.clone(),
        org_id: org.id.0,
        org_name: org.name,
        username: String::new(),
        display_name: String::new(),
        role: Role::Clerk.code().to_owned(),
        member: String::new(),
        roles: roles(),
        errors: Vec::new(),
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    org: String,
    username: String,
    display_name: String,
    role: String,
    member: Option<String>,
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<CreateForm>,
) -> Result<Response, AppError> {
    let org_id = f
        .org
        .trim()
        .parse()
        .map(OrgId)
        .map_err(|_| AppError::BadRequest("所属组织编号无效".into()))?;
    let role = Role::from_code(&f.role).ok_or_else(|| AppError::BadRequest("角色无效".into()))?;
    let member_text = f.member.clone().unwrap_or_default();
    let member = match member_text.trim() {
        "" => None,
        m => Some(MemberId(m.parse().map_err(|_| {
            AppError::Service(ServiceError::invalid("关联党员编号", "应为数字"))
        })?)),
    };
    let result = state
        .services
        .users()
        .create(
            Caller::User(&user.actor),
            NewAccount {
                username: f.username.clone(),
                display_name: f.display_name.clone(),
                password: f.password.clone(),
                role,
                org_id,
                member_id: member,
                must_change_password: true,
            },
        )
        .await;
    match result {
        Ok(_) if role == Role::Admin => {
            Ok(Redirect::to("/users?done=admin_pending").into_response())
        }
        Ok(_) => Ok(Redirect::to("/users?done=created").into_response()),
        Err(ServiceError::Invalid(list)) => {
            let org = state
                .services
                .users()
                .org_for_accounts(Caller::User(&user.actor), org_id)
                .await?;
            let page = NewUserPage {
                ctx: Some(Ctx::new(&user, "users")),
                csrf: user.csrf.clone(),
                org_id: org.id.0,
                org_name: org.name,
                username: f.username,
                display_name: f.display_name,
                role: role.code().to_owned(),
                member: member_text,
                roles: roles(),
                errors: list.iter().map(ToString::to_string).collect(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn end_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<Redirect, AppError> {
    state
        .services
        .users()
        .end_sessions(Caller::User(&user.actor), id)
        .await?;
    Ok(Redirect::to("/users?done=sessions_ended"))
}

pub async fn reset_factor(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<Redirect, AppError> {
    state
        .services
        .factors()
        .reset(Caller::User(&user.actor), id)
        .await?;
    Ok(Redirect::to("/users?done=totp_reset"))
}

#[derive(Deserialize)]
pub struct RequireForm {
    on: String,
}

pub async fn require_factor(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::Form(f): axum::Form<RequireForm>,
) -> Result<Redirect, AppError> {
    let on = f.on == "1";
    state
        .services
        .factors()
        .set_required(Caller::User(&user.actor), on)
        .await?;
    Ok(Redirect::to(if on {
        "/users?done=totp_required"
    } else {
        "/users?done=totp_optional"
    }))
}

pub async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<Response, AppError> {
    set_disabled(&state, &user, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<Response, AppError> {
    set_disabled(&state, &user, id, false).await
}

/// 停用 / 启用; for an administrator's account, the 双人复核 request form instead.
async fn set_disabled(
    state: &AppState,
    user: &CurrentUser,
    id: UserId,
    disabled: bool,
) -> Result<Response, AppError> {
    use crate::service::four_eyes::Risky;
    let r = state
        .services
        .users()
        .set_disabled(Caller::User(&user.actor), id, disabled)
        .await;
    let (risky, done) = if disabled {
        (Risky::DisableAdmin { user: id.0 }, "/users?done=disabled")
    } else {
        (Risky::EnableAdmin { user: id.0 }, "/users?done=enabled")
    };
    match super::approvals::or_ask(user, risky, r) {
        Ok(r) => r?,
        Err(ask) => return Ok(*ask),
    }
    Ok(Redirect::to(done).into_response())
}

fn reset_page(user: &CurrentUser, target: &User) -> PasswordPage {
    PasswordPage {
        ctx: Some(Ctx::new(user, "users")),
        heading: format!("重置密码：{}（{}）", target.display_name, target.username),
        action: format!("/users/{}/password", target.id),
        ask_old: false,
        csrf: user.csrf.clone(),
        notice: None,
        errors: Vec::new(),
    }
}

pub async fn password_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
) -> Result<PasswordPage, AppError> {
    let target = state
        .services
        .users()
        .get(Caller::User(&user.actor), id)
        .await?;
    Ok(reset_page(&user, &target))
}

#[derive(Deserialize)]
pub struct ResetForm {
    new: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<UserId>,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    let caller = Caller::User(&user.actor);
    match state
        .services
        .users()
        .reset_password(caller, id, &f.new)
        .await
    {
        Ok(()) => Ok(Redirect::to("/users?done=password").into_response()),
        Err(ServiceError::Invalid(list)) => {
            let target = state.services.users().get(caller, id).await?;
            let mut page = reset_page(&user, &target);
            page.errors = list.iter().map(ToString::to_string).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
