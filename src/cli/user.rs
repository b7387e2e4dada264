//! `dengji user …`: account management from the server's command line.

use clap::Subcommand;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::crypto::random_token;
use crate::domain::{MemberId, OrgId, Role};
use crate::service::users::NewAccount;
use crate::service::{Caller, Services};
use crate::store::users::UserFilter;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 添加账号（不给 --password-stdin 时生成随机初始密码并打印）
    Add {
        #[arg(long)]
        username: String,
        /// 姓名
        #[arg(long)]
        name: String,
        /// 角色：member 党员本人、clerk 经办人、reviewer 审核人、admin 管理员、auditor 只读审计
        #[arg(long)]
        role: String,
        /// 所属组织编号（全国节点为 1）
        #[arg(long)]
        org: i64,
        /// 关联党员编号（仅 member 角色）
        #[arg(long)]
        member: Option<i64>,
        /// 从标准输入读取初始密码（一行；至少10位，含字母和数字）。密码不放在命令行上，
        /// 以免被其他用户用 ps 看到；也可用环境变量 DENGJI_NEW_PASSWORD
        #[arg(long)]
        password_stdin: bool,
    },
    /// 列出账号
    List {
        /// 按用户名或姓名筛选
        #[arg(long)]
        query: Option<String>,
    },
    /// 重置密码（不给 --password-stdin 时生成随机密码并打印）
    ResetPassword {
        #[arg(long)]
        username: String,
        /// 从标准输入读取新密码（一行）；也可用环境变量 DENGJI_NEW_PASSWORD
        #[arg(long)]
        password_stdin: bool,
    },
    /// 停用账号（其所有登录立即失效）
    Disable {
        #[arg(long)]
        username: String,
    },
    /// 启用账号
    Enable {
        #[arg(long)]
        username: String,
    },
    /// 清除账号的动态验证码（手机丢失时；其所有登录立即失效）
    ResetTotp {
        #[arg(long)]
        username: String,
    },
    /// 要求（on）或不再要求（off）审核人和管理员使用动态验证码
    RequireTotp {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

fn generated_password() -> String {
    // 16 URL-safe characters plus a digit, so the password rules are always met.
    format!("{}7", &random_token()[..16])
}

/// The password to set: one line of standard input, the environment, or a generated one
/// (printed). Never a command-line argument, which every user of the machine sees.
pub(super) fn new_password(from_stdin: bool) -> Result<(String, bool), super::CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("无法从标准输入读取密码：{e}"))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err("标准输入中没有密码（应为一行）".into());
        }
        return Ok((password, false));
    }
    match std::env::var("DENGJI_NEW_PASSWORD") {
        Ok(p) if !p.is_empty() => Ok((p, false)),
        _ => Ok((generated_password(), true)),
    }
}

async fn user_id(
    services: &Services,
    username: &str,
) -> Result<crate::domain::UserId, super::CliError> {
    let mut conn = services.db.acquire().await?;
    crate::store::users::get_by_username(&mut conn, username)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| super::refused!("没有用户名为 {username} 的账号"))
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let result = match cmd {
        Command::Add {
            username,
            name,
            role,
            org,
            member,
            password_stdin,
        } => {
            let role = Role::from_code(&role).ok_or_else(|| {
                format!("角色 {role} 无效，可选：member、clerk、reviewer、admin、auditor")
            })?;
            let (password, generated) = new_password(password_stdin)?;
            let id = services
                .users()
                .create(
                    Caller::Operator,
                    NewAccount {
                        username: username.clone(),
                        display_name: name,
                        password: password.clone(),
                        role,
                        org_id: OrgId(org),
                        member_id: member.map(MemberId),
                        must_change_password: true,
                    },
                )
                .await?;
            println!("已添加账号 {username}（编号 {id}，{}）", role.label());
            if generated {
                println!("初始密码：{password}  （请登录后立即修改）");
            }
            Ok(())
        }
        Command::List { query } => {
            let page = services
                .users()
                .list(
                    Caller::Operator,
                    &UserFilter {
                        q: query,
                        role: None,
                        page: 1,
                        per_page: 10_000,
                    },
                )
                .await?;
            for u in page.items {
                println!(
                    "{:<6} {:<16} {:<10} {:<6} {}{}",
                    u.id,
                    u.username,
                    u.display_name,
                    u.role.label(),
                    u.org_name,
                    if u.disabled { "（已停用）" } else { "" }
                );
            }
            Ok(())
        }
        Command::ResetPassword {
            username,
            password_stdin,
        } => {
            let id = user_id(&services, &username).await?;
            let (password, generated) = new_password(password_stdin)?;
            services
                .users()
                .reset_password(Caller::Operator, id, &password)
                .await?;
            println!("已重置 {username} 的密码，其原有登录已失效。");
            if generated {
                println!("新密码：{password}");
            }
            Ok(())
        }
        Command::Disable { username } => {
            let id = user_id(&services, &username).await?;
            services
                .users()
                .set_disabled(Caller::Operator, id, true)
                .await?;
            println!("已停用 {username}。");
            Ok(())
        }
        Command::Enable { username } => {
            let id = user_id(&services, &username).await?;
            services
                .users()
                .set_disabled(Caller::Operator, id, false)
                .await?;
            println!("已启用 {username}。");
            Ok(())
        }
        Command::ResetTotp { username } => {
            let id = user_id(&services, &username).await?;
            services.factors().reset(Caller::Operator, id).await?;
            println!("已清除 {username} 的动态验证码。");
            Ok(())
        }
        Command::RequireTotp { state } => {
            let on = state == "on";
            services
                .factors()
                .set_required(Caller::Operator, on)
                .await?;
            println!(
                "{}",
                if on {
                    "已要求审核人和管理员使用动态验证码。"
                } else {
                    "动态验证码改为自愿使用。"
                }
            );
            Ok(())
        }
    };
    services.db.close().await;
    result
}
