//! The storage contract: the same assertions on SQLite and PostgreSQL.

use dengji::authz::Scope;
use dengji::domain::{OrgId, TreePath};
use dengji::service::Caller;
use dengji::store::members::{MemberFilter, MemberSort};
use dengji::store::orgs::OrgFilter;
use dengji::store::{Db, StoreError, check, members, orgs};

use crate::helpers::{TestApp, backend, demo_places, fresh_database};

#[tokio::test]
async fn migrate_twice_is_harmless_and_seeds_the_top_of_the_tree() {
    let app = TestApp::empty().await;
    app.services.db.migrate().await.expect("second migrate");
    let mut conn = app.services.db.acquire().await.unwrap();
    let root = orgs::get(&mut conn, OrgId(1)).await.unwrap().expect("root");
    assert_eq!(root.name, "全国律师行业党委");
    assert_eq!(root.child_count, 32, "31 provinces and 兵团");
    let counts = check::table_counts(&mut conn).await.unwrap();
    assert!(counts.iter().any(|(l, n)| *l == "行政区划" && *n > 3000));
}

#[tokio::test]
async fn demo_nation_passes_every_invariant() {
    let app = TestApp::with_members(500).await;
    let demo = app.demo.as_ref().unwrap();
    assert_eq!(demo.members, 500);
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
    let counts = orgs::subtree_counts(&mut conn, &TreePath::root(OrgId(1)))
        .await
        .unwrap();
    assert_eq!(counts.members, 500);
    assert_eq!(counts.firms as u64, demo.firms);
}

#[tokio::test]
async fn demo_is_reproducible_and_refuses_a_filled_database() {
    let a = TestApp::with_members(200).await;
    let b = TestApp::with_members(200).await;
    let names = |app: &TestApp| {
        let db = app.services.db.clone();
        async move {
            let mut conn = db.acquire().await.unwrap();
            let page = members::list(
                &mut conn,
                &Scope::Subtree(TreePath::root(OrgId(1))),
                &MemberFilter {
                    sort: MemberSort::Name,
                    page: 1,
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            page.items
                .into_iter()
                .map(|m| (m.name, m.citizen_id_masked, m.birth_date))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&a).await, names(&b).await, "same seed, same nation");
    let again = a
        .services
        .demo()
        .generate(&Default::default(), &|_| {})
        .await
        .expect_err("second demo refused");
    assert!(again.to_string().contains("已有"), "{again}");
}

#[tokio::test]
async fn subtree_scope_never_returns_other_branches() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let mut conn = app.services.db.acquire().await.unwrap();
    let city = orgs::get(&mut conn, places.city).await.unwrap().unwrap();
    let scope = Scope::Subtree(city.path.clone());
    let page = members::list(
        &mut conn,
        &scope,
        &MemberFilter {
            page: 1,
            per_page: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!page.items.is_empty());
    assert!(page.items.iter().all(|m| city.path.contains(&m.org_path)));
    let all_orgs = orgs::list(
        &mut conn,
        &scope,
        &OrgFilter {
            page: 1,
            per_page: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(all_orgs.items.iter().all(|o| city.path.contains(&o.path)));
    assert!(all_orgs.items.iter().any(|o| o.id == places.firm_org));
    assert!(!all_orgs.items.iter().any(|o| o.id == places.other_city));
    // A sibling whose id starts with the same digits is not inside (prefix trap).
    let own = Scope::OwnRecord(places.member);
    let mine = members::list(
        &mut conn,
        &own,
        &MemberFilter {
            page: 1,
            per_page: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(mine.items.len(), 1);
    assert_eq!(mine.items[0].id, places.member);
}

#[tokio::test]
async fn name_search_treats_wildcards_literally() {
    let app = TestApp::spawn().await;
    let caller = Caller::Operator;
    let (page, _) = app
        .services
        .directory()
        .members(
            caller,
            None,
            &MemberFilter {
                name: Some("%".into()),
                page: 1,
                per_page: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.items.is_empty(), "'%' is a literal, not a wildcard");
    let (page, _) = app
        .services
        .directory()
        .members(
            caller,
            None,
            &MemberFilter {
                name: Some("王".into()),
                page: 1,
                per_page: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.items.iter().all(|m| m.member.name.contains('王')));
}

#[tokio::test]
async fn paging_walks_every_member_once() {
    let app = TestApp::with_members(120).await;
    let mut seen = std::collections::HashSet::new();
    let mut page_no = 1;
    loop {
        let (page, _) = app
            .services
            .directory()
            .members(
                Caller::Operator,
                None,
                &MemberFilter {
                    page: page_no,
                    per_page: 25,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for m in &page.items {
            assert!(seen.insert(m.member.id), "member {} twice", m.member.id);
        }
        if !page.has_next {
            break;
        }
        page_no += 1;
    }
    assert_eq!(seen.len(), 120);
}

#[tokio::test]
async fn citizen_ids_are_encrypted_and_unique() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let mut conn = app.services.db.acquire().await.unwrap();
    let sealed = members::encrypted_id(&mut conn, places.member)
        .await
        .unwrap()
        .unwrap();
    let plain = app.services.keys.decrypt_id(&sealed).unwrap();
    assert_eq!(plain.len(), 18);
    assert!(
        !sealed.windows(18).any(|w| w == plain.as_bytes()),
        "stored encrypted"
    );
    let m = members::get(&mut conn, places.member)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        m.citizen_id_masked,
        format!("{}********{}", &plain[..6], &plain[14..])
    );
    let id = dengji::domain::CitizenId::parse(&plain, dengji::service::beijing_today()).unwrap();
    let found = members::find_by_id_index(&mut conn, &app.services.keys.id_index(&id))
        .await
        .unwrap();
    assert_eq!(found, Some(places.member));
    // The unique index refuses a second record with the same number.
    let dup = members::insert(
        &mut conn,
        &members::NewMember {
            name: "重复".into(),
            sex: m.sex.clone(),
            ethnicity: "01".into(),
            birth_date: m.birth_date.clone(),
            citizen_id_enc: app.services.keys.encrypt_id(&id),
            citizen_id_index: app.services.keys.id_index(&id),
            citizen_id_masked: id.masked(),
            category: "staff".into(),
            practice_type: None,
            licence_no: None,
            education: "21".into(),
            party_status: "full".into(),
            joined_on: "2010-01-01".into(),
            full_member_on: Some("2011-01-01".into()),
            mobile: "13800138000".into(),
            firm_id: m.firm_id,
            org_id: m.org_id,
            org_path: m.org_path.clone(),
        },
    )
    .await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
}

#[tokio::test]
async fn audit_log_is_append_only() {
    let app = TestApp::spawn().await;
    let pool = app.services.db.pool();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(n >= 2, "tree init and demo recorded");
    assert!(
        sqlx::query("UPDATE audit_events SET action = 'x'")
            .execute(pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM audit_events")
            .execute(pool)
            .await
            .is_err()
    );
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(after, n);
}

#[tokio::test]
async fn the_database_refuses_a_state_outside_the_workflow() {
    let app = TestApp::spawn().await;
    let pool = app.services.db.pool();
    // An insert: refused in an unknown state, taken in a state of the workflow.
    let insert = |state: &'static str| {
        sqlx::query(
            "INSERT INTO registrations (campaign_id, member_id, org_path, form_code, data, state, \
             version, updated_at) SELECT c.id, m.id, m.org_path, 'A1', '{}', $1, 1, 0 \
             FROM campaigns c, members m WHERE NOT EXISTS \
             (SELECT 1 FROM registrations r WHERE r.member_id = m.id AND r.campaign_id = c.id) \
             ORDER BY m.id LIMIT 1",
        )
        .bind(state)
        .execute(pool)
    };
    assert!(
        insert("finished").await.is_err(),
        "an insert with an unknown state"
    );
    assert_eq!(insert("draft").await.unwrap().rows_affected(), 1);
    // A form's state, as any writer might spell it wrongly.
    for bad in ["Approved", "done", ""] {
        let r = sqlx::query("UPDATE registrations SET state = $1")
            .bind(bad)
            .execute(pool)
            .await;
        assert!(r.is_err(), "{bad:?} accepted");
    }
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM registrations ORDER BY id LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    // Every state of the workflow itself is taken.
    for s in dengji::domain::RegistrationState::ALL {
        sqlx::query("UPDATE registrations SET state = $1 WHERE id = $2")
            .bind(s.code())
            .bind(id)
            .execute(pool)
            .await
            .unwrap();
    }
    let package = |state: &'static str| {
        sqlx::query(
            "INSERT INTO packages (campaign_id, org_id, org_path, state, version, submitted_at, \
             submitter_name, secretary_name, organiser_name, contact_phone, missing, summary, \
             late_days, changes_after_accept) \
             SELECT c.id, o.id, o.path, $1, 1, 0, '', '', '', '', '[]', '{}', 0, 0 \
             FROM campaigns c, orgs o WHERE NOT EXISTS \
             (SELECT 1 FROM packages p WHERE p.org_id = o.id AND p.campaign_id = c.id) \
             ORDER BY o.id DESC LIMIT 1",
        )
        .bind(state)
        .execute(pool)
    };
    assert!(
        package("approved").await.is_err(),
        "a package in a form's state"
    );
    assert_eq!(package("submitted").await.unwrap().rows_affected(), 1);
    let r = sqlx::query("UPDATE packages SET state = 'draft'")
        .execute(pool)
        .await;
    assert!(r.is_err(), "a package moved to a form's state");
}

#[tokio::test]
async fn unknown_scheme_and_unreachable_database_are_clear_errors() {
    for url in ["mysql://x/y", "dengji.db", "", "postgres:nothing"] {
        let e = Db::connect(url).await.expect_err(url);
        assert!(matches!(e, StoreError::UnknownScheme(_)), "{url}: {e}");
        assert!(e.to_string().contains("无法识别"), "{e}");
    }
    // Nothing listens on port 1; the error names the redacted URL.
    let e = Db::connect("postgres://u:secret@127.0.0.1:1/x")
        .await
        .expect_err("unreachable");
    let text = e.to_string();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{text}");
    assert!(
        text.contains("无法连接数据库") && !text.contains("secret"),
        "{text}"
    );
    // An SQLite file in a directory that does not exist is an error, not a new file elsewhere.
    let e = Db::connect("sqlite:///nonexistent-dir-dengji/x.db")
        .await
        .expect_err("no dir");
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
}

#[tokio::test]
async fn migrations_of_both_databases_define_the_same_schema() {
    // Always compare the two migration folders; on a PostgreSQL run, also the live catalogues.
    let sqlite_dir = std::path::Path::new("migrations/sqlite");
    let pg_dir = std::path::Path::new("migrations/postgres");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(sqlite_dir),
        names(pg_dir),
        "same migration file names"
    );

    let (sqlite_url, _dir) = {
        let dir = tempfile::tempdir().unwrap();
        (format!("sqlite://{}/parity.db", dir.path().display()), dir)
    };
    let lite = Db::connect(&sqlite_url).await.unwrap();
    lite.migrate().await.unwrap();
    let lite_schema = schema_sqlite(&lite).await;
    assert!(
        lite_schema
            .iter()
            .any(|s| s == "index members.members_org_path")
    );
    if backend() == dengji::store::Backend::Postgres {
        let (url, _) = fresh_database().await;
        let pg = Db::connect(&url).await.unwrap();
        pg.migrate().await.unwrap();
        let pg_schema = schema_postgres(&pg).await;
        assert_eq!(lite_schema, pg_schema, "tables, columns and indexes agree");
    }
    // Every foreign key column is the first column of some index (SQLite catalogue).
    let pool = lite.pool();
    let fks: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) p WHERE m.type = 'table'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(!fks.is_empty());
    for (table, column) in fks {
        let indexed: Vec<(String,)> = sqlx::query_as(
            "SELECT il.name FROM pragma_index_list($1) il, pragma_index_info(il.name) ii \
             WHERE ii.seqno = 0 AND ii.name = $2",
        )
        .bind(&table)
        .bind(&column)
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(
            !indexed.is_empty(),
            "foreign key {table}.{column} has no index"
        );
    }
}

async fn schema_sqlite(db: &Db) -> Vec<String> {
    let pool = db.pool();
    let mut out = Vec::new();
    let cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (t, c) in cols {
        out.push(format!("column {t}.{c}"));
    }
    let idx: Vec<(String, String)> = sqlx::query_as(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (t, i) in idx {
        out.push(format!("index {t}.{i}"));
    }
    out.sort();
    out
}

async fn schema_postgres(db: &Db) -> Vec<String> {
    let pool = db.pool();
    let mut out = Vec::new();
    let cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (t, c) in cols {
        out.push(format!("column {t}.{c}"));
    }
    // Named indexes only: primary keys and UNIQUE constraints are implicit on SQLite too.
    let idx: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (t, i) in idx {
        out.push(format!("index {t}.{i}"));
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_write_transaction_that_read_first_survives_another_writer_committing_meanwhile() {
    let app = TestApp::spawn().await;
    let db = app.services.db.clone();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id LIMIT 2")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    // Another writer tries to commit while this transaction is open (on SQLite it waits for
    // the write lock this transaction took at its start).
    let other = {
        let (db, id) = (db.clone(), ids[1]);
        tokio::spawn(async move {
            let mut t = db.begin().await.unwrap();
            sqlx::query("UPDATE users SET display_name = '另一位' WHERE id = $1")
                .bind(id)
                .execute(&mut *t)
                .await
                .unwrap();
            t.commit().await.unwrap();
        })
    };
    // Give the other writer the chance to go first (a deferred SQLite transaction would then
    // fail below with SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    sqlx::query("UPDATE users SET display_name = '这一位' WHERE id = $1")
        .bind(ids[0])
        .execute(&mut *tx)
        .await
        .expect("the write after the read goes through");
    tx.commit().await.unwrap();
    other.await.expect("the other writer succeeds too");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT display_name FROM users WHERE id IN ($1, $2) ORDER BY id")
            .bind(ids[0])
            .bind(ids[1])
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(names, ["这一位", "另一位"]);
}
