//! 附件3: every organisation files its own form; counts come from the member records and the
//! party's organisation rules show as warnings.

use axum::http::StatusCode;

use crate::helpers::{TestApp, count, demo_places};

fn good(total: i64) -> Vec<(String, String)> {
    [
        ("version", "0".to_owned()),
        ("f_org_full_name", "中共测试律师事务所支部委员会".to_owned()),
        ("f_org_kind", "branch".to_owned()),
        ("f_formation", "single".to_owned()),
        ("f_formed_on", "2015-03-01".to_owned()),
        ("f_approval_no", "律党发〔2015〕12号".to_owned()),
        ("f_approved_by", "中共测试市律师行业委员会".to_owned()),
        ("f_org_region", "110101".to_owned()),
        ("f_secretary_name", "王强".to_owned()),
        ("f_secretary_is_lawyer", "1".to_owned()),
        ("f_secretary_is_head", "1".to_owned()),
        ("f_has_committee", "1".to_owned()),
        ("f_term_start", "2024-03-01".to_owned()),
        ("f_term_end", "2027-03-01".to_owned()),
        ("f_reported_total", total.to_string()),
        ("f_contact_name", "李明".to_owned()),
        ("f_contact_phone", "010-12345678".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn with(base: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    v.extend(
        changes
            .iter()
            .map(|(k, x)| ((*k).to_owned(), (*x).to_owned())),
    );
    v
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
}

#[tokio::test]
async fn a_firm_organisation_files_its_form_with_derived_counts_and_rule_warnings() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (total, full): (i64, i64) = {
        use sqlx::Row;
        let r = sqlx::query(
            "SELECT COUNT(*) AS t, COUNT(CASE WHEN party_status = 'full' THEN 1 END) AS f FROM members WHERE org_id = $1",
        )
        .bind(p.firm_org.0)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
        (r.try_get("t").unwrap(), r.try_get("f").unwrap())
    };
    let clerk = app.login_demo("suo").await;
    let path = format!("/orgs/{}/a3", p.firm_org.0);
    let page = clerk.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("附件3") && page.body.contains("党组织基本信息登记表"));
    assert!(
        page.body.contains(&format!("id=\"d-total\">{total}<")),
        "derived count shown"
    );
    assert!(page.body.contains("name=\"f_org_full_name\""));

    // Errors block the save and are named; nothing stored.
    let bad = with(
        &good(total),
        &[
            ("f_term_end", "2020-01-01"),
            ("f_formed_on", "2099-01-01"),
            ("f_org_region", "12"),
        ],
    );
    let r = clerk.post(&path, &pairs(&bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("本届任期届满日期：应晚于任期起始日期"),
        "{}",
        r.body
    );
    assert!(r.body.contains("成立（批准建立）日期：不能晚于判断日"));
    assert!(
        r.body
            .contains("党组织所在行政区划：“12”不是有效的6位行政区划代码")
    );
    let n: i64 = count(&app, "SELECT COUNT(*) FROM org_registrations").await;
    assert_eq!(n, 0);

    // Warnings do not block: a reported total that disagrees, a committee missing.
    let warned = with(&good(total + 2), &[("f_has_committee", "0")]);
    let r = clerk.post(&path, &pairs(&warned)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = clerk.get(&format!("{path}?saved=1")).await;
    assert!(page.body.contains("已保存"));
    assert!(
        page.body
            .contains(&format!("填报 {} 人，党员登记记录为 {total} 人", total + 2)),
        "{}",
        page.body
    );
    if full >= 7 {
        assert!(page.body.contains("应设立支部委员会"));
    }
    // A stale version is refused.
    let r = clerk.post(&path, &pairs(&good(total))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("已被他人修改并保存"));
    let r = clerk
        .post(&path, &pairs(&with(&good(total), &[("version", "1")])))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn city_form_lists_firms_that_should_have_their_own_organisation() {
    let app = TestApp::with_members(2000).await;
    // Find a city node that directly covers a firm with 3+ full members of its own.
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT f.city_org_id, f.name FROM firms f JOIN members m ON m.firm_id = f.id \
         WHERE f.org_id IS NULL AND m.party_status = 'full' AND m.org_id = f.city_org_id \
         GROUP BY f.city_org_id, f.id, f.name HAVING COUNT(*) >= 3 LIMIT 1",
    )
    .fetch_optional(app.services.db.pool())
    .await
    .unwrap();
    let (city, firm) = match row {
        Some(found) => found,
        None => {
            // Small demos give firms with 3+ members their own organisation; add three full
            // members to a firm that has none, so its city node manages them directly.
            let (city, firm_id, firm): (i64, i64, String) = sqlx::query_as(
                "SELECT city_org_id, id, name FROM firms WHERE org_id IS NULL ORDER BY id LIMIT 1",
            )
            .fetch_one(app.services.db.pool())
            .await
            .unwrap();
            for seq in 0..3u32 {
                app.services
                    .membership()
                    .add(
                        dengji::service::Caller::Operator,
                        dengji::service::membership::NewMemberInput {
                            name: format!("测试{seq}"),
                            citizen_id: crate::helpers::fresh_id(60 + seq),
                            category: "staff".into(),
                            firm_id: Some(dengji::domain::FirmId(firm_id)),
                            mobile: "13912345678".into(),
                            ethnicity: "01".into(),
                            education: "21".into(),
                            party_status: "full".into(),
                            joined_on: "2000-07-01".into(),
                            full_member_on: "2001-07-01".into(),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
            }
            (city, firm)
        }
    };
    let admin = app.login_demo("admin").await;
    let page = admin.get(&format!("/orgs/{city}/a3")).await;
    assert!(
        page.body.contains(&format!("{firm}：有正式党员")),
        "{}",
        page.body
    );
    assert!(page.body.contains("应单独建立党组织"));
}

#[tokio::test]
async fn the_registration_form_prints_on_a4_with_its_title_and_signature_lines() {
    // Print the member form to PDF in headless Chromium and read the text back.
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("dangyuan").await;
    let html = c
        .get(&format!("/members/{}/registration", p.member.0))
        .await
        .body;
    let css = c.get("/static/app.css").await.body;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("form.html");
    std::fs::write(
        &page,
        html.replace(
            "<link rel=\"stylesheet\" href=\"/static/app.css\">",
            &format!("<style>{css}</style>"),
        ),
    )
    .unwrap();
    let (pages, info, text) = crate::helpers::print_to_pdf(dir.path(), &page);
    assert!((1..=4).contains(&pages), "printed pages: {info}");
    assert!(info.contains("(A4)"), "A4 paper: {info}");
    assert!(text.contains("基本信息登记表"), "{text}");
    assert!(text.contains("本人签字"), "signature line printed: {text}");
    assert!(text.contains("党组织审核意见"), "stamp block printed");
    assert!(!text.contains("退出登录"), "no navigation on paper");
}

#[tokio::test]
async fn the_committee_rule_counts_members_whose_membership_is_here() {
    use dengji::service::Caller;
    use dengji::service::import::{ImportRequest, Mode};
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let pool = app.services.db.pool().clone();
    let own: String = app.firm_of(p.firm_org).await.credit_code;
    // Eight more 正式党员 in the firm organisation.
    let rows = (701..=708).map(|s| crate::helpers::row(&own, s)).collect();
    app.services
        .import()
        .run(
            Caller::Operator,
            ImportRequest {
                into: p.firm_org,
                file_name: "名册.xlsx",
                bytes: &crate::helpers::Book::new(rows).bytes(),
                kind: None,
                mode: Mode::AllOrNothing,
            },
            &|_, _| {},
        )
        .await
        .unwrap();
    let full: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, org_path FROM members WHERE org_id = $1 AND party_status = 'full' ORDER BY id",
    )
    .bind(p.firm_org.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    let campaign: i64 = sqlx::query_scalar("SELECT MAX(id) FROM campaigns")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The survey found all but six of them with their 组织关系 elsewhere (未转入).
    let mark = |ids: Vec<(i64, String)>| {
        let pool = pool.clone();
        async move {
            for (id, path) in ids {
                sqlx::query(
                    "INSERT INTO survey_checks (campaign_id, member_id, org_path, basic_ok, transfer_ok, \
                     dues_ok, life_ok, transferred, case_code, updated_at) \
                     VALUES ($1, $2, $3, 1, 1, 1, 1, 'not_in', '1', 0)",
                )
                .bind(campaign)
                .bind(id)
                .bind(path)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
    };
    mark(full[6..].to_vec()).await;
    let clerk = app.login_demo("suo").await;
    let path = format!("/orgs/{}/a3", p.firm_org.0);
    let form = super::org_registration::with(&good(0), &[("f_has_committee", "0")]);
    let r = clerk.post(&path, &pairs(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = clerk.get(&path).await;
    assert!(
        !page.body.contains("（7人以上），应设立支部委员会"),
        "six are here: {}",
        page.body
    );
    // One more found here: seven, and both numbers are shown.
    sqlx::query("DELETE FROM survey_checks WHERE member_id = $1")
        .bind(full[6].0)
        .execute(&pool)
        .await
        .unwrap();
    let page = clerk.get(&path).await;
    assert!(
        page.body.contains(&format!(
            "组织关系在本组织的正式党员 7 人（登记在本组织的正式党员 {} 人）",
            full.len()
        )),
        "{}",
        page.body
    );
}
