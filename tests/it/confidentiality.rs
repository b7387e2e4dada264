//! Issue 17: the tamper-evident audit log, read audit, purposeful reveal, watermarks.

use dengji::domain::{OrgId, TreePath};
use dengji::store::Backend;
use dengji::store::audit::{self, By, NewEvent};

use crate::helpers::{TestApp, backend, count};

/// Write `n` more audit events, each in its own transaction, as the services do.
async fn events(app: &TestApp, n: usize) {
    let path = TreePath::root(OrgId(1));
    for i in 0..n {
        let mut tx = app.services.db.begin().await.unwrap();
        audit::append(
            &mut tx,
            By::System("test"),
            NewEvent {
                action: "test.event",
                target_kind: "test",
                target_id: i.to_string(),
                target_path: &path,
                detail: serde_json::json!({"n": i}),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

/// What an administrator with database access can do: lift the append-only triggers.
async fn as_intruder(app: &TestApp, sql: &[&str]) {
    let pool = app.services.db.pool();
    let lift: &[&str] = match backend() {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ],
        Backend::Postgres => &["ALTER TABLE audit_events DISABLE TRIGGER USER"],
    };
    for s in lift.iter().chain(sql) {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

async fn ids(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM audit_events ORDER BY id")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap()
}

/// `dengji audit verify`: passes on an untouched log, and names the break when refused.
async fn verify(app: &TestApp) -> (bool, String) {
    let (ok, out, err) = app.cli(&["audit", "verify"]).await;
    (ok, format!("{out}{err}"))
}

#[tokio::test]
async fn an_untouched_chain_verifies_and_checkpoints_match() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let (ok, out) = verify(&app).await;
    assert!(ok, "{out}");
    assert!(out.contains("审计日志完整"), "{out}");
    let n = count(&app, "SELECT COUNT(*) FROM audit_events").await;
    assert!(out.contains(&format!("共 {n} 条")), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.txt");
    let file = file.to_str().unwrap();
    let (ok, line, err) = app.cli(&["audit", "checkpoint", "--append", file]).await;
    assert!(ok, "{err}");
    assert!(line.starts_with(&format!("{n}\t")), "{line}");
    events(&app, 3).await;
    let (ok, out, err) = app.cli(&["audit", "verify", "--checkpoints", file]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("与 1 个检查点一致"), "{out}");

    // Someone rewrites the whole chain from an edited event onward: every link is valid
    // again, but the saved checkpoint no longer matches.
    let first = ids(&app).await[1];
    let rows =
        sqlx::query_as::<_, (i64,)>("SELECT id FROM audit_events WHERE id >= $1 ORDER BY id")
            .bind(first)
            .fetch_all(app.services.db.pool())
            .await
            .unwrap();
    as_intruder(
        &app,
        &[&format!(
            "UPDATE audit_events SET detail = '{{\"n\":99}}' WHERE id = {first}"
        )],
    )
    .await;
    let mut prev: String = sqlx::query_scalar("SELECT prev_hash FROM audit_events WHERE id = $1")
        .bind(first)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    for (id,) in rows {
        use sqlx::Row;
        let r = sqlx::query(
            "SELECT seq, at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
             target_kind, target_id, target_path, detail FROM audit_events WHERE id = $1",
        )
        .bind(id)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
        let c = audit::Canonical {
            seq: r.get("seq"),
            at: r.get("at"),
            actor_user_id: r.get("actor_user_id"),
            actor_username: r.get("actor_username"),
            actor_role: r.get("actor_role"),
            actor_org_id: r.get("actor_org_id"),
            source: r.get("source"),
            action: r.get("action"),
            target_kind: r.get("target_kind"),
            target_id: r.get("target_id"),
            target_path: r.get("target_path"),
            detail: r.get("detail"),
        };
        let hash = c.hash(&prev);
        sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(prev.clone())
            .bind(hash.clone())
            .bind(id)
            .execute(app.services.db.pool())
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1")
        .bind(prev)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let (ok, _) = verify(&app).await;
    assert!(ok, "without checkpoints a rewritten chain looks whole");
    let (ok, out, _) = app.cli(&["audit", "verify", "--checkpoints", file]).await;
    assert!(!ok);
    assert!(out.contains("检查点") && out.contains("链被重写"), "{out}");
}

#[tokio::test]
async fn verify_names_an_edited_event() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let id = ids(&app).await[3];
    as_intruder(
        &app,
        &[&format!(
            "UPDATE audit_events SET actor_username = 'someone' WHERE id = {id}"
        )],
    )
    .await;
    let (ok, out) = verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("编号 {id}")) && out.contains("被修改"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_names_a_deleted_event() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let all = ids(&app).await;
    let gone = all[2];
    as_intruder(
        &app,
        &[&format!("DELETE FROM audit_events WHERE id = {gone}")],
    )
    .await;
    let (ok, out) = verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("记录编号 {} 之前缺少第 3–3 条", all[3])),
        "{out}"
    );
    assert!(out.contains("被删除"), "{out}");
}

#[tokio::test]
async fn verify_names_a_deleted_last_event() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let last = *ids(&app).await.last().unwrap();
    as_intruder(
        &app,
        &[&format!("DELETE FROM audit_events WHERE id = {last}")],
    )
    .await;
    let (ok, out) = verify(&app).await;
    assert!(!ok);
    assert!(out.contains("最后的记录被删除"), "{out}");
}

#[tokio::test]
async fn verify_names_an_inserted_event() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let all = ids(&app).await;
    // A forged copy of the third event with another detail, its own hash computed properly
    // and linked to the second: the chain still catches a second claim on place 3.
    let prev: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1")
        .bind(all[1])
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    let c = audit::Canonical {
        seq: 3,
        at: 1,
        actor_user_id: None,
        actor_username: "forger".into(),
        actor_role: "system".into(),
        actor_org_id: None,
        source: None,
        action: "test.event".into(),
        target_kind: "test".into(),
        target_id: "x".into(),
        target_path: TreePath::root(OrgId(1)).as_str().into(),
        detail: "{}".into(),
    };
    let hash = c.hash(&prev);
    let forged = all.last().unwrap() + 10;
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_username, actor_role, action, target_kind, \
         target_id, target_path, detail, seq, prev_hash, hash) \
         VALUES ($1, 1, 'forger', 'system', 'test.event', 'test', 'x', $2, '{}', 3, $3, $4)",
    )
    .bind(forged)
    .bind(TreePath::root(OrgId(1)).as_str().to_owned())
    .bind(prev)
    .bind(hash)
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let (ok, out) = verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("编号 {forged}")) && out.contains("被插入"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_names_two_swapped_events() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let all = ids(&app).await;
    let (a, b) = (all[2], all[3]);
    let cols = "at, actor_user_id, actor_username, actor_role, actor_org_id, source, action, \
                target_kind, target_id, target_path, detail, seq, prev_hash, hash";
    as_intruder(
        &app,
        &[
            &format!("CREATE TABLE swap_copy AS SELECT id, {cols} FROM audit_events WHERE id IN ({a}, {b})"),
            &format!(
                "UPDATE audit_events SET ({cols}) = (SELECT {cols} FROM swap_copy s \
                 WHERE s.id = {} - audit_events.id) WHERE id IN ({a}, {b})",
                a + b
            ),
        ],
    )
    .await;
    let (ok, out) = verify(&app).await;
    assert!(!ok);
    assert!(
        out.contains(&format!("记录编号 {a} 处顺序错乱")) && out.contains("被调换"),
        "{out}"
    );
}

#[tokio::test]
async fn events_from_before_the_chain_are_sealed_at_start_up() {
    let app = TestApp::empty().await;
    events(&app, 2).await;
    // An event as written by a version without the chain: no place, no hash.
    sqlx::query(
        "INSERT INTO audit_events (at, actor_username, actor_role, action, target_kind, \
         target_id, target_path, detail) VALUES (5, 'old', 'system', 'test.old', 'test', '1', $1, '{}')",
    )
    .bind(TreePath::root(OrgId(1)).as_str().to_owned())
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let (ok, out) = verify(&app).await;
    // The command migrates first, which seals it: verify then passes and counts it.
    assert!(ok, "{out}");
    let sealed = count(&app, "SELECT COUNT(*) FROM audit_events WHERE hash IS NULL").await;
    assert_eq!(sealed, 0);
    // A sealed event cannot be sealed again or changed.
    assert!(
        sqlx::query("UPDATE audit_events SET hash = 'x' WHERE action = 'test.old'")
            .execute(app.services.db.pool())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn many_writers_keep_one_chain() {
    let app = TestApp::empty().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let services = app.services.clone();
        tasks.push(tokio::spawn(async move {
            let path = TreePath::root(OrgId(1));
            for i in 0..10 {
                let mut tx = services.db.begin().await.unwrap();
                audit::append(
                    &mut tx,
                    By::System("writer"),
                    NewEvent {
                        action: "test.event",
                        target_kind: "test",
                        target_id: i.to_string(),
                        target_path: &path,
                        detail: serde_json::json!({}),
                    },
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut conn = app.services.db.acquire().await.unwrap();
    let v = audit::verify(&mut conn, &[], |_| {}).await.unwrap();
    assert_eq!(v.first_break, None);
    let n = count(&app, "SELECT COUNT(*) FROM audit_events").await;
    assert_eq!(v.events as i64, n);
    assert!(n >= 80);
}

// ---- Read audit, 查阅记录, purposeful reveal, watermarks -------------------------------------

use axum::http::StatusCode;
use dengji::domain::Role;

use crate::helpers::{demo_places, python};

/// The 方式 cells of an access page, in order.
fn access_actions(html: &str) -> Vec<String> {
    html.split("<td class=\"access-action\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn an_auditor_sees_exactly_the_accesses_made_to_a_members_record() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let m = p.member.0;
    // What was read before (the test's own set-up reads through the services).
    let auditor = app.login_demo("auditor").await;
    let first = auditor.get(&format!("/members/{m}/accesses")).await;
    assert_eq!(first.status, StatusCode::OK);
    let baseline = access_actions(&first.body);
    let clerk = app.login_demo("shi").await;
    assert_eq!(
        clerk.get(&format!("/members/{m}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        clerk
            .get(&format!("/members/{m}/registration"))
            .await
            .status,
        StatusCode::OK
    );
    // The member reading their own record is nobody else's access.
    let own = app.login_demo("dangyuan").await;
    assert_eq!(
        own.get(&format!("/members/{m}")).await.status,
        StatusCode::OK
    );

    let page = auditor.get(&format!("/members/{m}/accesses")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut expected = vec!["查看登记表".to_owned(), "查看党员信息".to_owned()];
    expected.extend(baseline);
    assert_eq!(
        access_actions(&page.body),
        expected,
        "newest first, exactly the two reads on top of what was there"
    );
    assert!(
        page.body.contains("市经办人") || page.body.contains("shi"),
        "who"
    );

    // A list page is one event naming the rows it showed.
    let before = count(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'read.members'",
    )
    .await;
    let name = app.member(p.member).await.name;
    let list = clerk
        .get(&format!(
            "/members?name={}",
            serde_urlencoded::to_string([("n", &name)])
                .unwrap()
                .trim_start_matches("n=")
        ))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(&format!("href=\"/members/{m}\"")),
        "the member is listed"
    );
    let after = count(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'read.members'",
    )
    .await;
    assert_eq!(after, before + 1);
    let shown = count(
        &app,
        "SELECT COUNT(*) FROM audit_subjects WHERE event_id = (SELECT MAX(id) FROM audit_events WHERE action = 'read.members')",
    )
    .await;
    let rows = list.body.matches("href=\"/members/").count() as i64;
    assert!(shown > 0 && shown <= rows, "{shown} named, {rows} links");
    let page = auditor.get(&format!("/members/{m}/accesses")).await;
    assert_eq!(access_actions(&page.body)[0], "浏览党员名单");

    // What the clerk accessed, for the auditor; and for the clerk themself.
    let shi = app.user("shi").await;
    let theirs = auditor.get(&format!("/users/{}/accesses", shi.id.0)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(access_actions(&theirs.body).len(), 3);
    let mine = clerk.get("/account/accesses").await;
    assert_eq!(access_actions(&mine.body), access_actions(&theirs.body));

    // The history exports, watermarked, and the export is itself recorded.
    let (status, _, bytes) = auditor
        .get_bytes(&format!("/members/{m}/accesses.xlsx"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"PK"));
    assert_eq!(app.audit("export.accesses").await.len(), 1);
}

#[tokio::test]
async fn access_histories_are_closed_outside_the_subtree_and_to_other_roles() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let m = p.member.0;
    let elsewhere = app.login_as(Role::Auditor, p.other_province, None).await;
    assert_eq!(
        elsewhere
            .get(&format!("/members/{m}/accesses"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        elsewhere
            .get(&format!("/members/{m}/accesses.xlsx"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A clerk of the member's own city reads the record but not who else read it.
    let clerk = app.login_demo("shi").await;
    assert_eq!(
        clerk.get(&format!("/members/{m}/accesses")).await.status,
        StatusCode::FORBIDDEN
    );
    // Nor another account's accesses.
    let sheng = app.user("sheng").await;
    assert_eq!(
        clerk
            .get(&format!("/users/{}/accesses", sheng.id.0))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_full_id_number_is_shown_only_for_a_stated_purpose() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let m = p.member.0;
    let full = {
        let member = app.member(p.member).await;
        let enc: Vec<u8> = sqlx::query_scalar("SELECT citizen_id_enc FROM members WHERE id = $1")
            .bind(m)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
        let id = app.services.keys.decrypt_id(&enc).unwrap();
        assert_ne!(member.citizen_id_masked, id);
        id
    };
    let clerk = app.login_demo("shi").await;
    let page = clerk.get(&format!("/members/{m}")).await;
    assert!(!page.body.contains(&full), "masked by default");

    let r = clerk
        .post(&format!("/members/{m}/reveal"), &[("purpose", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("须选择用途") && !r.body.contains(&full),
        "{}",
        r.body
    );
    let r = clerk
        .post(
            &format!("/members/{m}/reveal"),
            &[("purpose", "other"), ("note", "  ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请写明用途"), "{}", r.body);
    assert!(
        app.audit("reveal").await.is_empty(),
        "nothing recorded for a refusal"
    );

    let r = clerk
        .post(&format!("/members/{m}/reveal"), &[("purpose", "verify")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body
            .contains(&format!("<span id=\"citizen-id-full\">{full}</span>"))
    );
    let reveals = app.audit("reveal").await;
    assert_eq!(reveals.len(), 1);
    assert!(reveals[0].detail.contains("核查"), "{}", reveals[0].detail);
    // The number itself is in no audit event.
    let leaked =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events WHERE detail LIKE $1")
            .bind(format!("%{full}%"))
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
    assert_eq!(leaked, 0);
    // Shown for that response only: the next view is masked again.
    assert!(
        !clerk
            .get(&format!("/members/{m}"))
            .await
            .body
            .contains(&full)
    );
    // And the reveal is in the member's 查阅记录.
    let auditor = app.login_demo("auditor").await;
    let page = auditor.get(&format!("/members/{m}/accesses")).await;
    assert!(access_actions(&page.body).contains(&"查看完整公民身份号码".to_owned()));
    assert!(page.body.contains("用途：核查"), "{}", page.body);
}

/// Header, document properties and the ID column of an exported sheet, by openpyxl.
fn watermark_of(bytes: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.xlsx");
    std::fs::write(&file, bytes).unwrap();
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb.worksheets[0]
custom = {p.name: p.value for p in wb.custom_doc_props.props}
print(json.dumps({
    "header": ws.oddHeader.left.text or "",
    "author": wb.properties.creator or "",
    "comment": wb.properties.description or "",
    "custom": custom,
    "cells": [["" if c.value is None else str(c.value) for c in row] for row in ws.iter_rows()],
}, ensure_ascii=False))
"#;
    serde_json::from_slice(&python(script, &[file.as_os_str()])).unwrap()
}

#[tokio::test]
async fn exports_are_masked_by_default_and_full_numbers_need_a_purpose() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("shi").await;
    let url = format!("/orgs/{}/summary/a4/export", p.city.0);

    let (status, _, bytes) = clerk.get_bytes(&format!("{url}?format=xlsx")).await;
    assert_eq!(status, StatusCode::OK);
    let book = watermark_of(&bytes);
    let ids: Vec<String> = book["cells"].as_array().unwrap()[4..]
        .iter()
        .filter(|r| r[0].as_str().unwrap().parse::<u64>().is_ok())
        .map(|r| r[9].as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|i| i.contains('*')), "masked: {ids:?}");

    // Full numbers without a purpose: refused, nothing exported or recorded.
    let exports = app.audit("export").await.len();
    let r = clerk.get(&format!("{url}?format=xlsx&ids=full")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("须选择用途"), "{}", r.body);
    assert_eq!(app.audit("export").await.len(), exports);

    let (status, _, bytes) = clerk
        .get_bytes(&format!("{url}?format=xlsx&ids=full&purpose=exchange"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let book = watermark_of(&bytes);
    let full: Vec<String> = book["cells"].as_array().unwrap()[4..]
        .iter()
        .filter(|r| r[0].as_str().unwrap().parse::<u64>().is_ok())
        .map(|r| r[9].as_str().unwrap().to_owned())
        .collect();
    assert!(full.iter().all(|i| i.len() == 18 && !i.contains('*')));

    // The watermark: in the page header and the document properties, naming who, where,
    // when, why, and the export's id — which the command line traces back.
    let header = book["header"].as_str().unwrap();
    let export_id = book["custom"]["导出编号"].as_str().unwrap().to_owned();
    assert!(export_id.starts_with("EX-"), "{book}");
    for part in [export_id.as_str(), "shi", "用途：对接"] {
        assert!(header.contains(part), "{part} in {header}");
        assert!(book["comment"].as_str().unwrap().contains(part));
    }
    assert!(book["author"].as_str().unwrap().contains("shi"));
    let event = app.audit("export").await.into_iter().next().unwrap();
    assert!(event.detail.contains(&export_id) && event.detail.contains("\"ids\":\"full\""));
    let (ok, out, err) = app
        .cli(&["audit", "export", &export_id.to_lowercase()])
        .await;
    assert!(ok, "{err}");
    assert!(out.contains("shi") && out.contains("导出汇总表"), "{out}");
    let (ok, _, err) = app.cli(&["audit", "export", "EX-NOSUCH00"]).await;
    assert!(!ok && err.contains("没有编号为"), "{err}");

    // A CSV starts with the watermark line.
    let (status, _, csv) = clerk.get_bytes(&format!("{url}?format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(csv).unwrap();
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        first.starts_with("# 导出编号 EX-") && first.contains("shi"),
        "{first}"
    );

    // A member's one-form export: masked unless a purpose is given.
    let m = p.member.0;
    let (_, _, form) = clerk.get_bytes(&format!("/members/{m}/form.xlsx")).await;
    let cells = watermark_of(&form)["cells"].to_string();
    assert!(cells.contains('*'));
    let r = clerk
        .get(&format!("/members/{m}/form.xlsx?ids=full&purpose=other"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请写明用途"));
    let (status, _, form) = clerk
        .get_bytes(&format!(
            "/members/{m}/form.xlsx?ids=full&purpose=other&note=%E8%B0%83%E6%A1%A3"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let book = watermark_of(&form);
    assert!(
        book["header"]
            .as_str()
            .unwrap()
            .contains("用途：其他：调档")
    );
}

#[tokio::test]
async fn the_csv_watermark_line_can_be_turned_off() {
    let mut app = TestApp::spawn().await;
    app.services.limits.csv_watermark = false;
    let p = demo_places(&app).await;
    let mut out = Vec::new();
    app.services
        .export()
        .table(
            dengji::service::Caller::Operator,
            p.city,
            "a6",
            dengji::service::export::ExportFormat::Csv,
            &dengji::service::Ids::Masked,
            &mut out,
            &|_| {},
        )
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.trim_start_matches('\u{feff}').starts_with("序号"),
        "{}",
        &text[..60]
    );
}

// ---- Account security ----------------------------------------------------------------------

#[test]
fn the_password_rules_name_what_is_wrong_in_chinese() {
    use dengji::service::users::check_password;
    let reason = |p: &str, u: &str| check_password(p, u).unwrap_err().to_string();
    assert!(reason("Abc12345", "zhang").contains("长度应为10–128位"));
    assert!(reason("abcdefghijk", "zhang").contains("应同时包含字母和数字"));
    assert!(reason("Zhang12345", "zhang12345").contains("不能与用户名相同"));
    assert!(reason("Password123", "zhang").contains("过于常见"));
    assert!(
        reason("WOAINI123456", "zhang").contains("过于常见"),
        "any case"
    );
    assert!(
        reason("1234567890", "zhang").contains("字母和数字")
            || reason("1234567890", "zhang").contains("过于常见")
    );
    assert!(check_password("Qiuyu7Lantern", "zhang").is_ok());
}

#[tokio::test]
async fn a_password_set_by_an_administrator_is_changed_before_anything_else() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let admin = app.login_demo("admin").await;
    let r = admin
        .post(
            "/users",
            &[
                ("username", "xinren"),
                ("display_name", "新人"),
                ("password", "Chushi2018ab"),
                ("role", "clerk"),
                ("org", &p.city.0.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let user = app.login("xinren", "Chushi2018ab").await;
    let home = user.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location().as_deref(), Some("/account/password"));
    assert_eq!(
        user.get("/members").await.location().as_deref(),
        Some("/account/password"),
        "every page"
    );
    let page = user.get("/account/password").await;
    assert!(page.body.contains("请先修改密码"), "{}", page.body);
    // A change that breaks the rules is refused with the reason and keeps the lock.
    let r = user
        .post(
            "/account/password",
            &[("old", "Chushi2018ab"), ("new", "password123")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("过于常见"), "{}", r.body);
    assert_eq!(user.get("/").await.status, StatusCode::SEE_OTHER);
    let r = user
        .post(
            "/account/password",
            &[("old", "Chushi2018ab"), ("new", "Ziji2026mima")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(user.get("/").await.status, StatusCode::OK);

    // After an administrator's reset, the same again.
    let id = app.user("xinren").await.id.0;
    let r = admin
        .post(
            &format!("/users/{id}/password"),
            &[("new", "Chongzhi2026x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = app.login("xinren", "Chongzhi2026x").await;
    assert_eq!(
        again.get("/").await.location().as_deref(),
        Some("/account/password")
    );
}

#[tokio::test]
async fn a_session_idle_too_long_ends() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi").await;
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    // Two hours and a minute without use (the default limit is 120 minutes).
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 121 * 60")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    let r = c.get("/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().unwrap_or_default().starts_with("/login"),
        "{:?}",
        r.location()
    );
    // Still within the limit, a session lives on.
    let d = app.login_demo("shi").await;
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 60 * 60 WHERE revoked = 0")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    assert_eq!(d.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn users_end_their_own_sessions_and_administrators_end_all_of_an_account() {
    let app = TestApp::spawn().await;
    let here = app.login_demo("sheng").await;
    let there = app.login_demo("sheng").await;
    let page = here.get("/account/sessions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("<tr><td>").count(), 2, "{}", page.body);
    assert!(page.body.contains("本设备"));
    let handle = page
        .body
        .split("name=\"session\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    // Someone else's handle, or nonsense, ends nothing.
    let shi = app.login_demo("shi").await;
    assert_eq!(
        shi.post("/account/sessions/end", &[("session", &handle)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(there.get("/").await.status, StatusCode::OK);
    let r = here
        .post("/account/sessions/end", &[("session", &handle)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(there.get("/").await.status, StatusCode::SEE_OTHER, "ended");
    assert_eq!(here.get("/").await.status, StatusCode::OK, "this one lives");
    assert_eq!(app.audit("session.end").await.len(), 1);

    let admin = app.login_demo("admin").await;
    let id = app.user("sheng").await.id.0;
    let r = admin.post(&format!("/users/{id}/sessions/end"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(here.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit("user.end_sessions").await.len(), 1);
    // A clerk may not.
    assert_eq!(
        shi.post(&format!("/users/{id}/sessions/end"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

use dengji::totp;

/// The value of the first `attr="…"` after `marker` in a page.
fn after<'a>(html: &'a str, marker: &str) -> &'a str {
    html.split(marker)
        .nth(1)
        .and_then(|s| s.split(['"', '<']).next())
        .unwrap_or_else(|| panic!("{marker} not in {html}"))
}

/// A six-digit code that is none of the codes near now.
fn wrong_code(secret: &[u8]) -> String {
    let now = totp::step_of(dengji::store::now());
    let near: Vec<String> = (now - 3..=now + 3)
        .map(|s| totp::code_at(secret, s))
        .collect();
    (0..)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Set up a second factor for a signed-in client: its secret and recovery codes.
async fn set_up_factor(c: &crate::helpers::Client) -> (Vec<u8>, Vec<String>) {
    let page = c.post("/account/totp/begin", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "a QR code on the page");
    let secret = totp::from_base32(after(&page.body, "id=\"totp-secret\">")).unwrap();
    assert_eq!(secret.len(), 20);
    // A wrong code is refused, and the set-up can be finished after.
    let r = c
        .post("/account/totp/confirm", &[("code", &wrong_code(&secret))])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("验证码不正确"), "{}", r.body);
    assert!(r.body.contains("id=\"totp-secret\""), "the QR code again");
    let now = totp::step_of(dengji::store::now());
    let r = c
        .post(
            "/account/totp/confirm",
            &[("code", &totp::code_at(&secret, now))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("动态验证码已启用"), "{}", r.body);
    let codes: Vec<String> = r
        .body
        .split("id=\"recovery-codes\"")
        .nth(1)
        .unwrap()
        .split("<li>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), totp::RECOVERY_CODES);
    (secret, codes)
}

/// The password step: the ticket of the code page.
async fn password_step(app: &TestApp, username: &str) -> String {
    let r = app
        .anonymous()
        .post_raw(
            "/login",
            &[
                ("username", username),
                ("password", "Dengji2018"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the code is asked for: {}",
        r.body
    );
    assert!(r.body.contains("动态验证码"), "{}", r.body);
    assert!(
        r.header("set-cookie").is_none(),
        "no session before the code"
    );
    after(&r.body, "name=\"ticket\" value=\"").to_owned()
}

async fn code_step(app: &TestApp, ticket: &str, code: &str) -> crate::helpers::TestResponse {
    app.anonymous()
        .post_raw(
            "/login/code",
            &[("ticket", ticket), ("code", code), ("next", "/")],
        )
        .await
}

#[tokio::test]
async fn a_second_factor_is_asked_for_at_sign_in_and_each_code_works_once() {
    let app = TestApp::spawn().await;
    let c = app.login_demo("shi_shenhe").await;
    let (secret, recovery) = set_up_factor(&c).await;
    assert_eq!(app.audit("totp.enable").await.len(), 1);

    // The password alone no longer signs in; a wrong code is refused and counted.
    let ticket = password_step(&app, "shi_shenhe").await;
    let r = code_step(&app, &ticket, &wrong_code(&secret)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("验证码不正确"), "{}", r.body);
    assert_eq!(app.audit("login.code_failed").await.len(), 1);
    // The next step's code (a phone a little ahead) signs in, once.
    let next = totp::code_at(&secret, totp::step_of(dengji::store::now()) + 1);
    let r = code_step(&app, &ticket, &next).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let signed = TestApp::signed_in(app.anonymous(), &r).await;
    assert_eq!(signed.get("/").await.status, StatusCode::OK);
    // The ticket is spent, and the same code on a new ticket is a replay.
    let r = code_step(&app, &ticket, &next).await;
    assert!(r.body.contains("登录已超时"), "{}", r.body);
    let again = password_step(&app, "shi_shenhe").await;
    let r = code_step(&app, &again, &next).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("已使用过"), "{}", r.body);

    // A recovery code stands in for the phone, once.
    let r = code_step(&app, &again, &recovery[0].to_uppercase()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let third = password_step(&app, "shi_shenhe").await;
    let r = code_step(&app, &third, &recovery[0]).await;
    assert!(r.body.contains("恢复码不正确或已使用过"), "{}", r.body);
    assert!(
        c.get("/account/totp")
            .await
            .body
            .contains("剩余恢复码 9 个"),
        "one used"
    );
    // A made-up ticket opens nothing.
    let r = code_step(&app, "made-up", &next).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let logins = app.audit("login").await;
    assert!(
        logins
            .iter()
            .any(|e| e.detail.contains("\"factor\":\"totp\""))
    );
    assert!(
        logins
            .iter()
            .any(|e| e.detail.contains("\"factor\":\"recovery\""))
    );

    // Wrong codes lock the account as wrong passwords do.
    let fourth = password_step(&app, "shi_shenhe").await;
    let mut bodies = Vec::new();
    for _ in 0..5 {
        bodies.push(code_step(&app, &fourth, &wrong_code(&secret)).await.body);
    }
    assert!(bodies.iter().any(|b| b.contains("暂时锁定")), "{bodies:?}");
    let r = app
        .anonymous()
        .post_raw(
            "/login",
            &[("username", "shi_shenhe"), ("password", "Dengji2018")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("暂时锁定"),
        "even the right password: {}",
        r.body
    );

    // Turned off with the password, sign-in is the password again.
    let r = c
        .post("/account/totp/disable", &[("password", "wrong")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post("/account/totp/disable", &[("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit("totp.disable").await.len(), 1);
    assert!(!app.user("shi_shenhe").await.has_totp);
}

#[tokio::test]
async fn administrators_require_a_second_factor_and_reset_a_lost_one() {
    let app = TestApp::spawn().await;
    // Only a national administrator sets the requirement.
    let province_admin = app.login_demo("sheng_admin").await;
    assert!(
        !province_admin
            .get("/users")
            .await
            .body
            .contains("factor-requirement")
    );
    assert_eq!(
        province_admin
            .post("/users/factor-requirement", &[("on", "1")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let admin = app.login_demo("admin").await;
    let r = admin
        .post("/users/factor-requirement", &[("on", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit("totp.required").await.len(), 1);

    // A reviewer without one sees nothing else until it is set up; a clerk is not asked.
    let reviewer = app.login_demo("shi_shenhe").await;
    let r = reviewer.get("/members").await;
    assert_eq!(r.location().as_deref(), Some("/account/totp"));
    assert!(
        reviewer
            .get("/account/totp")
            .await
            .body
            .contains("必须使用动态验证码")
    );
    let clerk = app.login_demo("shi").await;
    assert_eq!(clerk.get("/members").await.status, StatusCode::OK);
    set_up_factor(&reviewer).await;
    assert_eq!(reviewer.get("/members").await.status, StatusCode::OK);
    // It cannot be turned off while required.
    let r = reviewer
        .post("/account/totp/disable", &[("password", "Dengji2018")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不能关闭"), "{}", r.body);

    // A lost phone: an administrator of the subtree clears it; the user's sessions end and
    // the next sign-in (password only) leads straight to setting a new one up.
    let id = app.user("shi_shenhe").await.id.0;
    // Administrators are held to it too.
    assert_eq!(
        province_admin.get("/users").await.location().as_deref(),
        Some("/account/totp")
    );
    set_up_factor(&province_admin).await;
    assert!(
        province_admin
            .get("/users?q=shi_shenhe")
            .await
            .body
            .contains("清除动态验证码")
    );
    assert_eq!(
        clerk
            .post(&format!("/users/{id}/totp/reset"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = province_admin
        .post(&format!("/users/{id}/totp/reset"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit("totp.reset").await.len(), 1);
    assert_eq!(reviewer.get("/").await.status, StatusCode::SEE_OTHER);
    assert!(
        reviewer
            .get("/")
            .await
            .location()
            .unwrap_or_default()
            .starts_with("/login")
    );
    let back = app.login_demo("shi_shenhe").await;
    assert_eq!(
        back.get("/").await.location().as_deref(),
        Some("/account/totp")
    );
}

#[tokio::test]
async fn the_audit_log_shows_reads_and_changes_apart() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("shi").await;
    assert_eq!(
        clerk.get(&format!("/members/{}", p.member.0)).await.status,
        StatusCode::OK
    );
    let auditor = app.login_demo("auditor").await;
    let cells = |html: &str| -> Vec<String> {
        html.split("<td class=\"audit-action\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap_or_default().to_owned())
            .collect()
    };
    let reads = cells(&auditor.get("/audit?kind=reads").await.body);
    assert!(reads.iter().any(|a| a == "查看党员信息"), "{reads:?}");
    assert!(!reads.iter().any(|a| a == "登录"), "{reads:?}");
    let changes = cells(&auditor.get("/audit?kind=changes").await.body);
    assert!(changes.iter().any(|a| a == "登录"), "{changes:?}");
    assert!(
        !changes.iter().any(|a| a.starts_with("查看")),
        "{changes:?}"
    );
}

#[tokio::test]
async fn reads_written_together_keep_the_chain_and_name_their_members() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("shi").await;
    let members = app.members_of(p.firm_org).await;
    // Pages read in quick succession land in the same transactions of the read log.
    let paths: Vec<String> = members
        .iter()
        .take(12)
        .map(|m| format!("/members/{}", m.0))
        .collect();
    let pages = paths.iter().map(|path| clerk.get(path));
    for r in futures_util::future::join_all(pages).await {
        assert_eq!(r.status, StatusCode::OK);
    }
    let named = count(
        &app,
        "SELECT COUNT(DISTINCT s.member_id) FROM audit_subjects s \
         JOIN audit_events e ON e.id = s.event_id WHERE e.action = 'read.member'",
    )
    .await;
    assert_eq!(named, 12.min(members.len() as i64));
    let (ok, out) = verify(&app).await;
    assert!(ok, "{out}");
}
