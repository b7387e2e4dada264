//! `dengji audit`: verify the tamper-evident chain, write checkpoints, trace an export by id.

use std::io::Write;
use std::path::PathBuf;

use super::{CliResult, load_config, open};
use crate::config::Overrides;
use crate::service::beijing_time;
use crate::store::audit::{self, Break};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// 逐条校验审计日志的哈希链，报告第一条被修改、删除、插入或调换的记录
    Verify {
        /// 检查点文件（由 checkpoint --append 写入）：逐一核对其中的链头
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// 打印当前链头（条数和哈希），供管理员另行保存；--append 追加到检查点文件
    Checkpoint {
        #[arg(long)]
        append: Option<PathBuf>,
    },
    /// 按导出编号（文件页眉页脚和文档属性中的“导出编号”）查询谁在何时导出了什么
    Export {
        /// 导出编号，如 EX-7K2Q9M4T
        id: String,
    },
}

pub async fn run(o: Overrides, cmd: Command) -> CliResult {
    let config = load_config(&o)?;
    let services = open(&config).await?;
    let result = match cmd {
        Command::Verify { checkpoints } => verify(&services, checkpoints).await,
        Command::Checkpoint { append } => checkpoint(&services, append).await,
        Command::Export { id } => export(&services, &id).await,
    };
    services.db.close().await;
    result
}

/// One saved checkpoint: `seq<TAB>hash<TAB>time`.
fn parse_checkpoints(text: &str) -> Result<Vec<(i64, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split('\t');
        let seq = parts.next().and_then(|s| s.trim().parse::<i64>().ok());
        let hash = parts.next().map(str::trim).filter(|h| h.len() == 64);
        match (seq, hash) {
            (Some(seq), Some(hash)) => out.push((seq, hash.to_ascii_lowercase())),
            _ => return Err(format!("检查点文件第 {} 行格式不正确", i + 1)),
        }
    }
    Ok(out)
}

fn describe(b: &Break) -> String {
    match b {
        Break::Edited { id, seq } => {
            format!("第 {seq} 条记录（编号 {id}）的内容与其哈希不符：该记录被修改")
        }
        Break::Deleted {
            id,
            missing_from,
            missing_to,
        } => format!("记录编号 {id} 之前缺少第 {missing_from}–{missing_to} 条：有记录被删除"),
        Break::Inserted { id, seq } => {
            format!("第 {seq} 条记录（编号 {id}）没有接续前一条的哈希：有记录被插入或替换")
        }
        Break::Reordered { id, seq } => {
            format!("记录编号 {id} 处顺序错乱（应为第 {seq} 条前后）：有记录被调换")
        }
        Break::Unsealed { id } => format!("记录编号 {id} 没有哈希：不在链上，可能是直接插入的"),
        Break::TailMissing { last_seq, head_seq } => {
            format!("链在第 {last_seq} 条结束，但链头记录为第 {head_seq} 条：最后的记录被删除")
        }
        Break::HeadMismatch { last_seq } => {
            format!("链在第 {last_seq} 条的哈希与链头记录不符：链头或最后的记录被改动")
        }
    }
}

async fn verify(services: &crate::service::Services, checkpoints: Option<PathBuf>) -> CliResult {
    let saved = match &checkpoints {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| super::refused!("无法读取检查点文件 {}：{e}", path.display()))?;
            parse_checkpoints(&text)?
        }
        None => Vec::new(),
    };
    let want: Vec<i64> = saved.iter().map(|(s, _)| *s).collect();
    let mut conn = services.db.acquire().await?;
    let started = std::time::Instant::now();
    let v = audit::verify(&mut conn, &want, |n| eprintln!("已校验 {n} 条…")).await?;
    let secs = started.elapsed().as_secs_f64();
    drop(conn);
    if let Some(b) = &v.first_break {
        println!("已校验 {} 条，发现问题：", v.events);
        println!("  {}", describe(b));
        return Err(super::refused!("审计日志校验未通过"));
    }
    let mut bad = Vec::new();
    for (seq, hash) in &saved {
        match v.at_seq.iter().find(|(s, _)| s == seq) {
            Some((_, h)) if h == hash => {}
            Some(_) => bad.push(format!("检查点第 {seq} 条的哈希与现有记录不符：链被重写")),
            None => bad.push(format!(
                "检查点记到第 {seq} 条，现有记录只有 {} 条：记录被删除",
                v.last_seq
            )),
        }
    }
    if !bad.is_empty() {
        println!("哈希链本身完整（{} 条），但与保存的检查点不符：", v.events);
        for b in &bad {
            println!("  {b}");
        }
        return Err(super::refused!("审计日志校验未通过"));
    }
    println!(
        "审计日志完整：共 {} 条，链头第 {} 条，哈希 {}（用时 {secs:.1} 秒）",
        v.events, v.last_seq, v.last_hash
    );
    if !saved.is_empty() {
        println!("与 {} 个检查点一致。", saved.len());
    }
    Ok(())
}

async fn checkpoint(services: &crate::service::Services, append: Option<PathBuf>) -> CliResult {
    let mut conn = services.db.acquire().await?;
    let h = audit::head(&mut conn).await?;
    drop(conn);
    let line = format!("{}\t{}\t{}", h.seq, h.hash, beijing_time(h.updated_at));
    println!("{line}");
    if let Some(path) = append {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| super::refused!("无法写入检查点文件 {}：{e}", path.display()))?;
        writeln!(f, "{line}")?;
        eprintln!("已追加到 {}", path.display());
    }
    Ok(())
}

async fn export(services: &crate::service::Services, id: &str) -> CliResult {
    let mut conn = services.db.acquire().await?;
    let found = audit::find_export(&mut conn, id.trim()).await?;
    drop(conn);
    let Some(e) = found else {
        return Err(super::refused!("没有编号为 {} 的导出记录", id.trim()));
    };
    println!("导出编号：{}", id.trim().to_ascii_uppercase());
    println!("时间：{}", beijing_time(e.at));
    println!(
        "导出人：{}（{}）{}",
        e.actor_name.as_deref().unwrap_or(&e.actor_username),
        e.actor_username,
        e.actor_org
            .as_deref()
            .map(|o| format!("，{o}"))
            .unwrap_or_default()
    );
    println!(
        "内容：{}；{}",
        crate::domain::audit::action_label(&e.action),
        crate::domain::audit::detail_text(&e.detail)
    );
    println!("审计记录编号：{}", e.id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_lines_parse_and_bad_ones_are_named() {
        let h = "a".repeat(64);
        let text = format!(
            "# saved\n3\t{h}\t2026-12-01 10:00\n\n7\t{}\n",
            h.to_uppercase()
        );
        assert_eq!(
            parse_checkpoints(&text).unwrap(),
            vec![(3, h.clone()), (7, h.clone())]
        );
        assert_eq!(
            parse_checkpoints("3 abc").unwrap_err(),
            "检查点文件第 1 行格式不正确"
        );
    }
}
