//! `dengji migrate-data`: copy every record from one database into an empty one (SQLite to
//! PostgreSQL, say) in one transaction, then prove the copy with the content digest.

use super::CliResult;
use crate::store::{Db, copy};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// 源数据库地址（sqlite://… 或 postgres://…），须已是本版本的结构
    #[arg(long)]
    from: String,
    /// 目标数据库地址：空库（没有账号、党员、律所和审计事件），先自动建表
    #[arg(long)]
    to: String,
}

/// Copy `from` into `to` and compare digests; returns the digest.
pub async fn copy_between(from: &Db, to: &Db) -> Result<String, super::CliError> {
    let mut target = to.acquire_writer().await?;
    let occupied = copy::occupied(&mut target).await?;
    if !occupied.is_empty() {
        let what: Vec<String> = occupied.iter().map(|(l, n)| format!("{l} {n}")).collect();
        return Err(super::refused!(
            "目标数据库 {} 不是空库（已有{}），未写入任何数据",
            to.url_for_display(),
            what.join("、")
        ));
    }
    let mut source = from.acquire().await?;
    let bar = indicatif::ProgressBar::new_spinner();
    let mut tx = to.begin_on(&mut target).await?;
    let rows = copy::copy_all(
        &mut source,
        from.backend(),
        &mut tx,
        to.backend(),
        |table, n| bar.set_message(format!("{table}：{n} 行")),
    )
    .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    bar.finish_and_clear();
    drop(target);
    println!("已复制 {rows} 行。正在核对内容摘要……");
    let (a, _) = copy::digest(&mut source, from.backend()).await?;
    let mut target = to.acquire().await?;
    let (b, _) = copy::digest(&mut target, to.backend()).await?;
    if a != b {
        return Err(super::refused!(
            "复制后内容摘要不一致（源 {a}，目标 {b}）：复制期间源库可能有写入，请停止服务后重试"
        ));
    }
    Ok(b)
}

pub async fn run(args: Args) -> CliResult {
    let from = Db::connect(&args.from).await?;
    let to = Db::connect(&args.to).await?;
    to.migrate().await?;
    let digest = copy_between(&from, &to).await?;
    from.close().await;
    to.close().await;
    println!("迁移完成，源库与目标库内容摘要一致：{digest}");
    println!("请在新数据库上使用原来的密钥文件（身份证号码以原密钥加密）。");
    Ok(())
}
