//! 研判: every figure of the page is a recount of the records, every drill-down list is the
//! records behind its figure, ages and 党龄 are judged at the campaign's cut-off, the page is
//! scoped to the reader's subtree, empty nodes show empty states and the report prints on A4.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use dengji::domain::{OrgId, Role};
use dengji::service::import::Mode;
use dengji::store::members::Member;

use crate::helpers::{Book, Client, TestApp, demo_places, issues, row, run, unescape};

/// Whole years from `from` to `to` (both `YYYY-MM-DD`): the birthday not yet reached that
/// year does not count. Written here apart from the server's band limits.
fn years(from: &str, to: &str) -> i32 {
    let p = |s: &str| -> (i32, u32, u32) {
        (
            s[0..4].parse().unwrap(),
            s[5..7].parse().unwrap(),
            s[8..10].parse().unwrap(),
        )
    };
    let (fy, fm, fd) = p(from);
    let (ty, tm, td) = p(to);
    let mut y = ty - fy;
    if (tm, td) < (fm, fd) {
        y -= 1;
    }
    y
}

/// The bucket of each facet a member falls in as of `cutoff`, recounted from the record.
fn buckets_of(m: &Member, cutoff: &str) -> Vec<(&'static str, String)> {
    let age = match years(&m.birth_date, cutoff) {
        ..=30 => "le30",
        31..=40 => "31_40",
        41..=50 => "41_50",
        51..=60 => "51_60",
        _ => "gt60",
    };
    let party = if m.party_status != "full" {
        "probationary"
    } else {
        match m.full_member_on.as_deref().filter(|d| !d.is_empty()) {
            None => "unknown",
            Some(d) => match years(d, cutoff) {
                ..=4 => "lt5",
                5..=9 => "5_10",
                10..=19 => "10_20",
                20..=29 => "20_30",
                _ => "30plus",
            },
        }
    };
    let practice = if m.category != "lawyer" {
        "staff".to_owned()
    } else {
        match m.licence_no.as_deref().filter(|l| !l.is_empty()) {
            None => "unknown".to_owned(),
            Some(l) => {
                let first: i32 = l[5..9].parse().unwrap();
                let cut: i32 = cutoff[0..4].parse().unwrap();
                match cut - first {
                    ..=4 => "lt5",
                    5..=9 => "5_10",
                    10..=19 => "10_20",
                    _ => "20plus",
                }
                .to_owned()
            }
        }
    };
    let education = match m.education.chars().next() {
        Some('1') => "grad",
        Some('2') => "bachelor",
        _ => "below",
    };
    vec![
        ("sex", m.sex.clone()),
        ("age", age.to_owned()),
        (
            "ethnicity",
            if m.ethnicity == "01" {
                "han"
            } else {
                "minority"
            }
            .to_owned(),
        ),
        ("education", education.to_owned()),
        ("party_age", party.to_owned()),
        ("status", m.party_status.clone()),
        ("category", m.category.clone()),
        ("practice", practice),
    ]
}

/// facet → bucket → the members in it, recounted.
type Recount = BTreeMap<&'static str, BTreeMap<String, BTreeSet<i64>>>;

fn recount(members: &[Member], cutoff: &str) -> Recount {
    let mut out: Recount = BTreeMap::new();
    for m in members.iter().filter(|m| m.stopped_on.is_none()) {
        for (facet, bucket) in buckets_of(m, cutoff) {
            out.entry(facet)
                .or_default()
                .entry(bucket)
                .or_default()
                .insert(m.id.0);
        }
        if m.ethnicity != "01" {
            out.entry("nationality")
                .or_default()
                .entry(m.ethnicity.clone())
                .or_default()
                .insert(m.id.0);
        }
    }
    out
}

/// The rows of the page's facet table `facet-{code}` (and the fold after it): the drill-down
/// link's value → the count shown.
fn table_counts(html: &str, code: &str) -> BTreeMap<String, i64> {
    let start = html
        .find(&format!("id=\"facet-{code}\""))
        .unwrap_or_else(|| panic!("table facet-{code}"));
    let rest = &html[start..];
    let end = if code == "nationality" {
        rest.find("</details>")
            .or_else(|| rest.find("</figure>"))
            .unwrap()
    } else {
        rest.find("</table>").unwrap()
    };
    let table = &rest[..end];
    let mut out = BTreeMap::new();
    for part in table.split("<a href=\"").skip(1) {
        let href = unescape(&part[..part.find('"').unwrap()]);
        let value = href.split("value=").nth(1).unwrap().to_owned();
        let n: i64 = part[part.find('>').unwrap() + 1..part.find('<').unwrap()]
            .parse()
            .unwrap();
        out.insert(value, n);
    }
    out
}

/// Every member id of a drill-down list, following its pages.
async fn behind(c: &Client, org: OrgId, facet: &str, value: &str) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    let mut page = 1;
    loop {
        let r = c
            .get(&format!(
                "/orgs/{org}/analysis/members?facet={facet}&value={value}&page={page}"
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{facet}={value}: {}", r.body);
        for part in r.body.split("data-member=\"").skip(1) {
            ids.insert(part[..part.find('"').unwrap()].parse().unwrap());
        }
        assert!(
            !r.body.contains("11010119"),
            "the list shows ID numbers masked"
        );
        if !r.body.contains("id=\"next-page\"") {
            return ids;
        }
        page += 1;
    }
}

async fn cutoff(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT cutoff_date FROM campaigns ORDER BY id DESC LIMIT 1")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

/// Compare every figure of `org`'s page, and the list behind it, with a recount.
async fn assert_page_is_recount(app: &TestApp, c: &Client, org: OrgId, members: &[Member]) {
    let cut = cutoff(app).await;
    let want = recount(members, &cut);
    let r = c.get(&format!("/orgs/{org}/analysis")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let html = &r.body;
    assert!(!html.contains("NaN"));
    let total = members.iter().filter(|m| m.stopped_on.is_none()).count() as i64;
    assert!(
        html.contains(&format!(
            "data-figure=\"党员\"><span class=\"num\">{total}</span>"
        )),
        "total {total}"
    );
    for facet in [
        "sex",
        "age",
        "ethnicity",
        "education",
        "party_age",
        "practice",
        "nationality",
    ] {
        let shown = table_counts(html, facet);
        let expected: BTreeMap<String, i64> = want
            .get(facet)
            .map(|b| b.iter().map(|(k, v)| (k.clone(), v.len() as i64)).collect())
            .unwrap_or_default();
        let nonzero: BTreeMap<String, i64> = shown
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        assert_eq!(nonzero, expected, "facet {facet} of org {org}");
        assert_eq!(
            shown.values().sum::<i64>(),
            if facet == "nationality" {
                expected.values().sum::<i64>()
            } else {
                total
            },
            "{facet} adds up"
        );
        for (value, ids) in want.get(facet).into_iter().flatten() {
            assert_eq!(
                &behind(c, org, facet, value).await,
                ids,
                "the list behind {facet}={value}"
            );
        }
    }
    // The pyramid's bars: age band × sex.
    for (age, ids) in &want["age"] {
        for sex in ["1", "2"] {
            let both: BTreeSet<i64> = ids
                .intersection(want["sex"].get(sex).unwrap_or(&BTreeSet::new()))
                .copied()
                .collect();
            let label = if sex == "1" { "男" } else { "女" };
            let band = dengji::store::analysis::Facet::Age
                .bucket_label(age)
                .unwrap();
            assert!(
                html.contains(&format!(
                    "data-label=\"{band} {label}\" data-value=\"{}\"",
                    both.len()
                )),
                "pyramid {band} {label}"
            );
            assert_eq!(
                behind(c, org, "age_sex", &format!("{age}:{sex}")).await,
                both
            );
        }
    }
}

#[tokio::test]
async fn every_figure_and_every_list_is_a_recount_of_the_records() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let root = app.root().await;
    let national = app.login_as(Role::Clerk, root, None).await;
    let all = app.all_members().await;
    assert_page_is_recount(&app, &national, root, &all).await;
    // A province's page counts its subtree only.
    let province = app.login_demo("sheng").await;
    let mine: Vec<Member> = app.list_members(p.province, None).await;
    assert!(mine.len() < all.len());
    assert_page_is_recount(&app, &province, p.province, &mine).await;

    // The children side by side add up to the node (from the tallies).
    let html = national.get(&format!("/orgs/{root}/analysis")).await.body;
    let table = &html[html.find("id=\"children-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let members_of_children: i64 = table
        .split("<tr data-org=")
        .skip(1)
        .map(|row| {
            let cells: Vec<&str> = row.split("<td class=\"num\">").skip(1).collect();
            cells[0][..cells[0].find('<').unwrap()]
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    let active = all.iter().filter(|m| m.stopped_on.is_none()).count() as i64;
    assert_eq!(members_of_children, active);
    assert!(table.contains(&format!("href=\"/orgs/{}/analysis\"", p.province)));
}

/// An ID number born on `birth` (`YYYYMMDD`) in 110101, serial `seq`.
fn id_born(birth: &str, seq: u32) -> String {
    let body = format!("110101{birth}{seq:03}");
    format!(
        "{body}{}",
        dengji::domain::citizen_id::check_char(body.as_bytes())
    )
}

#[tokio::test]
async fn ages_party_age_and_years_in_practice_are_judged_at_the_cut_off() {
    let app = TestApp::empty().await;
    app.start_campaign("2018年登记核查", "2018-06-30", "").await;
    let root = app.root().await;
    // A province and a city under it, then a firm organisation with its lawyers, from files
    // written the way users write them.
    let city = crate::helpers::make_city(&app, root).await;
    let built = app.firm_org(city).build().await;
    let credit = app.firm_of(built.org).await.credit_code;
    // (birth, 转正日期, 执业证号 first year): each pair either side of a limit.
    let people = [
        ("19870630", "2013-06-30", "2013"), // 31 on the cut-off; 党龄 5; practising 5 years
        ("19870701", "2013-07-01", "2014"), // 30; 党龄 4; 4 years
        ("19570630", "1988-06-30", "1998"), // 61; 党龄 30; 20 years
        ("19570701", "1988-07-01", "1999"), // 60; 党龄 29; 19 years
    ];
    let rows: Vec<Vec<String>> = people
        .iter()
        .enumerate()
        .map(|(i, (birth, full, first))| {
            let mut r = row(&credit, 800 + i as u32);
            r[2] = id_born(birth, 800 + i as u32);
            // Joined a year before 转正.
            let joined: i32 = full[0..4].parse().unwrap();
            r[7] = format!("{}{}", joined - 1, &full[4..]);
            r[8] = (*full).into();
            r[9] = format!("11101{first}11998{:03}", 800 + i);
            r
        })
        .collect();
    let done = run(
        &app,
        built.org,
        &Book::new(rows).bytes(),
        Mode::AllOrNothing,
    )
    .await;
    assert_eq!(done.imported, 4, "{}", issues(&done.report));
    let c = app.login_as(Role::Clerk, city, None).await;
    let html = c.get(&format!("/orgs/{city}/analysis")).await.body;
    let age = table_counts(&html, "age");
    assert_eq!(age["le30"], 1);
    assert_eq!(age["31_40"], 1);
    assert_eq!(age["51_60"], 1);
    assert_eq!(age["gt60"], 1);
    let party = table_counts(&html, "party_age");
    assert_eq!(party["lt5"], 1);
    assert_eq!(party["5_10"], 1);
    assert_eq!(party["20_30"], 1);
    assert_eq!(party["30plus"], 1);
    let practice = table_counts(&html, "practice");
    assert_eq!(practice["lt5"], 1);
    assert_eq!(practice["5_10"], 1);
    assert_eq!(practice["10_20"], 1);
    assert_eq!(practice["20plus"], 1);
    // The same with the recount, list by list, for the city (from the composition tallies)
    // and the firm organisation (from the members' rows).
    let members = app.list_members(city, None).await;
    assert_page_is_recount(&app, &c, city, &members).await;
    assert_page_is_recount(&app, &c, built.org, &members).await;

    // One member stops registering: out of every figure at once (the row triggers).
    let youngest = app.member_licensed("11101201411998801").await.id;
    let r = c
        .post(
            &format!("/members/{}/stop", youngest.0),
            &[
                ("reason", "transferred_out"),
                ("destination", "中共某某区某某街道工作委员会"),
                ("effective_on", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let html = c.get(&format!("/orgs/{city}/analysis")).await.body;
    assert_eq!(table_counts(&html, "age").get("le30"), Some(&0));
    let members = app.list_members(city, None).await;
    assert_page_is_recount(&app, &c, city, &members).await;
    crate::helpers::assert_clean(&app).await;

    // The next campaign, a year later: every band moves to its cut-off.
    let op = dengji::service::Caller::Operator;
    app.services.campaign().close(op).await.unwrap();
    app.start_campaign("2019年登记核查", "2019-06-30", "").await;
    let html = c.get(&format!("/orgs/{city}/analysis")).await.body;
    assert!(html.contains("统计截止日 2019-06-30"));
    let age = table_counts(&html, "age");
    assert_eq!(age["31_40"], 1, "31 then, 32 now");
    assert_eq!(age["gt60"], 2, "60 then, 61 now");
    assert_eq!(
        table_counts(&html, "practice")["10_20"],
        0,
        "19 years then, 20 now"
    );
    assert_page_is_recount(&app, &c, city, &members).await;
    crate::helpers::assert_clean(&app).await;
}

#[tokio::test]
async fn another_subtree_is_not_found_and_an_empty_node_shows_empty_states() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let city = app.login_demo("shi").await;
    for path in [
        format!("/orgs/{}/analysis", p.other_city),
        format!("/orgs/{}/analysis/report", p.other_city),
        format!("/orgs/{}/analysis/members?facet=sex&value=1", p.other_city),
        format!("/orgs/{}/analysis", p.province),
    ] {
        assert_eq!(
            city.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // A link the page never makes selects nothing.
    for q in [
        "facet=sex&value=3",
        "facet=age&value=31-40",
        "facet=name&value=x",
        "facet=nationality&value=01",
        "facet=age_sex&value=le30",
        "",
    ] {
        assert_eq!(
            city.get(&format!("/orgs/{}/analysis/members?{q}", p.city))
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{q}"
        );
    }
    // A member has no 研判.
    let member = app.login_demo("dangyuan").await;
    assert_ne!(
        member
            .get(&format!("/orgs/{}/analysis", p.firm_org))
            .await
            .status,
        StatusCode::OK
    );

    // A node with nobody in it: empty states, no error, no NaN.
    let empty = OrgId(
        crate::helpers::count(
            &app,
            "SELECT MIN(o.id) FROM orgs o WHERE o.level = 'province' AND NOT EXISTS \
             (SELECT 1 FROM members m WHERE substr(m.org_path, 1, length(o.path)) = o.path)",
        )
        .await,
    );
    let national = app.login_as(Role::Clerk, app.root().await, None).await;
    let r = national.get(&format!("/orgs/{empty}/analysis")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"analysis-empty\""));
    assert!(r.body.contains("暂无数据"));
    assert!(!r.body.contains("NaN"));
    assert!(r.body.contains("没有此类律所"));
}

#[tokio::test]
async fn the_report_prints_on_a4_with_charts_and_a_blank_opinion() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("sheng").await;
    let r = c
        .get(&format!("/orgs/{}/analysis/report", p.province))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"report-cover\""));
    assert!(r.body.contains("分析意见"));
    let dir = tempfile::tempdir().unwrap();
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.css")).unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(
        &page,
        r.body.replace(
            "<link rel=\"stylesheet\" href=\"/static/app.css\">",
            &format!("<style>{css}</style>"),
        ),
    )
    .unwrap();
    let (pages, info, text) = crate::helpers::print_to_pdf(dir.path(), &page);
    assert!(pages >= 2, "a cover and the figures: {info}");
    assert!(info.contains("(A4)"), "A4 paper: {info}");
    assert!(text.contains("研判报告"), "{text}");
    assert!(text.contains("年龄与性别"), "chart titles are text: {text}");
    assert!(text.contains("30岁及以下"), "chart labels are text");
    assert!(text.contains("分析意见"));
    assert!(!text.contains("退出登录"), "no navigation on paper");
}

#[tokio::test]
async fn the_figures_export_one_sheet_per_section_with_the_page_s_numbers() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let c = app.login_demo("sheng").await;
    let html = c.get(&format!("/orgs/{}/analysis", p.province)).await.body;
    let (status, _, bytes) = c
        .get_bytes(&format!("/orgs/{}/analysis.xlsx", p.province))
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("analysis.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let book = crate::export::read_xlsx(&file);
    let sheets: Vec<&String> = book.as_object().unwrap().keys().collect();
    for name in [
        "队伍构成",
        "少数民族",
        "组织覆盖",
        "进度与组织关系",
        "下级对比",
    ] {
        assert!(sheets.iter().any(|s| *s == name), "{name} in {sheets:?}");
    }
    let rows: Vec<Vec<String>> = serde_json::from_value(book["队伍构成"]["rows"].clone()).unwrap();
    let age = table_counts(&html, "age");
    for (code, label) in dengji::store::analysis::Facet::Age.buckets() {
        let row = rows
            .iter()
            .find(|r| r.first().map(String::as_str) == Some(*label))
            .unwrap_or_else(|| panic!("{label} in the sheet"));
        assert_eq!(row[1], age[*code].to_string(), "{label}");
    }
    assert_eq!(book["队伍构成"]["paper"], 9, "A4");
    assert_eq!(
        app.audit("export.analysis").await.len(),
        1,
        "the export is audited"
    );
    let member = app.login_demo("dangyuan").await;
    let (status, _, _) = member
        .get_bytes(&format!("/orgs/{}/analysis.xlsx", p.province))
        .await;
    assert_ne!(status, StatusCode::OK);

    // A 分类处理 case opened in the province: counted by its category, open.
    let before = table_counts_of(&html, "cases-table");
    app.services
        .cases()
        .open(
            dengji::service::Caller::Operator,
            p.member,
            "4",
            "离开执业所六个月以上，组织关系未转出",
        )
        .await
        .unwrap();
    let html = c.get(&format!("/orgs/{}/analysis", p.province)).await.body;
    let after = table_counts_of(&html, "cases-table");
    let label = after
        .keys()
        .find(|k| k.starts_with("第4类"))
        .unwrap()
        .clone();
    assert_eq!(after[&label], before[&label] + 1);
}

#[tokio::test]
async fn a_firm_with_three_full_members_and_no_organisation_is_a_problem_listed() {
    use crate::helpers::files::{FIRM_HEAD, code, strings, xlsx};
    let app = TestApp::empty().await;
    app.start_campaign("2018年登记核查", "2018-06-30", "").await;
    let root = app.root().await;
    let city = crate::helpers::make_city(&app, root).await;
    let region = app.org(city).await.region_code.unwrap();
    // Two firms in the registry, neither with an organisation; three 正式党员 in one, two in
    // the other (the rule: three 正式党员 should form a 党支部).
    for (seq, name) in [(9501, "三人律师事务所"), (9502, "两人律师事务所")] {
        let firms = xlsx(
            &FIRM_HEAD,
            &[strings(&[name, &code(seq), &region, "合伙所", "8", ""])],
        );
        let done = run(&app, city, &firms, Mode::AllOrNothing).await;
        assert!(done.batch_id.is_some(), "{}", issues(&done.report));
    }
    let rows: Vec<Vec<String>> = (0..5)
        .map(|i| row(&code(if i < 3 { 9501 } else { 9502 }), 850 + i))
        .collect();
    let done = run(&app, city, &Book::new(rows).bytes(), Mode::AllOrNothing).await;
    assert_eq!(done.imported, 5, "{}", issues(&done.report));
    let c = app.login_as(Role::Clerk, city, None).await;
    let html = c.get(&format!("/orgs/{city}/analysis")).await.body;
    let listed = &html[html.find("id=\"should-organise\"").unwrap()..];
    let listed = &listed[..listed.find("</table>").unwrap()];
    assert!(listed.contains("三人律师事务所"), "{listed}");
    assert!(listed.contains("未建立党组织"));
    assert!(!listed.contains("两人律师事务所"));
    assert!(html.contains("正式党员3名以上但未单独建立党组织的律所（1 家）"));
    let coverage = table_counts_of(&html, "coverage-table");
    assert_eq!(coverage.get("有党员但未建立或纳入党组织的律所"), Some(&2));
}

/// The counts of a plain table of the page by row label.
fn table_counts_of(html: &str, id: &str) -> BTreeMap<String, i64> {
    let t = &html[html.find(&format!("id=\"{id}\"")).unwrap()..];
    let t = &t[..t.find("</table>").unwrap()];
    t.split("<tr data-label=\"")
        .skip(1)
        .map(|row| {
            let label = row[..row.find('"').unwrap()].to_owned();
            let cell = row.split("<td class=\"num\">").nth(1).unwrap();
            let cell = cell
                .strip_prefix("<a href=\"")
                .map_or(cell, |c| &c[c.find('>').unwrap() + 1..]);
            (label, cell[..cell.find('<').unwrap()].parse().unwrap())
        })
        .collect()
}
