//! Reading from a real PostgreSQL streaming replica (issue 20 item 3). Needs a primary and a
//! replica of it (`pg_basebackup -R`): `scripts/replica-test.sh` makes both on loopback and
//! runs this test with `DENGJI_TEST_PG_URL` (the primary) and `DENGJI_TEST_REPLICA_URL`
//! (the replica's server, superuser). With replay paused on the replica, another user's list
//! shows the old data while the user who wrote sees their write.

use axum::http::StatusCode;

use crate::helpers::*;
use dengji::service::{Limits, Services};
use dengji::store::Db;
use dengji::web::{AppState, router};

/// Ask until `done` holds (a bounded number of tries, not a time limit on the test).
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
#[ignore = "needs a primary and a streaming replica: scripts/replica-test.sh"]
async fn lists_read_from_the_replica_and_a_users_own_writes_from_the_primary() {
    let replica_server = std::env::var("DENGJI_TEST_REPLICA_URL").expect(
        "DENGJI_TEST_REPLICA_URL: the replica's server, e.g. postgres://postgres@127.0.0.1:5492",
    );
    assert_eq!(backend(), dengji::store::Backend::Postgres);
    let mut app = TestApp::spawn().await;
    let db_name = app.url.rsplit('/').next().unwrap().to_owned();
    let replica_url = format!("{replica_server}/{db_name}");
    let admin = sqlx::PgPool::connect(&format!("{replica_server}/postgres"))
        .await
        .expect("the replica answers");
    let replica = sqlx::PgPool::connect(&replica_url).await;
    let replica = match replica {
        Ok(p) => p,
        Err(_) => {
            // The new database reaches the replica with the next WAL records.
            let mut found = None;
            for _ in 0..300 {
                if let Ok(p) = sqlx::PgPool::connect(&replica_url).await {
                    found = Some(p);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            found.expect("the test database reached the replica")
        }
    };
    let members = "SELECT COUNT(*) FROM members";
    let on_primary = count(&app, members).await;
    eventually("the replica caught up with the demo", || async {
        sqlx::query_scalar::<_, i64>(members)
            .fetch_one(&replica)
            .await
            .is_ok_and(|n| n == on_primary)
    })
    .await;

    // The app as `dengji serve --replica-url` runs it.
    let mut db = Db::connect(&app.url).await.unwrap();
    db.attach_replicas(std::slice::from_ref(&replica_url))
        .await
        .expect("replica attached");
    assert_eq!(db.replica_count(), 1);
    app.services = Services::new(db, test_keys(), 12, Limits::default());
    app.router = router(AppState {
        services: app.services.clone(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
    });

    let p = demo_places(&app).await;
    let firm = app.firm_of(p.firm_org).await;
    let shi = app.login_demo("shi").await;
    let sheng = app.login_demo("sheng").await;

    // Replay paused: what the primary writes now does not reach the replica.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&admin)
        .await
        .unwrap();
    let r = shi
        .post(
            &format!("/firms/{}/edit", firm.id.0),
            &[
                ("name", "副本测试律师事务所"),
                ("credit_code", &firm.credit_code),
                ("region_code", &firm.region_code),
                ("form", &firm.form),
                ("lawyer_count", &firm.lawyer_count.to_string()),
                ("effective_on", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let fresh = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dengji_fresh="))
        .expect("the write sends the writer's reads to the primary")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut writer = shi.clone();
    writer.cookie = Some(format!("{}; {fresh}", shi.cookie.clone().unwrap()));

    // The writer's list shows the new name (read from the primary) ...
    assert!(listed(&writer, "副本测试律师事务所").await);
    assert!(!listed(&writer, &firm.name).await);
    // ... another user's list is read from the replica, which has not replayed it yet ...
    assert!(!listed(&sheng, "副本测试律师事务所").await);
    assert!(
        listed(&sheng, &firm.name).await,
        "the old name, from the replica"
    );
    // ... while one record's own page reads the primary.
    let page = sheng.get(&format!("/firms/{}", firm.id.0)).await;
    assert!(page.body.contains("副本测试律师事务所"), "{}", page.body);

    // Replay resumed, everyone's list catches up.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&admin)
        .await
        .unwrap();
    eventually("the replica replayed the rename", || {
        listed(&sheng, "副本测试律师事务所")
    })
    .await;
}

/// Whether the firm list of `c`'s scope, filtered by `name`, lists a firm of that name (a
/// row's link, not the search box that repeats the filter).
async fn listed(c: &Client, name: &str) -> bool {
    let page = c.get(&format!("/firms?name={}", urlencode(name))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body.contains(&format!("\">{name}</a></td>"))
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}
