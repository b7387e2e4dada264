//! `dengji setup`: the first start of a real deployment — the database migrated, the top of
//! the tree, the first national administrator and (optionally) the first campaign; and
//! `dengji setup cities --province ID`, the cities assistant (the same as `dengji cities`).

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::Role;
use crate::service::Caller;
use crate::service::campaign::{CampaignForm, Deadlines};
use crate::service::users::NewAccount;
use crate::store::users::UserFilter;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    then: Option<Then>,
    /// 全国管理员的用户名
    #[arg(long)]
    admin_username: Option<String>,
    /// 全国管理员的姓名
    #[arg(long)]
    admin_name: Option<String>,
    /// 从标准输入读取其初始密码（一行）；不给时生成随机密码并打印
    #[arg(long)]
    password_stdin: bool,
    /// 第一项登记核查工作的名称（给出时须同时给出下列日期）
    #[arg(long)]
    campaign_name: Option<String>,
    /// 登记截止基准日（年-月-日）
    #[arg(long)]
    cutoff: Option<String>,
    /// 时间规则判断日（年-月-日），默认即登记截止基准日
    #[arg(long, default_value = "")]
    reference: String,
    /// 各级报送截止日期（年-月-日）
    #[arg(long)]
    firm: Option<String>,
    #[arg(long)]
    city: Option<String>,
    #[arg(long)]
    province: Option<String>,
    #[arg(long)]
    national: Option<String>,
}

const ADMIN_NEEDED: &str =
    "初始化须给出 --admin-username 和 --admin-name（全国管理员的用户名和姓名）";

/// The next steps of setting up, after the first start.
#[derive(Debug, clap::Subcommand)]
enum Then {
    /// 建立地市级党组织：列出某省按行政区划应有的地市级党组织，或建立尚未建立的
    Cities(super::cities::Args),
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    if let Some(Then::Cities(cities)) = args.then {
        return super::cities::run(o, cities).await;
    }
    // Said before anything is opened or migrated.
    if args.admin_username.is_none() || args.admin_name.is_none() {
        return Err(super::CliError::Usage(ADMIN_NEEDED.into()));
    }
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let result = setup(&services, args).await;
    services.db.close().await;
    result
}

async fn setup(services: &crate::service::Services, args: Args) -> CliResult {
    let (Some(username), Some(display_name)) = (args.admin_username, args.admin_name) else {
        return Err(super::CliError::Usage(ADMIN_NEEDED.into()));
    };
    let admins = services
        .users()
        .list(
            Caller::Operator,
            &UserFilter {
                q: None,
                role: Some(Role::Admin),
                page: 1,
                per_page: 1000,
            },
        )
        .await?;
    let (root, _) = crate::service::setup::root_of_tree(&services.db).await?;
    if let Some(a) = admins.items.iter().find(|u| u.org_id == root) {
        return Err(super::refused!(
            "已有全国管理员账号 {}：系统已初始化过。新增账号请用 dengji user add",
            a.username
        ));
    }
    let campaign = match (
        args.campaign_name,
        args.cutoff,
        args.firm,
        args.city,
        args.province,
        args.national,
    ) {
        (None, None, None, None, None, None) => None,
        (Some(name), Some(cutoff), Some(firm), Some(city), Some(province), Some(national)) => {
            Some(CampaignForm {
                name,
                cutoff,
                reference: args.reference,
                deadlines: Deadlines {
                    firm,
                    city,
                    province,
                    national,
                },
            })
        }
        _ => {
            return Err(super::CliError::Usage(
                "开展登记核查工作须同时给出 --campaign-name、--cutoff、--firm、--city、--province、--national"
                    .into(),
            ));
        }
    };
    let (password, generated) = super::user::new_password(args.password_stdin)?;
    services
        .users()
        .create(
            Caller::Operator,
            NewAccount {
                username: username.clone(),
                display_name,
                password: password.clone(),
                role: Role::Admin,
                org_id: root,
                member_id: None,
                // A password printed here is someone else's to change; one typed in is theirs.
                must_change_password: generated,
            },
        )
        .await?;
    println!("已建立全国管理员账号 {username}。");
    if generated {
        println!("初始密码：{password}  （请登录后立即修改）");
    }
    if let Some(c) = campaign {
        services.campaign().start(Caller::Operator, &c).await?;
        println!("已开展登记核查工作“{}”。", c.name.trim());
    } else {
        println!(
            "尚未开展登记核查工作：请登录后在“登记核查工作”页面开展，或用 dengji campaign new。"
        );
    }
    println!(
        "下一步：dengji serve 启动服务，用该账号登录，按省份导入律师事务所名册、党组织名册和党员名单。"
    );
    Ok(())
}
