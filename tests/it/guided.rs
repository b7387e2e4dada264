//! Guided work: home pages that list each role's tasks, the member list by form state, the
//! cockpit's totals, filters and export, and 催办 into the inbox.

use axum::http::StatusCode;

use crate::helpers::{TestApp, count, demo_places, python};
use dengji::domain::{MemberId, OrgId, Role};
use dengji::service::Caller;

const OP: Caller<'static> = Caller::Operator;

/// The table row of `/members` for one member (from its link to the closing tag).
fn member_row(html: &str, member: MemberId) -> Option<&str> {
    let start = html.find(&format!("<a href=\"/members/{}\">", member.0))?;
    let end = html[start..]
        .find("</tr>")
        .map_or(html.len(), |e| start + e);
    Some(&html[start..end])
}

/// The cockpit row of a child.
fn cockpit_row(html: &str, child: OrgId) -> Option<&str> {
    let start = html.find(&format!("data-org=\"{}\"", child.0))?;
    let end = html[start..]
        .find("</tr>")
        .map_or(html.len(), |e| start + e);
    Some(&html[start..end])
}

fn nums(row: &str) -> Vec<i64> {
    row.split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().trim().parse().unwrap())
        .collect()
}

async fn reminders_of(app: &TestApp, username: &str) -> i64 {
    let user = app.user(username).await;
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM notifications WHERE user_id = {} AND kind = 'reminder'",
            user.id.0
        ),
    )
    .await
}

#[tokio::test]
async fn the_member_list_shows_each_form_state_and_filters_by_it() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let lawyers = app.registrable_lawyers_at(p.firm_org).await;
    let (submitted, approved, untouched) = (lawyers[0], lawyers[1], lawyers[2]);
    assert!(app.file_member(submitted, None).await);
    assert!(app.file_member(approved, None).await);
    app.services
        .review()
        .approve(OP, &[approved])
        .await
        .unwrap();
    let clerk = app.login_demo("suo").await;
    let under = format!("/members?under={}", p.firm_org.0);
    let all = clerk.get(&format!("{under}&page=1")).await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("<th>登记表</th>"), "state column");
    let state_of = |html: &str, m: MemberId| {
        let row = member_row(html, m).unwrap_or_else(|| panic!("row of {m:?}"));
        row.split("<td class=\"form-state\">")
            .nth(1)
            .and_then(|c| c.split('<').next())
            .unwrap()
            .to_owned()
    };
    // Every member of the firm fits one page of the demo; look each one up by filter instead
    // of relying on the first page's order.
    let pending = clerk.get(&format!("{under}&form=submitted")).await;
    assert_eq!(state_of(&pending.body, submitted), "待审核");
    assert!(member_row(&pending.body, approved).is_none());
    assert!(member_row(&pending.body, untouched).is_none());
    let passed = clerk.get(&format!("{under}&form=approved")).await;
    assert_eq!(state_of(&passed.body, approved), "已通过");
    assert!(member_row(&passed.body, submitted).is_none());
    let not_filed = clerk
        .get(&format!(
            "{under}&form=none&name={}",
            app.member(untouched).await.name
        ))
        .await;
    assert_eq!(state_of(&not_filed.body, untouched), "未填报");
    assert!(member_row(&not_filed.body, submitted).is_none());
    assert!(
        not_filed.body.contains("selected>未填报"),
        "the filter stays chosen"
    );
    // An unknown state is ignored, not an error.
    let odd = clerk.get(&format!("{under}&form=bogus")).await;
    assert_eq!(odd.status, StatusCode::OK);
}

#[tokio::test]
async fn a_firm_clerk_reminds_unsubmitted_members_once_a_day_and_it_is_logged() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("suo").await;
    let page = clerk.get(&format!("/members?under={}", p.firm_org.0)).await;
    assert!(page.body.contains("id=\"remind-members\""), "催办 button");
    assert_eq!(reminders_of(&app, "dangyuan").await, 0);
    let r = clerk
        .post(
            &format!("/orgs/{}/remind/members", p.firm_org.0),
            &[("back", "members")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let back = r.location().unwrap();
    let shown = clerk.get(&back).await;
    let members = app.members_of(p.firm_org).await.len();
    let reached = crate::helpers::between(&shown.body, "id=\"reminded\" role=\"status\">");
    assert!(
        reached.starts_with(&format!("已催办 {members} 个对象，发送站内提醒 1 条")),
        "{reached}"
    );
    // Members without an account are named as such, to be told another way.
    assert!(
        reached.contains(&format!("其中 {} 人尚未激活账号", members - 1)),
        "{reached}"
    );
    assert_eq!(reminders_of(&app, "dangyuan").await, 1);
    let member = app.login_demo("dangyuan").await;
    let inbox = member.get("/inbox").await;
    assert!(
        inbox.body.contains("催办：请尽快填写并提交"),
        "{}",
        inbox.body
    );
    // The same day again: logged, but nobody is reminded twice.
    let again = clerk
        .post(
            &format!("/orgs/{}/remind/members", p.firm_org.0),
            &[("back", "members")],
        )
        .await;
    assert!(again.location().unwrap().contains("sent=0"));
    assert_eq!(reminders_of(&app, "dangyuan").await, 1);
    assert_eq!(app.audit("remind.members").await.len(), 2);
    // A member whose form is in gets no reminder.
    assert!(app.file_member(p.member, None).await);
    sqlx::query("DELETE FROM notifications WHERE kind = 'reminder'")
        .execute(app.services.db.pool())
        .await
        .unwrap();
    clerk
        .post(
            &format!("/orgs/{}/remind/members", p.firm_org.0),
            &[("back", "members")],
        )
        .await;
    assert_eq!(reminders_of(&app, "dangyuan").await, 0);
    // Outside the subtree the node does not exist; a member may not remind at all.
    let outsider = app.login_as(Role::Clerk, p.other_city, None).await;
    let r = outsider
        .post(&format!("/orgs/{}/remind/members", p.firm_org.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = member
        .post(&format!("/orgs/{}/remind/members", p.firm_org.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.audit("remind.members").await.len(), 3);
}

#[tokio::test]
async fn the_cockpit_totals_every_child_filters_sorts_and_exports() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    // A child with nobody in it reads —, not 100 %.
    let empty = app.firm_org(p.city).build().await;
    let lawyers = app.registrable_lawyers_at(p.firm_org).await;
    assert!(app.file_member(lawyers[0], None).await);
    assert!(app.file_member(lawyers[1], None).await);
    app.services
        .review()
        .approve(OP, &[lawyers[1]])
        .await
        .unwrap();
    let city = app.login_demo("shi").await;
    let page = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    let empty_row = cockpit_row(&page.body, empty.org).expect("the empty child");
    assert!(
        empty_row.contains("<span class=\"pct-num\">—</span>"),
        "{empty_row}"
    );
    let firm_row = cockpit_row(&page.body, p.firm_org).unwrap();
    let members = app.members_of(p.firm_org).await.len() as i64;
    assert!(
        firm_row.contains(&format!(
            "<span class=\"pct-num\">{}%</span>",
            100 / members
        )),
        "{firm_row}"
    );
    assert!(
        firm_row.contains("还有 "),
        "days left per child: {firm_row}"
    );
    // The totals row is the sum of the rows.
    let children = app.children_of(p.city).await;
    let mut sums = vec![0; 6];
    for c in &children {
        for (s, n) in sums
            .iter_mut()
            .zip(nums(cockpit_row(&page.body, *c).unwrap()))
        {
            *s += n;
        }
    }
    let totals = &page.body[page.body.find("id=\"cockpit-totals\"").unwrap()..];
    let totals = &totals[..totals.find("</tr>").unwrap()];
    let total_nums: Vec<i64> = totals
        .split("<th class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(total_nums, sums, "{totals}");
    assert!(totals.contains(&format!("合计（{} 个下级）", children.len())));
    // Filters keep only the children in that state.
    let pending = city
        .get(&format!("/orgs/{}/cockpit?show=pending", p.city.0))
        .await;
    assert!(cockpit_row(&pending.body, p.firm_org).is_some());
    assert!(cockpit_row(&pending.body, empty.org).is_none());
    assert!(!pending.body.contains("data-status=\"not_started\""));
    let not_started = city
        .get(&format!("/orgs/{}/cockpit?show=not_started", p.city.0))
        .await;
    assert!(cockpit_row(&not_started.body, empty.org).is_some());
    assert!(cockpit_row(&not_started.body, p.firm_org).is_none());
    // Least complete first: the empty child (—) comes before the one with an approval.
    let sorted = city
        .get(&format!("/orgs/{}/cockpit?sort=completion", p.city.0))
        .await;
    let at = |id: OrgId| sorted.body.find(&format!("data-org=\"{}\"", id.0)).unwrap();
    assert!(at(empty.org) < at(p.firm_org));
    // The export is a sheet with a row per child and the totals, read back independently.
    let (status, disposition, bytes) = city
        .get_bytes(&format!("/orgs/{}/cockpit.xlsx", p.city.0))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.contains(".xlsx"), "{disposition}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cockpit.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let out = python(
        "import sys, openpyxl\n\
         ws = openpyxl.load_workbook(sys.argv[1]).active\n\
         for row in ws.iter_rows(min_row=3, values_only=True):\n\
         \x20   print('|'.join('' if v is None else str(v) for v in row))",
        &[file.as_os_str()],
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("下级组织|状态|截止日期|剩余天数|党员"),
        "{text}"
    );
    assert_eq!(lines.len(), children.len() + 2, "{text}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("合计（{} 个下级）", children.len())),
        "{last}"
    );
    assert!(last.contains(&format!("|{}|", sums[0])), "{last}");
    let empty_name = app.org(empty.org).await.name;
    assert!(
        text.lines()
            .any(|l| l.starts_with(&empty_name) && l.ends_with("|—")),
        "{text}"
    );
    assert_eq!(app.audit("export.cockpit").await.len(), 1);
}

#[tokio::test]
async fn the_city_reminds_a_child_or_all_that_have_not_handed_in() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let city = app.login_demo("shi").await;
    let page = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    assert!(page.body.contains("id=\"remind-all\""), "bulk 催办");
    let one = p.firm_org.0.to_string();
    let r = city
        .post(
            &format!("/orgs/{}/remind/children", p.city.0),
            &[("back", "cockpit"), ("child", &one)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().unwrap().contains("reminded=1"));
    assert_eq!(reminders_of(&app, "suo").await, 1);
    assert_eq!(reminders_of(&app, "suo_shenhe").await, 1);
    let clerk = app.login_demo("suo").await;
    let inbox = clerk.get("/inbox").await;
    assert!(inbox.body.contains("催办：请于"), "{}", inbox.body);
    // Once the firm has handed in, it is not reminded and its row has no button.
    app.finish_own(p.firm_org).await;
    app.submit_package(p.firm_org).await;
    let r = city
        .post(
            &format!("/orgs/{}/remind/children", p.city.0),
            &[("back", "cockpit"), ("child", &one)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("该组织已报送，无需催办"), "{}", r.body);
    let all = city
        .post(
            &format!("/orgs/{}/remind/children", p.city.0),
            &[("back", "cockpit")],
        )
        .await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    let outstanding = app.children_of(p.city).await.len() - 1;
    assert!(
        all.location()
            .unwrap()
            .contains(&format!("reminded={outstanding}&")),
        "{:?}",
        all.location()
    );
    assert_eq!(reminders_of(&app, "suo").await, 1, "handed in: not again");
    // A child of another city is not one of ours.
    let other_child = app.children_of(p.other_city).await[0].0.to_string();
    let r = city
        .post(
            &format!("/orgs/{}/remind/children", p.city.0),
            &[("child", &other_child)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.audit("remind.children").await.len(), 2);
}

#[tokio::test]
async fn the_members_home_page_follows_their_form_through_the_review() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.login_demo("dangyuan").await;
    let home = member.get("/").await;
    assert!(
        home.body.contains("id=\"my-state\">未填写<"),
        "{}",
        home.body
    );
    assert!(home.body.contains(">填写登记表</a>"));
    let firm_deadline = (dengji::service::beijing_today() + time::Duration::days(30)).to_string();
    assert!(
        home.body
            .contains(&format!("id=\"my-deadline\">{firm_deadline}<"))
    );
    assert!(home.body.contains("还需填写或更正"), "what is missing");
    assert!(app.file_member(p.member, None).await);
    let home = member.get("/").await;
    assert!(home.body.contains("id=\"my-state\">已提交，待审核<"));
    assert!(!home.body.contains("id=\"my-form-download\""));
    // Returned: the reason and the way back to the form.
    let reviewer = app.login_demo("suo_shenhe").await;
    let r = reviewer
        .post(
            &format!("/members/{}/return", p.member.0),
            &[("reason", "incorrect"), ("note", "入党日期与档案不符")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let home = member.get("/").await;
    assert!(
        home.body.contains("已退回，请修改后重新提交"),
        "{}",
        home.body
    );
    assert!(home.body.contains("入党日期与档案不符"), "{}", home.body);
    assert!(home.body.contains(">去修改并提交</a>"));
    // Approved: who and when, and the approved form to download.
    assert!(app.file_member(p.member, None).await);
    let r = reviewer
        .post(
            &format!("/orgs/{}/reviews", p.firm_org.0),
            &[("member", &p.member.0.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let home = member.get("/").await;
    assert!(home.body.contains("id=\"my-state\">已审核通过<"));
    let approver = app.user("suo_shenhe").await.display_name;
    assert!(
        home.body.contains(&format!("已由 {approver} 于 ")),
        "{}",
        home.body
    );
    assert!(home.body.contains("id=\"my-form-download\""));
}

#[tokio::test]
async fn working_home_pages_list_the_tasks_of_their_level() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let lawyers = app.registrable_lawyers_at(p.firm_org).await;
    assert!(app.file_member(lawyers[0], None).await);
    assert!(app.file_member(lawyers[1], None).await);
    // The firm: forms to review, members not started (with 催办), the package's deadline.
    let firm = app.login_demo("suo_shenhe").await;
    let home = firm.get("/").await;
    let task = |html: &str, id: &str| {
        let start = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("task {id} in {html}"));
        html[start..start + html[start..].find("</li>").unwrap()].to_owned()
    };
    assert!(task(&home.body, "task-reviews").contains(">2<"));
    assert!(task(&home.body, "task-reviews").contains("去审核"));
    let members = app.members_of(p.firm_org).await.len();
    let not_started = task(&home.body, "task-not-started");
    assert!(
        not_started.contains(&format!(">{}<", members - 2)),
        "{not_started}"
    );
    assert!(not_started.contains("home-remind-members"));
    assert!(task(&home.body, "task-package").contains("本组织尚未报送上级"));
    // The firm submits: the city sees a child waiting for acceptance.
    let city = app.login_demo("shi_shenhe").await;
    assert!(!city.get("/").await.body.contains("id=\"task-awaiting\""));
    let mut filed = vec![lawyers[0], lawyers[1]];
    for m in app.members_of(p.firm_org).await {
        if !filed.contains(&m) && app.file_member(m, None).await {
            filed.push(m);
        }
    }
    app.services.review().approve(OP, &filed).await.unwrap();
    app.file_a3(p.firm_org).await;
    app.submit_package(p.firm_org).await;
    let home = city.get("/").await;
    let awaiting = task(&home.body, "task-awaiting");
    assert!(
        awaiting.contains(">1<") && awaiting.contains("去接收"),
        "{awaiting}"
    );
    assert!(home.body.contains("id=\"task-children-not-started\""));
    assert!(
        home.body.contains("id=\"home-cockpit\""),
        "link to the cockpit"
    );
    // The national home lists the provinces and links to the spot checks.
    let national = app.login_demo("admin").await;
    let home = national.get("/").await;
    assert!(home.body.contains("id=\"home-children\""));
    assert!(home.body.contains("/samples\">抽查核验</a>"));
    assert!(
        !home.body.contains("id=\"task-package\""),
        "no package above national"
    );
}

#[tokio::test]
async fn the_reviewer_reads_first_decides_at_the_end_and_goes_on_to_the_next_form() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let lawyers = app.registrable_lawyers_at(p.firm_org).await;
    let (first, second) = (lawyers[0], lawyers[1]);
    // Submitted through the page, so the reviewers get their 待审核 notices.
    for m in [first, second] {
        crate::review::submit_for(&app, m.0).await;
    }
    let reviewer = app.login_demo("suo_shenhe").await;
    let unread = |html: &str| crate::helpers::between(html, "id=\"unread-count\">").to_owned();
    let page = reviewer
        .get(&format!("/members/{}/registration", first.0))
        .await;
    assert_eq!(unread(&page.body), "2", "one notice per submitted form");
    // The form first, the decision after it.
    let form_at = page.body.find("id=\"registration-form\"").unwrap();
    let panel_at = page.body.find("id=\"review-panel\"").unwrap();
    assert!(form_at < panel_at, "the review panel follows the form");
    let r = reviewer
        .post(&format!("/members/{}/approve", first.0), &[])
        .await;
    let after = reviewer.get(&r.location().unwrap()).await;
    assert!(after.body.contains("已审核通过。"));
    assert!(
        after.body.contains(&format!(
            "href=\"/members/{}/registration\" id=\"next-form\"",
            second.0
        )),
        "下一份 leads to the other waiting form"
    );
    // The approved form's notice is resolved: no longer unread.
    assert_eq!(unread(&after.body), "1");
    let r = reviewer
        .post(
            &format!("/members/{}/return", second.0),
            &[("reason", "incorrect"), ("note", "学历填写有误")],
        )
        .await;
    let after = reviewer.get(&r.location().unwrap()).await;
    assert!(!after.body.contains("id=\"next-form\""), "nothing left");
    assert!(after.body.contains("id=\"back-to-reviews\""));
    assert!(!after.body.contains("id=\"unread-count\""), "all resolved");
    // The member fixes a code field: the change reads as labels, an emptied value as （空）.
    let before = app.services.registration().view(OP, second).await.unwrap();
    let mut values = before.values.clone();
    let old_degree = values.get("degree").cloned().unwrap_or_default();
    let new_degree = if old_degree == "master" {
        "bachelor"
    } else {
        "master"
    };
    values.insert("degree".into(), new_degree.into());
    values.insert("address".into(), String::new());
    app.services
        .registration()
        .save(
            OP,
            second,
            dengji::service::registration::RegistrationInput {
                values,
                citizen_id: String::new(),
                version: before.version,
                step: dengji::service::registration::Step::Submit,
                confirmed: false,
                proxy_method: Some("phone".into()),
                warnings_note: "已电话核实".into(),
            },
        )
        .await
        .unwrap();
    let page = reviewer
        .get(&format!("/members/{}/registration", second.0))
        .await;
    let changes = &page.body[page.body.find("id=\"changes\"").expect("changes table")..];
    let changes = &changes[..changes.find("</table>").unwrap()];
    let label = |c: &str| {
        dengji::forms::Catalogue::get()
            .list("degree")
            .unwrap()
            .label(c)
            .map_or("（空）".to_owned(), str::to_owned)
    };
    assert!(
        changes.contains(&format!(
            "<td>学位</td><td>{}</td><td>{}</td>",
            label(&old_degree),
            label(new_degree)
        )),
        "{changes}"
    );
    assert!(!changes.contains(">master<") && !changes.contains(">bachelor<"));
    assert!(changes.contains("<td>（空）</td>"), "{changes}");
}

#[tokio::test]
async fn locked_data_says_why_and_who_on_every_page_and_offers_no_dead_end() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, filed) = app.ready_firm().await;
    let clerk = app.login_demo("suo").await;
    let survey = format!("/orgs/{}/survey", firm.0);
    let a3 = format!("/orgs/{}/a3", firm.0);
    let form = format!("/members/{}/registration", filed[0].0);
    for page in [&survey, &a3, &form] {
        let r = clerk.get(page).await;
        assert!(
            !r.body.contains("id=\"lock-banner\""),
            "{page} not locked yet"
        );
    }
    assert!(
        clerk
            .get(&survey)
            .await
            .body
            .contains(&format!("method=\"post\" action=\"{survey}\""))
    );
    app.submit_package(firm).await;
    let city_name = app.org(p.city).await.name;
    let banner = |html: &str| crate::helpers::between(html, "<strong>已锁定</strong> ").to_owned();
    for page in [&survey, &a3, &form] {
        let r = clerk.get(page).await;
        assert_eq!(r.status, StatusCode::OK);
        let b = banner(&r.body);
        assert!(
            b.contains(&format!("报送{city_name}")) && b.contains("正等待上级接收"),
            "{page}: {b}"
        );
        assert!(b.contains("退回"), "how to ask for a return: {b}");
    }
    // Read-only controls: no survey form, no save, no return at the firm's own level.
    assert!(
        !clerk
            .get(&survey)
            .await
            .body
            .contains(&format!("method=\"post\" action=\"{survey}\""))
    );
    assert!(!clerk.get(&a3).await.body.contains("id=\"save-a3\""));
    let firm_reviewer = app.login_demo("suo_shenhe").await;
    let r = firm_reviewer.get(&form).await;
    assert!(r.body.contains("id=\"lock-banner\""));
    assert!(
        !r.body.contains("id=\"return\""),
        "no control leads to 操作冲突"
    );
    // The level above may still return the record (which reopens the package).
    let city = app.login_demo("shi_shenhe").await;
    assert!(city.get(&form).await.body.contains("id=\"return\""));
    // Accepted: the banner names who accepted.
    let v = app.package_version(firm).await;
    let accept = city
        .post(
            &format!("/orgs/{}/package/accept", firm.0),
            &[("version", &v.to_string())],
        )
        .await;
    assert_eq!(accept.status, StatusCode::SEE_OTHER, "{}", accept.body);
    let who = app.user("shi_shenhe").await.display_name;
    let b = banner(&clerk.get(&a3).await.body);
    assert!(
        b.contains(&format!("已由 {who}")) && b.contains("接收"),
        "{b}"
    );
}

#[tokio::test]
async fn the_audit_log_reads_in_chinese_with_names_links_filters_and_export() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let lawyer = app.registrable_lawyers_at(p.firm_org).await[0];
    assert!(app.file_member(lawyer, None).await);
    let reviewer = app.login_demo("suo_shenhe").await;
    let r = reviewer
        .post(&format!("/members/{}/approve", lawyer.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let admin = app.login_demo("admin").await;
    let page = admin.get("/audit?action=registration.approve").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = &page.body[page.body.find("<tbody>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    let who = app.user("suo_shenhe").await;
    let firm_name = app.org(p.firm_org).await.name;
    assert!(row.contains(&who.display_name), "the name: {row}");
    assert!(row.contains(&firm_name), "the organisation: {row}");
    assert!(
        row.contains("<td class=\"audit-action\">审核通过</td>"),
        "{row}"
    );
    assert!(
        row.contains(&format!(
            "<a href=\"/members/{}\">党员 {}</a>",
            lawyer.0, lawyer.0
        )),
        "the target as a link: {row}"
    );
    assert!(row.contains("内容摘要："), "readable details: {row}");
    assert!(!row.contains("{\""), "no JSON: {row}");
    // Filters: by user, by date range, by node.
    let by_user = admin.get(&format!("/audit?user={}", who.username)).await;
    assert!(by_user.body.contains("审核通过"));
    let by_other = admin.get("/audit?user=nobody_like_this").await;
    assert!(by_other.body.contains("没有记录。"));
    let today = dengji::service::beijing_today();
    let in_range = admin
        .get(&format!(
            "/audit?action=registration.approve&from={today}&to={today}"
        ))
        .await;
    assert!(in_range.body.contains("审核通过</td>"));
    let before = admin
        .get("/audit?action=registration.approve&from=2018-01-01&to=2018-12-31")
        .await;
    assert!(before.body.contains("没有记录。"));
    let bad = admin.get("/audit?from=2018-13-45").await;
    assert!(
        bad.body.contains("起始日期：请按 年-月-日 填写"),
        "{}",
        bad.body
    );
    let elsewhere = admin
        .get(&format!(
            "/audit?action=registration.approve&under={}",
            p.other_city.0
        ))
        .await;
    assert!(elsewhere.body.contains("没有记录。"));
    // A provincial auditor outside cannot narrow to a node they cannot see.
    let outsider = app.login_as(Role::Auditor, p.other_province, None).await;
    let r = outsider
        .get(&format!("/audit?under={}", p.firm_org.0))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The export has the same rows, in Chinese, and is itself logged.
    let (status, _, bytes) = admin
        .get_bytes("/audit.xlsx?action=registration.approve")
        .await;
    assert_eq!(status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let out = python(
        "import sys, openpyxl\n\
         ws = openpyxl.load_workbook(sys.argv[1]).active\n\
         for row in ws.iter_rows(min_row=2, values_only=True):\n\
         \x20   print('|'.join('' if v is None else str(v) for v in row))",
        &[file.as_os_str()],
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "时间|操作人|所在组织|角色|操作|对象|内容");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains(&format!("|{}|{firm_name}|", who.display_name)),
        "{text}"
    );
    assert!(lines[1].contains("|审核通过|"), "{text}");
    assert_eq!(app.audit("export.audit").await.len(), 1);
}

#[test]
fn every_action_the_services_record_has_a_chinese_name() {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for part in text.split("action: \"").skip(1) {
                    let code = part.split('"').next().unwrap();
                    // Audit codes only (not the `action` of an HTML form).
                    if code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
                    {
                        out.push(code.to_owned());
                    }
                }
            }
        }
    }
    let mut codes = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut codes,
    );
    assert!(codes.len() > 30, "found the services' actions: {codes:?}");
    for code in codes {
        assert_ne!(
            dengji::domain::audit::action_label(&code),
            code,
            "{code} has no Chinese name in domain::audit::ACTIONS"
        );
    }
}

#[tokio::test]
async fn forms_start_from_the_tree_and_speak_up_only_once_saved() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let member = app.login_demo("dangyuan").await;
    let url = format!("/members/{}/registration", p.member.0);
    let page = member.get(&url).await;
    let org_name = app.member(p.member).await.org_name;
    for field in ["holder_name", "dues_org", "life_org"] {
        assert!(
            page.body
                .contains(&format!("name=\"f_{field}\" value=\"{org_name}\"")),
            "{field} prefilled from the tree"
        );
    }
    assert!(
        !page.body.contains("class=\"field-error\""),
        "no error before typing"
    );
    assert!(!page.body.contains("id=\"error-count\""));
    // Group headings of GB/T 4658 are not choices; the degrees under them are.
    let education = &page.body[page.body.find("id=\"f-education\"").unwrap()..];
    let education = &education[..education.find("</select>").unwrap()];
    assert!(
        !education.contains("value=\"10\""),
        "研究生教育 is a heading"
    );
    assert!(
        !education.contains("value=\"20\""),
        "大学本科教育 is a heading"
    );
    assert!(education.contains("value=\"21\""));
    // Saved with a mistake: now the errors show, beside their fields.
    let mut form = crate::helpers::inputs_of(&page.body);
    form.retain(|(k, _)| k != "f_mobile");
    form.push(("f_mobile".into(), "12345".into()));
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "save".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = member.post(&url, &pairs).await;
    let shown = if r.status == StatusCode::SEE_OTHER {
        member.get(&url).await.body
    } else {
        r.body
    };
    assert!(
        shown.contains("class=\"field-error\" data-field=\"mobile\""),
        "{shown}"
    );
    // 附件3 starts with the node above as 批准成立的上级党组织.
    let clerk = app.login_demo("suo").await;
    let a3 = clerk.get(&format!("/orgs/{}/a3", p.firm_org.0)).await;
    let city_name = app.org(p.city).await.name;
    assert!(
        a3.body
            .contains(&format!("name=\"f_approved_by\" value=\"{city_name}\"")),
        "{}",
        a3.body
    );
    assert!(!a3.body.contains("class=\"field-error\""));
}

#[tokio::test]
async fn the_demo_in_progress_shows_a_campaign_at_every_stage() {
    let app = TestApp::with_members(3000).await;
    let done = app.services.demo().set_in_motion(2018).await.unwrap();
    assert!(done.submitted > 0 && done.approved > 0 && done.returned > 0 && done.drafts > 0);
    assert!(done.packages_submitted > 0 && done.packages_accepted > 0);
    let p = demo_places(&app).await;
    // The demo city's cockpit: children at several stages, some overdue, the demo firm
    // extended.
    let city = app.login_demo("shi").await;
    let page = city.get(&format!("/orgs/{}/cockpit", p.city.0)).await;
    let statuses: std::collections::BTreeSet<&str> = page
        .body
        .split("data-status=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert!(statuses.len() >= 4, "stages: {statuses:?}");
    assert!(
        statuses.contains("accepted") && statuses.contains("submitted"),
        "{statuses:?}"
    );
    assert!(
        page.body.contains("<span class=\"warn\">逾期</span>"),
        "some overdue"
    );
    let demo_row = cockpit_row(&page.body, p.firm_org).unwrap();
    assert!(
        demo_row.contains("已延期") && !demo_row.contains("逾期"),
        "{demo_row}"
    );
    // One province is nearly done: every city but one accepted, and its cockpit says so.
    let national = app.login_demo("admin").await;
    let root = app.root().await;
    let mut nearly = None;
    for province in app.children_of(root).await {
        let cities = app.children_of(province).await.len() as i64;
        let accepted = count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM packages k JOIN orgs o ON o.id = k.org_id \
                 WHERE o.parent_id = {} AND k.state = 'accepted'",
                province.0
            ),
        )
        .await;
        if cities >= 2 && accepted == cities - 1 {
            nearly = Some(province);
        }
    }
    let nearly = nearly.expect("a province with all cities but one accepted");
    let page = national
        .get(&format!("/orgs/{}/cockpit?show=accepted", nearly.0))
        .await;
    let accepted_rows = page.body.matches("data-status=\"accepted\"").count();
    assert_eq!(accepted_rows + 1, app.children_of(nearly).await.len());
    // The firm's reviewer has forms to review and a returned one outstanding; the demo
    // member's own form is untouched, to try.
    let reviewer = app.login_demo("suo_shenhe").await;
    let home = reviewer.get("/").await;
    assert!(home.body.contains("id=\"task-reviews\""), "{}", home.body);
    assert!(home.body.contains("id=\"task-returned\""));
    let member = app.login_demo("dangyuan").await;
    assert!(
        member
            .get("/")
            .await
            .body
            .contains("id=\"my-state\">未填写<")
    );
    // The check of the stored data finds nothing wrong.
    let (ok, out, err) = app.cli(&["check"]).await;
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn the_survey_pages_searches_saves_a_page_at_once_and_marks_in_bulk() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let clerk = app.login_demo("suo").await;
    let url = format!("/orgs/{}/survey", p.firm_org.0);
    let members = app.members_at(p.firm_org).await;
    assert!(members.len() >= 3);
    let page = clerk.get(&url).await;
    assert!(
        page.body
            .contains(&format!("共 {} 人符合条件", members.len()))
    );
    // Search by name narrows the page.
    let one = &members[0];
    let found = clerk.get(&format!("{url}?q={}", one.name)).await;
    assert!(found.body.contains(&format!("id=\"survey-{}\"", one.id.0)));
    let others = members
        .iter()
        .filter(|m| !m.name.contains(&one.name))
        .count();
    assert!(others > 0);
    assert!(
        !found
            .body
            .contains(&format!("共 {} 人符合条件", members.len()))
    );
    // Bulk: two selected members marked 已转入 with all four checks, in one go.
    let (a, b, c) = (
        members[0].id.0.to_string(),
        members[1].id.0.to_string(),
        members[2].id.0.to_string(),
    );
    let mut form: Vec<(&str, &str)> = vec![("action", "mark_in")];
    for m in [&a, &b, &c] {
        form.push(("m", m));
    }
    form.push(("sel", &a));
    form.push(("sel", &b));
    let r = clerk.post(&url, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().unwrap().contains("saved=2"));
    let done = clerk.get(&format!("{url}?show=unchecked")).await;
    assert!(!done.body.contains(&format!("id=\"survey-{a}\"")));
    assert!(
        done.body.contains(&format!("id=\"survey-{c}\"")),
        "c not marked"
    );
    assert_eq!(app.audit("survey.record").await.len(), 2);
    // The page's one save: only the changed row is recorded; a wrong row refuses the
    // whole page and names the member.
    let name_c = members[2].name.clone();
    let reason_key = format!("reason.{c}");
    let transferred_key = format!("transferred.{c}");
    let bad: Vec<(&str, &str)> = vec![
        ("action", "save"),
        ("m", &a),
        ("m", &c),
        (transferred_key.as_str(), "not_in"),
        (reason_key.as_str(), ""),
    ];
    let r = clerk.post(&url, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains(&format!("（{name_c}）")), "{}", r.body);
    assert_eq!(app.audit("survey.record").await.len(), 2, "nothing stored");
    let a_keys: Vec<String> = ["basic_ok", "transfer_ok", "dues_ok", "life_ok"]
        .iter()
        .map(|k| format!("{k}.{a}"))
        .collect();
    let case_key = format!("case.{c}");
    let transferred_a = format!("transferred.{a}");
    let mut good: Vec<(&str, &str)> = vec![("action", "save"), ("m", &a), ("m", &c)];
    for k in &a_keys {
        good.push((k, "1"));
    }
    good.push((transferred_a.as_str(), "in"));
    good.push((transferred_key.as_str(), "not_in"));
    good.push((case_key.as_str(), "1"));
    good.push((reason_key.as_str(), "组织关系仍在原单位，尚未转入"));
    let r = clerk.post(&url, &good).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().unwrap().contains("saved=1"), "only c changed");
    assert_eq!(app.audit("survey.record").await.len(), 3);
    let not_in = clerk.get(&format!("{url}?show=not_in")).await;
    assert!(not_in.body.contains(&format!("id=\"survey-{c}\"")));
    // Headings and cells line up: every row has as many cells as the heading.
    let page = clerk.get(&url).await;
    let table = &page.body[page.body.find("id=\"survey\"").unwrap()..];
    let head = &table[..table.find("</tr>").unwrap()];
    let row_start = table.find(&format!("id=\"survey-{a}\"")).unwrap();
    let row = &table[row_start..row_start + table[row_start..].find("</tr>").unwrap()];
    assert_eq!(head.matches("</th>").count(), row.matches("</td>").count());
}

#[tokio::test]
async fn the_survey_roster_pages_through_every_member_once() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let all = app.members_at(p.firm_org).await.len();
    let mut seen = std::collections::HashSet::new();
    let mut page = 1;
    loop {
        let v = app
            .services
            .survey()
            .view_page(
                OP,
                p.firm_org,
                &dengji::service::survey::RosterQuery {
                    page,
                    per_page: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(v.matched, all);
        assert_eq!(v.counts.total, all, "counts over the whole roster");
        assert!(v.rows.len() <= 2);
        for r in &v.rows {
            assert!(seen.insert(r.member_id), "twice: {:?}", r.member_id);
        }
        if !v.has_next {
            break;
        }
        page += 1;
    }
    assert_eq!(seen.len(), all);
}

#[tokio::test]
async fn the_region_picker_lists_the_divisions_under_a_code() {
    let app = TestApp::spawn().await;
    let anonymous = app.anonymous().get("/divisions").await;
    assert_ne!(anonymous.status, StatusCode::OK, "behind the login");
    let member = app.login_demo("dangyuan").await;
    let provinces: Vec<(String, String)> =
        serde_json::from_str(&member.get("/divisions").await.body).unwrap();
    assert!(provinces.contains(&("510000".into(), "四川省".into())));
    assert!(provinces.iter().all(|(c, _)| c.ends_with("0000")));
    let cities: Vec<(String, String)> =
        serde_json::from_str(&member.get("/divisions?parent=510000").await.body).unwrap();
    assert!(cities.contains(&("510100".into(), "成都市".into())));
    let none: Vec<(String, String)> =
        serde_json::from_str(&member.get("/divisions?parent=x").await.body).unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_user_guide_is_served_for_every_role_and_prints_a_role_a_page() {
    let app = TestApp::spawn().await;
    for who in [
        "dangyuan",
        "suo",
        "suo_shenhe",
        "shi",
        "sheng",
        "admin",
        "auditor",
    ] {
        let c = app.login_demo(who).await;
        let home = c.get("/").await;
        assert!(
            home.body.contains("id=\"help-link\""),
            "{who}: 帮助 in the navigation"
        );
        let page = c.get("/help").await;
        assert_eq!(page.status, StatusCode::OK, "{who}");
        for role in [
            "党员本人",
            "律所党组织经办人",
            "审核人（书记、组织委员）",
            "地市、省级党组织",
            "全国律师行业党委",
        ] {
            assert!(
                page.body.contains(&format!("<h2>{role}</h2>")),
                "{who}: {role}"
            );
        }
    }
    assert_ne!(app.anonymous().get("/help").await.status, StatusCode::OK);
    // The guide's screenshots are served by the binary, as PNG.
    let c = app.login_demo("suo").await;
    let guide = c.get("/help").await.body;
    for img in [
        "guide-member-phone.png",
        "guide-firm-home.png",
        "guide-city-cockpit.png",
    ] {
        assert!(guide.contains(&format!("src=\"/static/{img}\"")), "{img}");
        let (status, _, bytes) = c.get_bytes(&format!("/static/{img}")).await;
        assert_eq!(status, StatusCode::OK, "{img}");
        assert!(bytes.starts_with(b"\x89PNG"), "{img} is a PNG");
    }
    let css = app.anonymous().get("/static/app.css").await.body;
    assert!(css.contains(".guide-role { border: none; break-before: page;"));
}
