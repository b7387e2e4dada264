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
fn verify(app: &TestApp) -> (bool, String) {
    let (ok, out, err) = app.cli(&["audit", "verify"]);
    (ok, format!("{out}{err}"))
}

#[tokio::test]
async fn an_untouched_chain_verifies_and_checkpoints_match() {
    let app = TestApp::empty().await;
    events(&app, 5).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
    assert!(out.contains("审计日志完整"), "{out}");
    let n = count(&app, "SELECT COUNT(*) FROM audit_events").await;
    assert!(out.contains(&format!("共 {n} 条")), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.txt");
    let file = file.to_str().unwrap();
    let (ok, line, err) = app.cli(&["audit", "checkpoint", "--append", file]);
    assert!(ok, "{err}");
    assert!(line.starts_with(&format!("{n}\t")), "{line}");
    events(&app, 3).await;
    let (ok, out, err) = app.cli(&["audit", "verify", "--checkpoints", file]);
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
            "SELECT seq, at, actor_user_id, actor_username, actor_role, actor_org_id, action, \
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
    let (ok, _) = verify(&app);
    assert!(ok, "without checkpoints a rewritten chain looks whole");
    let (ok, out, _) = app.cli(&["audit", "verify", "--checkpoints", file]);
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
    let (ok, out) = verify(&app);
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
    let (ok, out) = verify(&app);
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
    let (ok, out) = verify(&app);
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
    let (ok, out) = verify(&app);
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
    let cols = "at, actor_user_id, actor_username, actor_role, actor_org_id, action, \
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
    let (ok, out) = verify(&app);
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
    let (ok, out) = verify(&app);
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
