//! `dengji import FILE --into NODE [--dry-run] [--valid-only]`: check and import a member
//! spreadsheet, firm registry or organisation roster (.xlsx or .csv) through the same service
//! as the web page; `dengji import --undo BATCH` undoes a batch.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::domain::OrgId;
use crate::service::Caller;
use crate::service::import::{ImportKind, ImportRequest, Mode, Report};

/// Findings printed; the rest are counted.
const PRINTED: usize = 100;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 要导入的文件（.xlsx 或 .csv）
    file: Option<PathBuf>,
    /// 导入到哪个组织节点（编号）
    #[arg(long)]
    into: Option<i64>,
    /// 只预检，不导入
    #[arg(long)]
    dry_run: bool,
    /// 只导入无误的行（默认：有任何错误则全部不导入）
    #[arg(long)]
    valid_only: bool,
    /// 表格类型：a1（律师党员）、a2（工作人员党员）、members（律师和工作人员混合名单）、firms（律师事务所名册）或 orgs（党组织名册）；默认按表头识别
    #[arg(long)]
    kind: Option<String>,
    /// 把全部问题写入 CSV 文件（与网页上下载的问题清单相同）
    #[arg(long)]
    issues: Option<PathBuf>,
    /// 撤销一个导入批次（编号）
    #[arg(long, conflicts_with_all = ["file", "into", "dry_run", "valid_only", "kind", "issues"])]
    undo: Option<i64>,
}

fn print_report(r: &Report, issues_file: Option<&std::path::Path>) -> CliResult {
    if let Some(k) = r.kind {
        println!("表格类型：{}", k.label());
    }
    if let Some(d) = &r.judged_at {
        println!("时间规则按 {d} 判断。");
    }
    if !r.file_error {
        println!(
            "数据 {} 行：无误 {} 行，有错误 {} 行；提示 {} 条。",
            r.rows, r.valid, r.invalid, r.warnings
        );
        if r.built_parents > 0 {
            println!(
                "另将新建 {} 个上级党组织（各行所写、尚未建立的地市级党组织）。",
                r.built_parents
            );
        }
    }
    for i in r.issues.iter().take(PRINTED) {
        let place = i
            .row
            .map_or_else(|| "文件".to_owned(), |n| format!("第{n}行"));
        let level = if i.error { "错误" } else { "提示" };
        println!("  {place} {level} [{}] {}", i.rule, i.message);
    }
    let total = r.issues.len() + r.omitted;
    if total > PRINTED {
        println!(
            "  …… 另有 {} 条未列出{}",
            total - PRINTED,
            if issues_file.is_some() {
                "（见问题清单）"
            } else {
                "（加 --issues 文件.csv 可得全部问题）"
            }
        );
    }
    if !r.rules.is_empty() {
        println!("按规则统计：");
        for (rule, errors, warnings) in &r.rules {
            println!("  {rule:<24} 错误 {errors:>7}  提示 {warnings:>7}");
        }
    }
    if let Some(path) = issues_file {
        let mut f = crate::private_file::create(path)
            .map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
        std::io::Write::write_all(&mut f, &crate::service::import::issues_csv(r))
            .map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
        println!(
            "问题清单已写入 {}（{} 条）。",
            path.display(),
            r.issues.len()
        );
    }
    Ok(())
}

pub async fn run(o: Overrides, args: Args) -> CliResult {
    let config = load_config(&o)?;
    if let Some(batch) = args.undo {
        let services = open(&config).await?;
        let undone = services
            .import()
            .undo(Caller::Operator, batch)
            .await
            .map_err(super::describe)?;
        println!("已撤销批次 {batch}：{}。", undone.message());
        return Ok(());
    }
    let (Some(file), Some(into)) = (args.file, args.into) else {
        return Err("请给出要导入的文件和 --into 组织节点编号，或用 --undo 批次编号 撤销".into());
    };
    let kind = match args.kind.as_deref() {
        None => None,
        Some(k) => Some(
            ImportKind::from_code(k).ok_or(super::CliError::Usage(
                "--kind 应为 a1（律师党员）、a2（工作人员党员）、members（混合名单）、firms（律师事务所名册）或 orgs（党组织名册）".into(),
            ))?,
        ),
    };
    let meta = std::fs::metadata(&file).map_err(|e| format!("无法读取 {}：{e}", file.display()))?;
    if meta.len() > crate::sheet::MAX_FILE_BYTES as u64 {
        return Err(crate::sheet::SheetError::TooLarge {
            size_mb: usize::try_from(meta.len().div_ceil(1024 * 1024)).unwrap_or(usize::MAX),
            limit_mb: crate::sheet::MAX_FILE_BYTES / (1024 * 1024),
        }
        .to_string()
        .into());
    }
    let bytes = std::fs::read(&file).map_err(|e| format!("无法读取 {}：{e}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let services = open(&config).await?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} 行 ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let progress = |stage: crate::service::import::Stage, n: u64| {
        bar.set_message(stage.label());
        bar.set_position(n);
    };
    let started = std::time::Instant::now();
    let mode = if args.valid_only {
        Mode::ValidOnly
    } else {
        Mode::AllOrNothing
    };
    if args.dry_run {
        let report = services
            .import()
            .check(Caller::Operator, OrgId(into), &bytes, kind, &progress)
            .await;
        bar.finish_and_clear();
        let report = report.map_err(super::describe)?;
        print_report(&report, args.issues.as_deref())?;
        println!(
            "预检完成（未导入），用时 {:.1} 秒。",
            started.elapsed().as_secs_f64()
        );
        return if report.importable(mode) {
            Ok(())
        } else {
            Err("按所选方式不能导入：请先改正上面列出的错误".into())
        };
    }
    let done = services
        .import()
        .run(
            Caller::Operator,
            ImportRequest {
                into: OrgId(into),
                file_name: &name,
                bytes: &bytes,
                kind,
                mode,
            },
            &progress,
        )
        .await;
    bar.finish_and_clear();
    let done = done.map_err(super::describe)?;
    print_report(&done.report, args.issues.as_deref())?;
    match done.batch_id {
        Some(batch) => {
            println!(
                "已导入 {} 行（批次 {batch}），未导入 {} 行，用时 {:.1} 秒。撤销：dengji import --undo {batch}",
                done.imported,
                done.skipped,
                started.elapsed().as_secs_f64()
            );
            // Before the process ends: fold the write-ahead log into the database file.
            services.db.checkpoint().await?;
            Ok(())
        }
        None => Err("文件有错误，未导入任何数据（可加 --valid-only 只导入无误的行）".into()),
    }
}
