//! `dengji export WHAT --node NODE -o FILE`: write a node's 附件4, 附件5, 附件6, 附件1/2/3 roster,
//! firm registry or organisation roster as an .xlsx
//! (official layout) or a .csv (UTF-8 with BOM), through the same service as the web page.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::export::ExportFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 导出哪张表：a4（律师党员汇总表）、a5（工作人员党员汇总表）、a6（党组织信息汇总表），
    /// a1、a2（附件1/附件2 名册：登记表全部栏目，每人一行，可再导入），a3（附件3 名册：党组织登记表全部栏目，每个党组织一行），
    /// firms（律师事务所名册）、orgs（党组织名册）：与导入模板栏目相同
    what: String,
    /// 组织节点编号（导出该节点及其全部下级）
    #[arg(long)]
    node: i64,
    /// 输出文件（.xlsx 或 .csv）
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// 写出完整公民身份号码（默认脱敏）；须同时给出 --purpose
    #[arg(long)]
    full_ids: bool,
    /// 导出完整号码的用途：审核、核查、分类处理、对接、其他（“其他”须加 --note）
    #[arg(long, default_value = "")]
    purpose: String,
    /// 用途为“其他”时的说明
    #[arg(long, default_value = "")]
    note: String,
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let format = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
        .and_then(ExportFormat::from_code)
        .ok_or("输出文件名应以 .xlsx 或 .csv 结尾")?;
    let what = args.what.to_ascii_lowercase();
    if !matches!(
        what.as_str(),
        "a1" | "a2" | "a3" | "a4" | "a5" | "a6" | "firms" | "orgs"
    ) {
        return Err(super::CliError::Usage(format!(
            "不认识的表“{}”：应为 a4、a5、a6，名册 a1、a2、a3，或 firms（律师事务所名册）、orgs（党组织名册）",
            args.what
        )));
    }
    let ids = crate::service::Ids::parse(
        if args.full_ids { "full" } else { "" },
        &args.purpose,
        &args.note,
    )
    .map_err(super::describe)?;
    let config = load_config(&o)?;
    let services = open(&config).await?;
    // Written next to the target and renamed at the end: no half-written file under its name.
    let partial = args
        .output
        .with_extension(format!("{}.part", format.extension()));
    let mut file = crate::private_file::create(&partial)
        .map_err(|e| format!("无法创建 {}：{e}", partial.display()))?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("导出 {pos} 行 ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let started = std::time::Instant::now();
    let result = services
        .export()
        .table(
            Caller::Operator,
            OrgId(args.node),
            &what,
            format,
            &ids,
            &mut file,
            &|n| bar.set_position(n),
        )
        .await;
    bar.finish_and_clear();
    drop(file);
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(match e {
                crate::service::ServiceError::NotFound => "没有这个组织节点或这张表".into(),
                other => super::describe(other),
            });
        }
    };
    std::fs::rename(&partial, &args.output)
        .map_err(|e| format!("无法写入 {}：{e}", args.output.display()))?;
    println!(
        "已导出 {} 行到 {}，用时 {:.1} 秒。",
        summary.rows,
        args.output.display(),
        started.elapsed().as_secs_f64()
    );
    services.db.close().await;
    Ok(())
}
