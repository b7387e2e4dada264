//! Audit-chain benchmarks: the cost of the hash chain per write with many concurrent writers
//! (against the same write without the chain), and filling the log for `dengji audit verify`.

use std::time::{Duration, Instant};

use super::CliResult;
use crate::domain::TreePath;
use crate::service::Services;
use crate::store::audit::{self, By, NewEvent};

fn summary(label: &str, mut v: Vec<Duration>, wall: Duration) -> f64 {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let per_write = wall.as_secs_f64() * 1000.0 / v.len() as f64;
    println!(
        "{label:<28} {:>8} 次写入  总耗时 {:>8.2} s  每次（总耗时÷次数）{per_write:>7.3} ms  \
         单次事务中位 {:>7.2} ms  P95 {:>7.2} ms",
        v.len(),
        wall.as_secs_f64(),
        at(0.5).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0,
    );
    per_write
}

/// `writers` tasks each commit `each` transactions of one audited write, first with the
/// chain (`audit::append`), then the same row into a table without it.
pub async fn writers(services: &Services, writers: usize, each: usize) -> CliResult {
    let path = TreePath::root(crate::domain::OrgId(1));
    println!("并发写入：{writers} 个写入者，每个 {each} 次（每次一个事务）");
    let mut per_write = Vec::new();
    for chained in [true, false] {
        if !chained {
            audit::bench_baseline(services.db.pool(), true).await?;
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let db = services.db.clone();
            let path = path.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::with_capacity(each);
                for i in 0..each {
                    let t = Instant::now();
                    let mut tx = db.begin().await?;
                    let detail = serde_json::json!({"writer": w, "n": i});
                    if chained {
                        audit::append(
                            &mut tx,
                            By::System("bench"),
                            NewEvent {
                                action: "bench.write",
                                target_kind: "bench",
                                target_id: w.to_string(),
                                target_path: &path,
                                detail,
                            },
                        )
                        .await?;
                    } else {
                        audit::bench_unchained_write(
                            &mut tx,
                            i64::try_from(w * each + i).unwrap_or(0),
                            &w.to_string(),
                            &path,
                            &detail.to_string(),
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    times.push(t.elapsed());
                }
                Ok::<_, crate::store::StoreError>(times)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| e.to_string())??);
        }
        let wall = started.elapsed();
        per_write.push(summary(
            if chained {
                "带哈希链（audit::append）"
            } else {
                "不带哈希链（同样一行）"
            },
            all,
            wall,
        ));
    }
    audit::bench_baseline(services.db.pool(), false).await?;
    println!(
        "哈希链的代价：每次写入 {:.3} ms",
        per_write[0] - per_write[1]
    );
    Ok(())
}

/// Append `n` chained events at once (for timing `dengji audit verify`).
pub async fn fill(services: &Services, n: u64) -> CliResult {
    let started = Instant::now();
    audit::fill_for_bench(services.db.pool(), n, |done| {
        eprintln!(
            "已写入 {done} 条（{:.0} s）",
            started.elapsed().as_secs_f64()
        );
    })
    .await?;
    let mut conn = services.db.acquire().await?;
    let head = audit::head(&mut conn).await?;
    println!(
        "已追加 {n} 条审计事件，用时 {:.1} s；链头序号 {}",
        started.elapsed().as_secs_f64(),
        head.seq
    );
    Ok(())
}
