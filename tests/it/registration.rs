//! 本人填报: members fill 附件1/附件2, see every mistake beside its field, save drafts, confirm
//! and submit; clerks fill on a member's behalf; concurrent saves never lose work silently.

use axum::http::StatusCode;
use sqlx::Row;

use dengji::domain::{MemberId, OrgId, Role};

use crate::helpers::{Client, TestApp, completion, count, demo_places, inputs_of};

/// A lawyer member of the demo firm organisation, with their ID number in clear.
async fn lawyer(app: &TestApp) -> (MemberId, OrgId, String) {
    let p = demo_places(app).await;
    let row = sqlx::query(
        "SELECT id, citizen_id_enc FROM members WHERE org_id = $1 AND category = 'lawyer' \
         AND practice_type = '1' ORDER BY id LIMIT 1",
    )
    .bind(p.firm_org.0)
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    let enc: Vec<u8> = row.try_get("citizen_id_enc").unwrap();
    let id = app.services.keys.decrypt_id(&enc).unwrap();
    (MemberId(row.try_get("id").unwrap()), p.firm_org, id)
}

async fn post_form(
    c: &Client,
    member: MemberId,
    fields: &[(String, String)],
) -> crate::helpers::TestResponse {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    c.post(&format!("/members/{}/registration", member.0), &pairs)
        .await
}

fn with(base: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = base
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    for (k, val) in changes {
        v.push(((*k).to_owned(), (*val).to_owned()));
    }
    v
}

async fn registration_count(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) FROM registrations").await
}

#[tokio::test]
async fn member_fills_with_mistakes_sees_each_beside_its_field_then_submits() {
    let app = TestApp::spawn().await;
    let (member, org, _) = lawyer(&app).await;
    let c = app.login_as(Role::Member, org, Some(member)).await;
    let page = c.get(&format!("/members/{}/registration", member.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("律师党员基本信息登记表") && page.body.contains("附件1"));
    assert!(
        page.body.contains("专职律师党员，纳入登记"),
        "eligibility shown"
    );
    let mut base = inputs_of(&page.body);
    assert!(
        base.iter().any(|(k, v)| k == "f_name" && !v.is_empty()),
        "prefilled from the record"
    );
    base.extend(completion());
    base.push(("version".into(), "0".into()));

    // Three mistakes: a bad mobile, a birth date that disagrees with the ID number, a month
    // written the wrong way.
    let wrong = with(
        &base,
        &[
            ("f_mobile", "1380013800"),
            ("f_birth_date", "1901-01-01"),
            ("f_dues_paid_until", "2018/07"),
            ("step", "submit"),
            ("confirm", "1"),
        ],
    );
    let r = post_form(&c, member, &wrong).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("表中有 3 处需要更正"), "{}", r.body);
    for (field, text) in [
        ("mobile", "手机号码：应为11位手机号码"),
        ("birth_date", "出生日期：与公民身份号码中的出生日期"),
        ("dues_paid_until", "党费交至年月：应为年月"),
    ] {
        let marker = format!("<p class=\"field-error\" data-field=\"{field}\">{text}");
        assert!(r.body.contains(&marker), "{field}: {}", r.body);
    }
    assert!(
        r.body.contains("value=\"1380013800\""),
        "what was typed is shown back"
    );
    assert_eq!(registration_count(&app).await, 0, "nothing stored");

    // A wrong correction of the ID number is named, and never stored, even in a draft.
    let r = post_form(
        &c,
        member,
        &with(
            &base,
            &[("citizen_id", "110105194912310021"), ("step", "save")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains(
            "<p class=\"field-error\" data-field=\"citizen_id\">公民身份号码：校验位不正确"
        ),
        "{}",
        r.body
    );
    assert_eq!(registration_count(&app).await, 0, "nothing stored");

    // A draft with a mistake is kept (except an invalid ID number, which is never stored).
    let draft = with(&base, &[("f_mobile", "1380013800"), ("step", "save")]);
    let r = post_form(&c, member, &draft).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let again = c
        .get(&format!("/members/{}/registration?done=save", member.0))
        .await;
    assert!(again.body.contains("草稿已保存"));
    assert!(again.body.contains("value=\"1380013800\""), "draft resumes");
    assert!(
        again.body.contains("data-field=\"mobile\""),
        "and still shows its mistake"
    );

    // Corrected, but without 本人确认.
    let fixed = with(&base, &[("version", "1"), ("step", "submit")]);
    let r = post_form(&c, member, &fixed).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("本人确认：请确认表中信息真实准确"),
        "{}",
        r.body
    );
    // Confirmed: submitted.
    let r = post_form(&c, member, &with(&fixed, &[("confirm", "1")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let done = c
        .get(&format!("/members/{}/registration?done=submit", member.0))
        .await;
    assert!(done.body.contains("已提交，待审核"));
    assert!(
        !done.body.contains("id=\"submit-form\""),
        "no longer editable"
    );
    // A further change is refused and changes nothing.
    let r = post_form(
        &c,
        member,
        &with(
            &fixed,
            &[("version", "2"), ("confirm", "1"), ("f_address", "x")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("不能修改"), "{}", r.body);

    // The clerk of the firm sees it as submitted; the ID number is in no JSON and no event.
    let clerk = app.login_demo("suo").await;
    let seen = clerk
        .get(&format!("/members/{}/registration", member.0))
        .await;
    assert!(seen.body.contains("已提交，待审核"));
    let (data, events): (String, String) = (
        sqlx::query_scalar("SELECT data FROM registrations").fetch_one(app.services.db.pool()).await.unwrap(),
        sqlx::query_scalar::<_, String>("SELECT detail FROM audit_events WHERE action LIKE 'registration.%' ORDER BY id DESC LIMIT 1")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
    );
    let (_, _, id) = lawyer(&app).await;
    assert!(!data.contains(&id) && !events.contains(&id));
    assert!(events.contains("registration") || events.contains("changed_fields"));
}

#[tokio::test]
async fn clerk_files_on_behalf_and_must_say_how_the_member_confirmed() {
    let app = TestApp::spawn().await;
    let (member, _, _) = lawyer(&app).await;
    let clerk = app.login_demo("suo").await;
    let page = clerk
        .get(&format!("/members/{}/registration", member.0))
        .await;
    assert!(page.body.contains("代填确认方式"));
    let mut form = inputs_of(&page.body);
    form.extend(completion());
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "submit".into()));
    let r = post_form(&clerk, member, &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("代填确认方式：经办人代填时，须选择党员本人的确认方式")
    );
    let r = post_form(&clerk, member, &with(&form, &[("proxy_method", "wechat")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let method: String = sqlx::query_scalar("SELECT proxy_method FROM registrations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert_eq!(method, "wechat");
}

#[tokio::test]
async fn the_second_of_two_concurrent_saves_is_refused_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let (member, org, _) = lawyer(&app).await;
    let me = app.login_as(Role::Member, org, Some(member)).await;
    let clerk = app.login_demo("suo").await;
    let page = me.get(&format!("/members/{}/registration", member.0)).await;
    let mut form = inputs_of(&page.body);
    form.extend(completion());
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "save".into()));
    // Both opened version 0; the member saves first.
    assert_eq!(
        post_form(
            &me,
            member,
            &with(&form, &[("f_address", "北京市东城区一号")])
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let r = post_form(
        &clerk,
        member,
        &with(&form, &[("f_address", "北京市西城区二号")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("已被他人修改并保存"), "{}", r.body);
    assert!(
        r.body.contains("北京市西城区二号"),
        "the clerk's typing is shown back, not lost"
    );
    let data: String = sqlx::query_scalar("SELECT data FROM registrations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert!(data.contains("北京市东城区一号") && !data.contains("西城区"));
}

#[tokio::test]
async fn access_to_registrations_follows_the_tree() {
    let app = TestApp::spawn().await;
    let (member, org, _) = lawyer(&app).await;
    let p = demo_places(&app).await;
    let other = app.members_of(org).await.last().expect("a member").0;
    let me = app.login_as(Role::Member, org, Some(member)).await;
    assert_eq!(
        me.get(&format!("/members/{other}/registration"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        me.post(
            &format!("/members/{other}/registration"),
            &[("version", "0")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let outsider = app.login_as(Role::Clerk, p.other_city, None).await;
    assert_eq!(
        outsider
            .get(&format!("/members/{}/registration", member.0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let auditor = app.login_demo("auditor").await;
    assert_eq!(
        auditor
            .get(&format!("/members/{}/registration", member.0))
            .await
            .status,
        StatusCode::OK,
        "auditors read"
    );
    let r = auditor
        .post(
            &format!("/members/{}/registration", member.0),
            &[("version", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "but never write");
    assert_eq!(registration_count(&app).await, 0);
}

#[tokio::test]
async fn a_part_time_lawyer_cannot_be_submitted_and_html_stays_text() {
    let app = TestApp::spawn().await;
    let (member, org, _) = lawyer(&app).await;
    let me = app.login_as(Role::Member, org, Some(member)).await;
    let page = me.get(&format!("/members/{}/registration", member.0)).await;
    let mut form = inputs_of(&page.body);
    form.extend(completion());
    form.push(("version".into(), "0".into()));
    let r = post_form(
        &me,
        member,
        &with(
            &form,
            &[
                ("f_practice_type", "2"),
                ("f_address", "<script>alert(1)</script>"),
                ("step", "submit"),
                ("confirm", "1"),
                ("warnings_note", "执业证号为专职，本人已转为兼职"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("兼职律师中的党员不纳入本次登记核查范围"),
        "{}",
        r.body
    );
    assert!(r.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!r.body.contains("<script>alert(1)"));
    assert_eq!(registration_count(&app).await, 0);
}

#[tokio::test]
async fn fields_reserved_for_the_organisation_are_read_only_for_the_member() {
    let app = TestApp::spawn().await;
    let (member, org, _) = lawyer(&app).await;
    let me = app.login_as(Role::Member, org, Some(member)).await;
    let page = me.get(&format!("/members/{}/registration", member.0)).await;
    assert!(
        page.body
            .contains("<input id=\"f-remarks\" name=\"f_remarks\" value=\"\" disabled"),
        "备注 is read-only for the member"
    );
    let mut form = inputs_of(&page.body);
    form.extend(completion());
    form.push(("version".into(), "0".into()));
    form.push(("step".into(), "save".into()));
    let r = post_form(
        &me,
        member,
        &with(&form, &[("f_remarks", "本人自己写的备注")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let data: String = sqlx::query_scalar("SELECT data FROM registrations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert!(
        !data.contains("本人自己写的备注"),
        "a posted value for a locked field is ignored"
    );
    // The clerk may write it, and the member's next save keeps it.
    let clerk = app.login_demo("suo").await;
    let r = post_form(
        &clerk,
        member,
        &with(&form, &[("version", "1"), ("f_remarks", "经办人备注")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &me,
        member,
        &with(&form, &[("version", "2"), ("f_remarks", "")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let data: String = sqlx::query_scalar("SELECT data FROM registrations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert!(data.contains("经办人备注"), "{data}");
}
