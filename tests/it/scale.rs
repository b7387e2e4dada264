//! Deadline-week scale (issue 20): the national name search over its gram index finds exactly
//! what a recount finds and follows every change of a member; node counts come from the
//! tallies; the cockpit of a large city is paged.

use std::collections::HashSet;

use axum::http::StatusCode;
use dengji::authz::Scope;
use dengji::domain::{MemberId, OrgId, TreePath};
use dengji::service::import::Mode;
use dengji::store::members::{self, MemberFilter};
use dengji::store::{check, orgs};

use crate::helpers::files::{FIRM_HEAD, HEAD, ORG_HEAD, code, row, strings, xlsx};
use crate::helpers::{TestApp, demo_places, issues, run};

/// Every member the list shows for `text` under `path`, page by page (asserting no member
/// shows twice).
async fn search(app: &TestApp, path: &TreePath, text: &str) -> Vec<MemberId> {
    let mut conn = app.services.db.acquire().await.unwrap();
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let p = members::list_with_forms(
            &mut conn,
            &Scope::Subtree(path.clone()),
            &MemberFilter {
                name: Some(text.to_owned()),
                page,
                per_page: 40,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        out.extend(p.items.iter().map(|l| l.member.id));
        if !p.has_next {
            break;
        }
        page += 1;
    }
    let distinct: HashSet<MemberId> = out.iter().copied().collect();
    assert_eq!(distinct.len(), out.len(), "{text}: a member listed twice");
    out
}

/// The members under `path` whose name contains `text`, in name order, counted by SQL over
/// the members table alone (no grams).
async fn recount(app: &TestApp, path: &TreePath, text: &str) -> Vec<MemberId> {
    sqlx::query_scalar::<_, i64>(
        "SELECT id FROM members WHERE org_path >= $1 AND org_path < $2 \
         AND name LIKE $3 ORDER BY name, id",
    )
    .bind(path.as_str().to_owned())
    .bind(path.upper_bound())
    .bind(format!("%{text}%"))
    .fetch_all(app.services.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(MemberId)
    .collect()
}

/// A count over the subtree range `$1 .. $2` of `path`.
async fn in_range(app: &TestApp, sql: &'static str, path: &TreePath) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .bind(path.as_str().to_owned())
        .bind(path.upper_bound())
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

async fn assert_invariants(app: &TestApp) {
    let mut conn = app.services.db.acquire().await.unwrap();
    for f in check::run(&mut conn).await.unwrap() {
        assert_eq!(f.violations, 0, "{}", f.name);
    }
}

#[tokio::test]
async fn a_name_search_of_the_nation_or_a_province_finds_what_a_recount_finds_in_name_order() {
    let app = TestApp::with_members(900).await;
    let p = demo_places(&app).await;
    let all = app.all_members().await;
    // Patterns people type: a surname, two characters from inside a name, a whole name, a
    // character no one has, and wildcards (literal).
    let sample = all
        .iter()
        .find(|m| m.name.chars().count() >= 3)
        .expect("a three-character name");
    let chars: Vec<char> = sample.name.chars().collect();
    let inner: String = chars[1..3].iter().collect();
    let texts = [
        "王".to_owned(),
        "李".to_owned(),
        inner,
        sample.name.clone(),
        "龘".to_owned(),
        "%".to_owned(),
        "_".to_owned(),
    ];
    let national = TreePath::root(OrgId(1));
    let province = app.org(p.province).await.path;
    let city = app.org(p.city).await.path;
    let mut found_any = 0;
    for path in [&national, &province, &city] {
        for text in &texts {
            let got = search(&app, path, text).await;
            // Independently of SQL: the names that contain the text, in the subtree.
            let expected: HashSet<MemberId> = all
                .iter()
                .filter(|m| path.contains(&m.org_path) && m.name.contains(text.as_str()))
                .map(|m| m.id)
                .collect();
            assert_eq!(
                got.iter().copied().collect::<HashSet<_>>(),
                expected,
                "{text} under {}",
                path.as_str()
            );
            if !text.contains(['%', '_']) {
                assert_eq!(got, recount(&app, path, text).await, "{text}: name order");
            }
            found_any += got.len();
        }
    }
    assert!(found_any > 20, "the patterns find members: {found_any}");
    assert!(
        !search(&app, &national, "王").await.is_empty(),
        "a surname the demo has"
    );
    assert!(search(&app, &national, "龘").await.is_empty());

    // Four or more digits search licence numbers from the start, within the scope.
    let lawyer = all
        .iter()
        .find(|m| m.licence_no.is_some() && province.contains(&m.org_path))
        .expect("a lawyer of the province");
    let licence = lawyer.licence_no.clone().unwrap();
    for (path, len) in [(&national, 17), (&national, 8), (&province, 6)] {
        let prefix = &licence[..len.min(licence.len())];
        let got: HashSet<MemberId> = search(&app, path, prefix).await.into_iter().collect();
        let expected: HashSet<MemberId> = all
            .iter()
            .filter(|m| {
                path.contains(&m.org_path)
                    && m.licence_no
                        .as_deref()
                        .is_some_and(|l| l.starts_with(prefix))
            })
            .map(|m| m.id)
            .collect();
        assert_eq!(got, expected, "licence {prefix}");
        assert!(got.contains(&lawyer.id));
    }
    let other = app.org(p.other_province).await.path;
    assert!(
        !search(&app, &other, &licence).await.contains(&lawyer.id),
        "a licence search stays in the scope"
    );
}

#[tokio::test]
async fn the_name_index_follows_imports_renames_transfers_and_undo_and_check_sees_damage() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let national = TreePath::root(OrgId(1));
    let province = app.org(p.province).await.path;
    let other = app.org(p.other_province).await.path;
    assert_invariants(&app).await;

    // A member list imported into a firm: its names are found at once.
    let firm = app.firm_of(p.firm_org).await;
    let mut rows: Vec<Vec<String>> = (0..3).map(|s| row(&firm.credit_code, 700 + s)).collect();
    rows[0][1] = "欧阳龘龘".to_owned();
    rows[1][1] = "龘明".to_owned();
    let done = run(&app, p.firm_org, &xlsx(&HEAD, &rows), Mode::AllOrNothing).await;
    let batch = done
        .batch_id
        .unwrap_or_else(|| panic!("{}", issues(&done.report)));
    let found = search(&app, &national, "龘").await;
    assert_eq!(found.len(), 2, "both names with 龘");
    let two = search(&app, &national, "龘龘").await;
    let mut names = Vec::new();
    for id in &two {
        names.push(app.member(*id).await.name);
    }
    assert_eq!(names, vec!["欧阳龘龘".to_owned()]);
    assert_eq!(search(&app, &province, "欧阳龘").await.len(), 1);
    assert_invariants(&app).await;

    // A rename (written directly: no service renames a member yet) and a transfer to another
    // province.
    let id = search(&app, &national, "龘明").await[0];
    sqlx::query("UPDATE members SET name = $1 WHERE id = $2")
        .bind("龘光")
        .bind(id.0)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    assert!(search(&app, &national, "龘明").await.is_empty());
    assert_eq!(search(&app, &national, "龘光").await, vec![id]);
    // Undoing the import takes the names out of the search.
    app.services
        .import()
        .undo(dengji::service::Caller::Operator, batch)
        .await
        .unwrap();
    assert!(search(&app, &national, "龘").await.is_empty());
    assert_invariants(&app).await;

    // A transfer to another province moves the member's index rows with them.
    let moving = app.member(p.member).await;
    let target = app.children_of(p.other_city).await[0];
    let target_firm = app.firm_of(target).await.id;
    app.transfer(moving.id, target_firm).await;
    assert!(
        !search(&app, &province, &moving.name)
            .await
            .contains(&moving.id),
        "moved out"
    );
    assert!(
        search(&app, &other, &moving.name)
            .await
            .contains(&moving.id),
        "moved in"
    );
    assert_invariants(&app).await;

    // `dengji check` sees an extra index row, then a missing one (with the extra row, a
    // missing row keeps the count: the first invariant still sees it).
    let victim = app.all_members().await[0].clone();
    sqlx::query(
        "INSERT INTO member_grams (gram, name, member_id, org_path) VALUES ('鑫鑫', $1, $2, $3)",
    )
    .bind(victim.name.clone())
    .bind(victim.id.0)
    .bind(victim.org_path.as_str().to_owned())
    .execute(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(broken(&app).await, vec!["姓名检索索引不应有多余的行"]);
    let first: String = victim.name.chars().take(1).collect();
    sqlx::query("DELETE FROM member_grams WHERE member_id = $1 AND gram = $2")
        .bind(victim.id.0)
        .bind(first)
        .execute(app.services.db.pool())
        .await
        .unwrap();
    assert_eq!(
        broken(&app).await,
        vec!["姓名检索索引应包含每名党员姓名的每个字和相邻两字"]
    );
}

/// The invariants `dengji check` finds broken.
async fn broken(app: &TestApp) -> Vec<&'static str> {
    let mut conn = app.services.db.acquire().await.unwrap();
    check::run(&mut conn)
        .await
        .unwrap()
        .iter()
        .filter(|f| f.violations > 0)
        .map(|f| f.name)
        .collect()
}

#[tokio::test]
async fn node_counts_from_the_tallies_equal_a_recount_with_stopped_members() {
    let app = TestApp::with_members(400).await;
    let p = demo_places(&app).await;
    // Stop two members' registration (they stay on the lists, so they stay in the counts).
    sqlx::query(
        "UPDATE members SET stopped_on = '2026-11-30', stop_reason = 'left_profession' \
         WHERE id IN (SELECT id FROM members ORDER BY id LIMIT 2)",
    )
    .execute(app.services.db.pool())
    .await
    .unwrap();
    let mut conn = app.services.db.acquire().await.unwrap();
    for org in [OrgId(1), p.province, p.city, p.firm_org] {
        let path = orgs::get(&mut conn, org).await.unwrap().unwrap().path;
        let counts = orgs::subtree_counts(&mut conn, &path).await.unwrap();
        assert_eq!(
            counts.members,
            in_range(
                &app,
                "SELECT COUNT(*) FROM members WHERE org_path >= $1 AND org_path < $2",
                &path
            )
            .await
        );
        assert_eq!(
            counts.firms,
            in_range(
                &app,
                "SELECT COUNT(*) FROM firms WHERE scope_path >= $1 AND scope_path < $2",
                &path
            )
            .await
        );
        assert_eq!(
            counts.orgs,
            in_range(
                &app,
                "SELECT COUNT(*) FROM orgs WHERE path >= $1 AND path < $2 AND dissolved_on IS NULL",
                &path
            )
            .await
        );
    }
    drop(conn);
    assert_invariants(&app).await;
}

#[tokio::test]
async fn a_city_cockpit_shows_a_hundred_children_a_page_with_totals_over_all() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let region = app.org(p.city).await.region_code.unwrap();
    // A registry of 130 firms and their 党支部, as a city imports them.
    let firms: Vec<Vec<String>> = (0..130)
        .map(|i| {
            strings(&[
                &format!("分页{i}律师事务所"),
                &code(5_000 + i),
                &region,
                "合伙所",
                "5",
                "",
            ])
        })
        .collect();
    let done = run(&app, p.city, &xlsx(&FIRM_HEAD, &firms), Mode::AllOrNothing).await;
    assert!(done.batch_id.is_some(), "{}", issues(&done.report));
    let roster: Vec<Vec<String>> = (0..130)
        .map(|i| {
            strings(&[
                &format!("中共分页{i}律师事务所支部委员会"),
                "党支部",
                "",
                "",
                &code(5_000 + i),
                "",
                "",
                "",
            ])
        })
        .collect();
    let done = run(&app, p.city, &xlsx(&ORG_HEAD, &roster), Mode::AllOrNothing).await;
    assert!(done.batch_id.is_some(), "{}", issues(&done.report));
    let children = app.children_of(p.city).await.len();
    assert!(
        (131..=200).contains(&children),
        "{children} children: two pages"
    );

    let c = app.login_demo("shi").await;
    let base = format!("/orgs/{}/cockpit", p.city.0);
    let rows = |body: &str| body.matches("data-status=\"").count();
    let first = c.get(&base).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(rows(&first.body), 100);
    assert!(
        first
            .body
            .contains(&format!("第 1–100 个，共 {children} 个下级")),
        "{}",
        first.body
    );
    assert!(
        first.body.contains(&format!("合计（{children} 个下级）")),
        "totals over every child"
    );
    assert!(first.body.contains(&format!("href=\"{base}?page=2\"")));
    // The last page holds the rest; a page past the end shows the last; nonsense shows the first.
    let pages = children.div_ceil(100);
    let last = c.get(&format!("{base}?page={pages}")).await;
    assert_eq!(rows(&last.body), children - (pages - 1) * 100);
    assert!(!last.body.contains("rel=\"next\""));
    let beyond = c.get(&format!("{base}?page=999")).await;
    assert_eq!(rows(&beyond.body), rows(&last.body));
    let odd = c.get(&format!("{base}?page=abc")).await;
    assert_eq!(rows(&odd.body), 100);
    // Every child is on exactly one page.
    let mut seen = HashSet::new();
    for page in 1..=pages {
        let body = c.get(&format!("{base}?page={page}")).await.body;
        for part in body.split("data-org=\"").skip(1) {
            let id: String = part.chars().take_while(char::is_ascii_digit).collect();
            assert!(seen.insert(id), "a child on two pages");
        }
    }
    assert_eq!(seen.len(), children);
    // The filter travels with the pages.
    let outstanding = c.get(&format!("{base}?show=outstanding")).await;
    assert!(
        outstanding
            .body
            .contains(&format!("href=\"{base}?show=outstanding&#38;page=2\"")),
        "filter kept in the pager: {}",
        outstanding.body
    );
}
