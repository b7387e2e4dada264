//! A real deployment from an empty database: `dengji setup` makes the first national
//! administrator and campaign; campaigns are started, changed and closed on their page.

use axum::http::StatusCode;

use crate::helpers::count;
use crate::helpers::{TestApp, demo_places};
use dengji::domain::Role;

const SETUP: [&str; 18] = [
    "setup",
    "--admin-username",
    "guanli",
    "--admin-name",
    "张管理",
    "--password-stdin",
    "--campaign-name",
    "2018年律师行业党组织和党员基本信息登记核查",
    "--cutoff",
    "2018-07-31",
    "--firm",
    "2018-08-31",
    "--city",
    "2018-09-30",
    "--province",
    "2018-10-31",
    "--national",
    "2018-11-30",
];

#[tokio::test]
async fn setup_on_an_empty_database_makes_the_administrator_and_the_first_campaign() {
    let app = TestApp::empty().await;
    let (ok, out, err) = app.cli_with_input(&SETUP, "Guanli2018x\n").await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("已建立全国管理员账号 guanli"), "{out}");
    assert!(out.contains("已开展登记核查工作"), "{out}");
    // Run again, it refuses and changes nothing.
    let (ok, _, err) = app.cli_with_input(&SETUP, "Guanli2018x\n").await;
    assert!(!ok && err.contains("已初始化过"), "{err}");
    let (ok, out, _) = app.cli(&["campaign", "show"]).await;
    assert!(
        ok && out.contains("2018-07-31") && out.contains("进行中"),
        "{out}"
    );
    // The administrator signs in and sees the campaign on its page.
    let admin = app.login("guanli", "Guanli2018x").await;
    let home = admin.get("/").await;
    assert!(home.body.contains("id=\"campaign-link\""), "{}", home.body);
    let page = admin.get("/campaign").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"judged-at\">2018-07-31<"),
        "{}",
        page.body
    );
    // Then the cities assistant: a province's prefectures listed, then built.
    let js = count(&app, "SELECT id FROM orgs WHERE region_code = '320000'")
        .await
        .to_string();
    let (ok, out, err) = app.cli(&["setup", "cities", "--province", &js]).await;
    assert!(
        ok && out.contains("南京市") && out.contains("320100"),
        "{out}{err}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM orgs WHERE level = 'city'").await,
        0,
        "listing builds nothing"
    );
    let (ok, out, err) = app
        .cli(&[
            "setup",
            "cities",
            "--province",
            &js,
            "--create",
            "--judicial",
            "320500",
        ])
        .await;
    assert!(ok, "{out}{err}");
    let prefectures = count(
        &app,
        "SELECT COUNT(*) FROM divisions WHERE parent_code = '320000' AND level = 2",
    )
    .await;
    assert!(prefectures >= 13, "{prefectures}");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM orgs WHERE level = 'city' AND parent_id = {js}")
        )
        .await,
        prefectures
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM orgs WHERE kind = 'judicial_org' AND region_code = '320500'"
        )
        .await,
        1
    );
    // Half the campaign's dates is refused by the command, naming what is missing.
    let app2 = TestApp::empty().await;
    let (ok, _, err) = app2.cli_with_input(&SETUP[..10], "Guanli2018x\n").await;
    assert!(!ok && err.contains("--firm"), "{err}");
    // Without the administrator's names nothing is opened: the command was given wrongly.
    let (code, _, err) = app2.cli_status(&["setup", "--password-stdin"], "").await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--admin-username"), "{err}");
    // Refused by the records (already set up): 1; the database out of reach: 3.
    let (code, _, err) = app.cli_status(&SETUP, "Guanli2018x\n").await;
    assert_eq!(code, Some(1), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    let (code, _, err) = app
        .cli_status(&["--database-url", &nowhere, "check"], "")
        .await;
    assert_eq!(code, Some(3), "{err}");
}

#[tokio::test]
async fn the_national_administrator_starts_changes_and_closes_campaigns_on_their_page() {
    let app = TestApp::spawn().await;
    let admin = app.login_demo("admin").await;
    // The demo's campaign is open: no second one.
    let r = admin
        .post(
            "/campaign",
            &[
                ("name", "2019年度更新"),
                ("cutoff", "2019-07-31"),
                ("firm", "2019-08-31"),
                ("city", "2019-09-30"),
                ("province", "2019-10-31"),
                ("national", "2019-11-30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("尚未结束"), "{}", r.body);
    // Deadlines out of order are named and nothing changes.
    let r = admin
        .post(
            "/campaign/deadlines",
            &[
                ("firm", "2030-09-30"),
                ("city", "2030-08-31"),
                ("province", "2030-10-31"),
                ("national", "2030-11-30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("逐级递增"), "{}", r.body);
    let r = admin.post("/campaign/close", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Closed: a member can no longer change the form; the record stays readable.
    let p = demo_places(&app).await;
    let member = app.login_demo("dangyuan").await;
    let form = member
        .get(&format!("/members/{}/registration", p.member.0))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let r = member
        .post(
            &format!("/members/{}/registration", p.member.0),
            &[("version", "0"), ("step", "save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("已经结束"), "{}", r.body);
    // A bad date, then a good new campaign.
    let mut fields = vec![
        ("name", "2019年度更新"),
        ("cutoff", "2019-13-01"),
        ("firm", "2019-08-31"),
        ("city", "2019-09-30"),
        ("province", "2019-10-31"),
        ("national", "2019-11-30"),
    ];
    let r = admin.post("/campaign", &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("登记截止基准日"), "{}", r.body);
    assert!(
        r.body.contains("value=\"2019年度更新\""),
        "what was typed is kept"
    );
    fields[1].1 = "2019-07-31";
    let r = admin.post("/campaign", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = admin.get(&r.location().unwrap()).await;
    assert!(page.body.contains("进行中：2019年度更新"), "{}", page.body);
    assert!(
        page.body.contains("已结束（"),
        "the demo's campaign is listed as closed"
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('campaign.new', 'campaign.close')",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(events, 2);
    // Only national administrators run campaigns.
    for who in ["sheng", "shi", "suo"] {
        let c = app.login_demo(who).await;
        assert_eq!(
            c.get("/campaign").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let provincial_admin = app.login_as(Role::Admin, p.province, None).await;
    assert_eq!(
        provincial_admin.get("/campaign").await.status,
        StatusCode::FORBIDDEN
    );
}

/// A law firm credit code (GB 32100 check character) no demo firm has.
fn credit_code(seq: u32) -> String {
    let body = format!("31888888XY{seq:07}");
    let check = dengji::domain::credit_code::check_char(body.as_bytes()).unwrap();
    format!("{body}{check}")
}

fn citizen_id(seq: u32) -> String {
    let body = format!("32010219800101{seq:03}");
    format!(
        "{body}{}",
        dengji::domain::citizen_id::check_char(body.as_bytes())
    )
}

#[tokio::test]
async fn a_province_comes_in_from_its_own_sheets_into_an_empty_deployment() {
    use dengji::service::import::{ImportRequest, Mode};
    let app = TestApp::empty().await;
    let op = dengji::service::Caller::Operator;
    // Run now: its records are filed as of today.
    app.start_campaign(
        "2018年登记核查",
        "2018-07-31",
        &dengji::service::beijing_today().to_string(),
    )
    .await;
    let root =
        dengji::domain::OrgId(count(&app, "SELECT id FROM orgs WHERE parent_id IS NULL").await);
    let js = count(&app, "SELECT id FROM orgs WHERE region_code = '320000'").await;
    let admin = app.login_as(Role::Admin, root, None).await;

    // The cities assistant proposes Jiangsu's prefectures; two are created, 苏州 as the
    // judicial administration's organisation.
    let page = admin.get(&format!("/orgs/{js}/cities")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("value=\"南京市律师行业党委\""),
        "{}",
        page.body
    );
    let r = admin
        .post(
            &format!("/orgs/{js}/cities"),
            &[
                ("create", "320100"),
                ("name_320100", "南京市律师行业党委"),
                ("create", "320500"),
                ("name_320500", "苏州市司法局党组"),
                ("judicial", "320500"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM orgs WHERE level = 'city' AND kind = 'judicial_org'"
        )
        .await,
        1
    );
    // Again: refused, naming the city already there.
    let r = admin
        .post(
            &format!("/orgs/{js}/cities"),
            &[("create", "320100"), ("name_320100", "南京")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("已有地市级党组织"), "{}", r.body);

    let import = |bytes: Vec<u8>| {
        let services = app.services.clone();
        async move {
            services
                .import()
                .run(
                    op,
                    ImportRequest {
                        into: dengji::domain::OrgId(js),
                        file_name: "省里的表.csv",
                        bytes: &bytes,
                        kind: None,
                        mode: Mode::AllOrNothing,
                    },
                    &|_, _| {},
                )
                .await
                .unwrap()
        }
    };
    let issues = |r: &dengji::service::import::Report| {
        r.issues
            .iter()
            .map(|i| format!("{:?} {} {}", i.row, i.rule, i.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The province's firm list, as its office keeps it: no city column, 组织形式 in its own
    // words, saved by Chinese Excel as GB18030 CSV.
    let firms = format!(
        "律师事务所名称,统一社会信用代码,所在行政区划,组织形式,律师人数\n\
         南京甲律师事务所,{},320102,特殊的普通合伙,40\n\
         南京乙律师事务所,{},320104,合伙,12\n\
         苏州丙律师事务所,{},320505,个人,1\n",
        credit_code(1),
        credit_code(2),
        credit_code(3)
    );
    let (gbk, _, _) = encoding_rs::GB18030.encode(&firms);
    let done = import(gbk.into_owned()).await;
    assert_eq!(done.imported, 3, "{}", issues(&done.report));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM firms f JOIN orgs o ON o.id = f.city_org_id WHERE o.name = '苏州市司法局党组'"
        )
        .await,
        1,
        "placed by region"
    );
    // Its organisation list: short kinds, parents by name.
    let orgs = format!(
        "党组织全称,组织类别,上级党组织,所在律师事务所统一社会信用代码\n\
         南京甲律师事务所党支部,支部,南京市律师行业党委,{}\n\
         南京联合党支部,联合支部,南京市律师行业党委,{};{}\n",
        credit_code(1),
        credit_code(2),
        credit_code(3)
    );
    let done = import(orgs.into_bytes()).await;
    // The joint branch names a firm of another city: that row alone is wrong, and this
    // all-or-nothing import stores nothing; the list without it goes in.
    assert_eq!(done.batch_id, None);
    assert_eq!(
        (done.report.valid, done.report.invalid),
        (1, 1),
        "{}",
        issues(&done.report)
    );
    assert!(
        done.report
            .issues
            .iter()
            .any(|i| i.row == Some(3) && i.rule == "FIRM-OTHER-CITY"),
        "{}",
        issues(&done.report)
    );
    // With its 附件3 columns as the province keeps them: they fill the branch's 附件3 draft and
    // its rules run in the dry run.
    let orgs = format!(
        "党组织全称,组织类别,上级党组织,所在律师事务所统一社会信用代码,是否设支委会,党员总数,正式党员数,任期届满日期,组建方式,书记公民身份号码\n\
         南京甲律师事务所党支部,支部,南京市律师行业党委,{},否,9,8,2027年6月30日,单独,{}\n",
        credit_code(1),
        citizen_id(9)
    );
    let done = import(orgs.into_bytes()).await;
    assert_eq!(done.imported, 1, "{}", issues(&done.report));
    let rules: Vec<&str> = done.report.issues.iter().map(|i| i.rule.as_str()).collect();
    assert!(rules.contains(&"ORG-NEEDS-COMMITTEE"), "{rules:?}");
    assert!(rules.contains(&"A3-NOT-KEPT"), "{rules:?}");
    let draft: String = sqlx::query_scalar(
        "SELECT r.data FROM org_registrations r JOIN orgs o ON o.id = r.org_id \
         WHERE o.name = '南京甲律师事务所党支部'",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    let draft: std::collections::BTreeMap<String, String> = serde_json::from_str(&draft).unwrap();
    assert_eq!(draft["has_committee"], "0");
    assert_eq!(draft["reported_full"], "8");
    assert_eq!(draft["term_end"], "2027-06-30");
    assert_eq!(draft["formation"], "single");
    assert!(!draft.values().any(|v| v == &citizen_id(9)));
    // One member list for the whole province: lawyers and staff together, short forms.
    let members = format!(
        "律所统一社会信用代码,姓名,身份证号,民族,学历,手机,人员类别,入党时间,转正时间,执业证号,执业类别,岗位类别,人员身份,组织关系是否在本所\n\
         {f1},张一,{i1},汉,本科,13900000001,正式,2010-07-01,2011-07-01,13201201011234567,专职,,律师,是\n\
         {f1},李二,{i2},回族,硕士,13900000002,正式,2012-07-01,2013-07-01,,,行政,工作人员,是\n\
         {f2},王三,{i3},汉族,大专,13900000003,预备,2018-03-01,,13201201511234568,专职律师,,律师,是\n",
        f1 = credit_code(1),
        f2 = credit_code(2),
        i1 = citizen_id(1),
        i2 = citizen_id(2),
        i3 = citizen_id(3),
    );
    let done = import(members.into_bytes()).await;
    assert_eq!(
        (done.imported, done.report.invalid),
        (3, 0),
        "{}",
        issues(&done.report)
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM members WHERE category = 'staff'"
        )
        .await,
        1
    );
    // Their 组织关系 column prefilled the 摸底核查, to be confirmed by their organisations.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM survey_checks WHERE transferred = 'in' AND import_batch_id IS NOT NULL"
        )
        .await,
        3
    );
    // The campaign runs to submission on that data: every form filed and approved, every
    // 附件3 filed, each level's package submitted and accepted up to the province's.
    app.finish_subtree(dengji::domain::OrgId(js)).await;
    assert_eq!(
        app.package_state(dengji::domain::OrgId(js)).await,
        Some(dengji::domain::PackageState::Submitted)
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM registrations WHERE state = 'approved'"
        )
        .await,
        3
    );
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
}
