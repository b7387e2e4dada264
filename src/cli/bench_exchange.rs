//! `dengji bench --licensing-rows N`: write a licensing roster of N lawyers as CSV (every
//! registered lawyer of the benchmark database, a few with differences, the rest synthetic
//! lawyers, one in twenty of them declared party members) and a firms' roster, load it through
//! the service streamed from the files, then time the national and the demo city's
//! reconciliation counts and the city's pages. Leaves the snapshot loaded (and, with
//! `--licensing-dir`, the files).

use std::io::Write;
use std::time::Instant;

use sqlx::Row;

use super::CliResult;
use crate::domain::citizen_id::check_char;
use crate::service::exchange::{Input, Loaded, Source};
use crate::service::{Caller, Services};

fn vm(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default()
}

/// A synthetic ID number the demo never makes (born 1931–1945 in 110102).
fn synthetic_id(i: usize) -> String {
    let day = time::Date::from_calendar_date(1931, time::Month::January, 1)
        .map(|d| d + time::Duration::days((i / 900) as i64))
        .unwrap_or(time::Date::MIN);
    let body = format!(
        "110102{:04}{:02}{:02}{:03}",
        day.year(),
        u8::from(day.month()),
        day.day(),
        100 + i % 900
    );
    format!("{body}{}", check_char(body.as_bytes()))
}

pub async fn run(
    services: &Services,
    app: &axum::Router,
    cookie: &str,
    rows: usize,
    iterations: usize,
    keep_in: Option<&std::path::Path>,
) -> CliResult {
    let dir = match keep_in {
        Some(d) => d.to_owned(),
        None => tempfile_dir()?,
    };
    let lawyers_path = dir.join("licensing-lawyers.csv");
    let firms_path = dir.join("licensing-firms.csv");
    let started = Instant::now();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&lawyers_path).map_err(|e| format!("无法写入名册：{e}"))?,
    );
    let w = |out: &mut std::io::BufWriter<std::fs::File>, line: &str| {
        out.write_all(line.as_bytes())
            .map_err(|e| super::CliError::Unavailable(format!("无法写入名册：{e}")))
    };
    w(
        &mut out,
        "执业证号,公民身份号码,姓名,执业机构统一社会信用代码,执业机构名称,执业类别,执业状态,执业状态变更日期,转入本所日期,政治面貌\n",
    )?;
    let mut firms: Vec<(String, String)> = Vec::new();
    {
        let mut conn = services.db.acquire().await?;
        for r in sqlx::query("SELECT credit_code, name, region_code FROM firms ORDER BY id")
            .fetch_all(&mut *conn)
            .await?
        {
            firms.push((r.try_get("credit_code")?, r.try_get("name")?));
        }
    }
    let mut written = 0usize;
    let mut last = 0i64;
    loop {
        let mut conn = services.db.acquire().await?;
        let batch = sqlx::query(
            "SELECT m.id, m.name, m.citizen_id_enc, m.licence_no, m.practice_type, \
             f.credit_code, f.name AS firm_name FROM members m JOIN firms f ON f.id = m.firm_id \
             WHERE m.id > $1 AND m.category = 'lawyer' AND m.stopped_on IS NULL \
             ORDER BY m.id LIMIT 20000",
        )
        .bind(last)
        .fetch_all(&mut *conn)
        .await?;
        drop(conn);
        if batch.is_empty() || written >= rows {
            break;
        }
        for r in &batch {
            last = r.try_get("id")?;
            if written >= rows {
                break;
            }
            let id = services
                .keys
                .decrypt_id(&r.try_get::<Vec<u8>, _>("citizen_id_enc")?)
                .map_err(|e| e.to_string())?;
            let Some(licence) = r.try_get::<Option<String>, _>("licence_no")? else {
                continue;
            };
            let mut name: String = r.try_get("name")?;
            let mut status = "正常执业";
            let mut status_on = "";
            // One in two hundred differs: renamed, revoked or (left out entirely).
            match written % 200 {
                7 => name.push('某'),
                11 => {
                    status = "已吊销";
                    status_on = "2017-03-01";
                }
                13 => {
                    written += 1;
                    continue;
                }
                _ => {}
            }
            let practice = match r.try_get::<Option<String>, _>("practice_type")?.as_deref() {
                Some("2") => "兼职律师",
                _ => "专职律师",
            };
            w(
                &mut out,
                &format!(
                    "{licence},{id},{name},{},{},{practice},{status},{status_on},,中共党员\n",
                    r.try_get::<String, _>("credit_code")?,
                    r.try_get::<String, _>("firm_name")?
                ),
            )?;
            written += 1;
        }
    }
    let registered = written;
    let mut i = 0usize;
    while written < rows && !firms.is_empty() {
        let (code, firm) = &firms[i % firms.len()];
        let political = if i.is_multiple_of(20) {
            "中共党员"
        } else {
            "群众"
        };
        w(
            &mut out,
            &format!(
                "9{:016},{},执业{i},{code},{firm},专职律师,正常执业,,,{political}\n",
                i,
                synthetic_id(i)
            ),
        )?;
        i += 1;
        written += 1;
    }
    out.flush().map_err(|e| format!("无法写入名册：{e}"))?;
    drop(out);
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&firms_path).map_err(|e| format!("无法写入名册：{e}"))?,
    );
    f.write_all("统一社会信用代码,律师事务所名称,状态\n".as_bytes())
        .map_err(|e| format!("{e}"))?;
    for (k, (code, name)) in firms.iter().enumerate() {
        if k % 500 != 3 {
            f.write_all(format!("{code},{name},正常\n").as_bytes())
                .map_err(|e| format!("{e}"))?;
        }
    }
    f.flush().map_err(|e| format!("{e}"))?;
    drop(f);
    let size = std::fs::metadata(&lawyers_path)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "名册已生成：律师 {written} 行（其中本库已登记的律师 {registered} 行），{:.0} MB，{:.1} 秒",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!("载入前 VmRSS {} / VmHWM {}", vm("VmRSS"), vm("VmHWM"));

    let open = |p: &std::path::Path| -> Result<Input, super::CliError> {
        Ok(Input {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source: Source::Reader(Box::new(
                std::fs::File::open(p).map_err(|e| format!("无法打开 {}：{e}", p.display()))?,
            )),
        })
    };
    let t = Instant::now();
    let loaded = services
        .exchange()
        .load(
            Caller::Operator,
            vec![open(&lawyers_path)?, open(&firms_path)?],
            None,
            "2018-07-31",
        )
        .await?;
    let secs = t.elapsed().as_secs_f64();
    match loaded {
        Loaded::Done(s) => println!(
            "载入名册（流式读取、逐行校验、加密、写入）：律师 {} 人，律所 {} 家，{secs:.1} 秒；载入后 VmRSS {} / VmHWM {}",
            s.lawyers,
            s.firms,
            vm("VmRSS"),
            vm("VmHWM")
        ),
        Loaded::Refused { problems, total } => {
            return Err(format!("基准名册被拒绝（{total} 处）：{:?}", problems.first()).into());
        }
    }
    if keep_in.is_none() {
        let _ = std::fs::remove_file(&lawyers_path);
        let _ = std::fs::remove_file(&firms_path);
    }

    let root = crate::domain::OrgId(1);
    let city = {
        let mut conn = services.db.acquire().await?;
        crate::store::users::get_by_username(&mut conn, "shi")
            .await?
            .map(|u| u.org_id)
            .ok_or("基准测试需要演示数据（dengji demo）")?
    };
    for (label, node, n) in [
        ("全国核对计数（各类别，按省）", root, iterations.clamp(1, 5)),
        ("演示地市核对计数（各类别，按下级）", city, iterations),
    ] {
        let mut times = Vec::new();
        let mut summary = String::new();
        for _ in 0..n + 1 {
            let t = Instant::now();
            let r = services
                .exchange()
                .reconcile(Caller::Operator, node)
                .await?;
            times.push(t.elapsed());
            summary = r
                .totals
                .iter()
                .map(|(c, n, _)| format!("{} {n}", c.label()))
                .collect::<Vec<_>>()
                .join("，");
            summary.push_str(&format!("，一致 {}", r.matched));
        }
        times.remove(0);
        let s = super::bench::stats(times);
        println!(
            "{label}: median {} ms, p95 {} ms, max {} ms（{summary}）",
            super::bench::ms(s.median),
            super::bench::ms(s.p95),
            super::bench::ms(s.max)
        );
    }
    super::bench::time_page(
        app,
        "演示地市执业信息核对页（计数和下级）",
        cookie,
        &format!("/orgs/{}/reconcile", city.0),
        iterations,
    )
    .await?;
    super::bench::time_page(
        app,
        "演示地市“已登记但无执业信息”清单首页",
        cookie,
        &format!("/orgs/{}/reconcile?category=unlicensed", city.0),
        iterations,
    )
    .await?;
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf, super::CliError> {
    let dir = std::env::temp_dir().join(format!("dengji-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("无法建立临时目录：{e}"))?;
    Ok(dir)
}
