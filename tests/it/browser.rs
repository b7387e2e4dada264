//! End-to-end journeys in real headless Chromium (Debian `chromium` + `chromium-driver`).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{TestApp, demo_places};
use dengji::domain::PackageState;
use dengji::web::AppState;

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> Driver {
    let port = free_port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver must be installed (apt-get install chromium chromium-driver); scripts/test.sh installs it");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Driver { child, port };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("chromedriver did not start on port {port}");
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let caps = match caps {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    };
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("browser session")
}

async fn start_server(app: &TestApp) -> SocketAddr {
    let listener = dengji::web::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState {
        services: app.services.clone(),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
    };
    tokio::spawn(async move {
        let _ = dengji::web::serve(listener, state).await;
    });
    addr
}

/// The app served, chromedriver and a browser on it: the base address, and what must live as
/// long as the client.
async fn open(app: &TestApp) -> (String, Driver, tempfile::TempDir, Client) {
    let addr = start_server(app).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    (format!("http://{addr}"), driver, profile, c)
}

async fn text_of(c: &Client, css: &str) -> String {
    // The element may belong to a page that is just being replaced: find it again then.
    for _ in 0..50 {
        let e = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        if let Ok(text) = e.text().await {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: the element kept going stale");
}

/// Wait until the element's text contains `expected` (after a click that reloads a page
/// carrying the same element).
async fn wait_for_text(c: &Client, css: &str, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(text) = e.text().await
        {
            if text.contains(expected) {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: expected “{expected}”, still “{last}”");
}

async fn login(c: &Client, base: &str, username: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#username", username).await;
    fill(c, "#password", "Dengji2018").await;
    click(c, "#login-submit").await;
    if c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#logout"))
        .await
        .is_err()
    {
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let source = c.source().await.unwrap_or_default();
        panic!("login as {username} did not reach a signed-in page: {url}\n{source}");
    }
}

/// Keep a screenshot of the page (for people to look at; a failure to take one is no test
/// failure).
async fn shot(c: &Client, name: impl AsRef<std::path::Path>) {
    if let Ok(png) = c.screenshot().await {
        let _ = std::fs::write(screenshot_dir().join(name), png);
    }
}

fn screenshot_dir() -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_walk_the_tree_open_a_member_log_out_and_be_refused_outside() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let (base, _driver, _profile, c) = open(&app).await;

    // A wrong password first: the message is shown on the page.
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(&c, "#username", "sheng").await;
    fill(&c, "#password", "wrong").await;
    click(&c, "#login-submit").await;
    assert!(
        text_of(&c, "#login-error")
            .await
            .contains("用户名或密码错误")
    );

    login(&c, &base, "sheng").await;
    let header = text_of(&c, ".who").await;
    assert!(header.contains("省级经办人"), "{header}");

    // The tree: open the province's node, expand the city in place, follow a firm organisation.
    c.find(Locator::LinkText("组织树"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let toggle = format!("li[data-id=\"{}\"] > button.toggle", places.city.0);
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&toggle))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let child_link = format!(
        "li[data-id=\"{}\"] ul.tree a[href=\"/orgs/{}\"]",
        places.city.0, places.firm_org.0
    );
    let link = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&child_link))
        .await
        .unwrap();
    let firm_org_name = link.text().await.unwrap();
    shot(&c, "tree.png").await;
    link.click().await.unwrap();
    assert_eq!(text_of(&c, "#org-name").await, firm_org_name);

    // Members: search, open the first, see the masked ID number.
    c.find(Locator::LinkText("党员"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let first = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#members tbody a"))
        .await
        .unwrap();
    let name = first.text().await.unwrap();
    first.click().await.unwrap();
    assert_eq!(text_of(&c, "#member-name").await, name);
    let id = text_of(&c, "#citizen-id").await;
    assert!(id.contains("********") && id.len() == 18, "masked: {id}");
    shot(&c, "member.png").await;

    // A node outside the province: refused exactly like a missing one.
    c.goto(&format!("{base}/orgs/{}", places.other_city.0))
        .await
        .unwrap();
    let msg = text_of(&c, ".error-page .error").await;
    assert!(msg.contains("未找到该记录，或您无权查看"), "{msg}");
    assert!(
        !c.source().await.unwrap().contains("律师行业党委</h1>"),
        "no heading of the other node"
    );

    // Log out: back at the login page, and the member page is closed again.
    c.find(Locator::Css("#logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#login-submit"))
        .await
        .unwrap();
    c.goto(&format!("{base}/members")).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#login-submit"))
        .await
        .unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    c.close().await.unwrap();
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn choose(c: &Client, select_css: &str, value: &str) {
    c.find(Locator::Css(&format!(
        "{select_css} option[value=\"{value}\"]"
    )))
    .await
    .unwrap_or_else(|e| panic!("{select_css}={value}: {e}"))
    .click()
    .await
    .unwrap();
}

async fn click(c: &Client, css: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn logout(c: &Client) {
    click(c, "#logout").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#login-submit"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_adds_member_who_activates_fixes_three_mistakes_and_submits() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let firm = crate::helpers::firm_of_org(&app, places.firm_org.0).await;
    let (base, _driver, _profile, c) = open(&app).await;

    // The firm's clerk adds the member and reads the one-time code.
    login(&c, &base, "suo").await;
    c.goto(&format!("{base}/orgs/{}", places.firm_org.0))
        .await
        .unwrap();
    click(&c, "#add-member-link").await;
    fill(&c, "#new-name", "林新").await;
    fill(&c, "#new-citizen-id", &crate::helpers::fresh_id(41)).await;
    choose(&c, "#new-firm", &firm.to_string()).await;
    fill(&c, "#new-mobile", "13912345678").await;
    fill(&c, "#new-joined", "2000-07-01").await;
    fill(&c, "#new-full", "2001-07-01").await;
    fill(&c, "#new-licence", "11101200511999041").await;
    click(&c, "#add-member").await;
    let username = text_of(&c, "#new-username").await;
    let code = text_of(&c, "#new-code").await;
    logout(&c).await;

    // The member activates and signs in.
    click(&c, "#activate-link").await;
    fill(&c, "#act-username", &username).await;
    fill(&c, "#act-code", &code).await;
    fill(&c, "#act-password", "Mine12345x").await;
    fill(&c, "#act-password2", "Mine12345x").await;
    click(&c, "#act-submit").await;
    assert!(text_of(&c, "#login-notice").await.contains("账号已激活"));
    fill(&c, "#username", &username).await;
    fill(&c, "#password", "Mine12345x").await;
    click(&c, "#login-submit").await;

    // The form, with three mistakes.
    click(&c, "#my-registration").await;
    assert!(
        text_of(&c, "#form-title")
            .await
            .contains("律师党员基本信息登记表")
    );
    let this_month = {
        let t = dengji::service::beijing_today();
        format!("{:04}-{:02}", t.year(), u8::from(t.month()))
    };
    choose(&c, "#f-standing", "normal").await;
    fill(&c, "#f-holder_name", "中共测试律师事务所支部委员会").await;
    choose(&c, "#f-holder_type", "own_firm").await;
    fill(&c, "#f-holder_region", "110101").await;
    choose(&c, "#f-in_firm", "1").await;
    choose(&c, "#f-transfer_status", "transferred").await;
    fill(&c, "#f-dues_org", "中共测试律师事务所支部委员会").await;
    fill(&c, "#f-life_org", "中共测试律师事务所支部委员会").await;
    choose(&c, "#f-lost_contact", "0").await;
    choose(&c, "#f-mobile_member", "0").await;
    fill(&c, "#f-mobile", "1391234567").await;
    fill(&c, "#f-birth_date", "1931-01-02").await;
    fill(&c, "#f-dues_paid_until", "2018/07").await;
    click(&c, "#confirm").await;
    click(&c, "#submit-form").await;
    assert!(text_of(&c, "#error-count").await.contains("3 处需要更正"));
    for (field, text) in [
        ("mobile", "应为11位手机号码"),
        ("birth_date", "与公民身份号码中的出生日期"),
        ("dues_paid_until", "应为年月"),
    ] {
        let msg = text_of(&c, &format!("#row-{field} .field-error")).await;
        assert!(msg.contains(text), "{field}: {msg}");
    }
    shot(&c, "form-errors.png").await;

    // Corrected, confirmed, submitted.
    fill(&c, "#f-mobile", "13912345678").await;
    fill(&c, "#f-birth_date", "1931-01-01").await;
    fill(&c, "#f-dues_paid_until", &this_month).await;
    click(&c, "#confirm").await;
    click(&c, "#submit-form").await;
    assert!(text_of(&c, "#reg-notice").await.contains("登记表已提交"));
    assert_eq!(text_of(&c, "#reg-state").await, "已提交，待审核");
    logout(&c).await;

    // The clerk sees it submitted.
    login(&c, &base, "suo").await;
    let member_id = username.trim_start_matches("dy");
    c.goto(&format!("{base}/members/{member_id}/registration"))
        .await
        .unwrap();
    assert_eq!(text_of(&c, "#reg-state").await, "已提交，待审核");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_returns_one_record_the_member_fixes_it_and_it_goes_back_up() {
    let app = TestApp::spawn().await;
    let p = demo_places(&app).await;
    let (firm, _) = app.ready_firm().await;
    let op = dengji::service::Caller::Operator;
    app.services
        .package()
        .submit(op, firm, &crate::helpers::input())
        .await
        .unwrap();
    let (base, _driver, _profile, c) = open(&app).await;
    let member = p.member.0;

    // The city's reviewer returns the member's approved record with a reason.
    login(&c, &base, "shi_shenhe").await;
    c.goto(&format!("{base}/members/{member}/registration"))
        .await
        .unwrap();
    choose(&c, "#return-reason-code", "incorrect").await;
    fill(&c, "#return-note", "手机号码与本人不符，请更正").await;
    click(&c, "#return").await;
    assert!(text_of(&c, "#reg-notice").await.contains("已退回"));
    logout(&c).await;

    // The member sees the count in the header, opens the notice, corrects and resubmits.
    login(&c, &base, "dangyuan").await;
    assert_eq!(text_of(&c, "#unread-count").await, "1");
    click(&c, "#inbox-link").await;
    click(&c, "#inbox a[href^='/inbox/']").await;
    assert!(
        text_of(&c, "#return-reason")
            .await
            .contains("手机号码与本人不符")
    );
    fill(&c, "#f-mobile", "13800138000").await;
    click(&c, "#confirm").await;
    click(&c, "#submit-form").await;
    assert!(text_of(&c, "#reg-notice").await.contains("登记表已提交"));
    logout(&c).await;

    // The firm's reviewer sees exactly what changed and approves again.
    login(&c, &base, "suo_shenhe").await;
    c.goto(&format!("{base}/members/{member}/registration"))
        .await
        .unwrap();
    let changes = text_of(&c, "#changes").await;
    assert!(
        changes.contains("手机号码") && changes.contains("13800138000"),
        "{changes}"
    );
    click(&c, "#approve").await;
    wait_for_text(&c, "#reg-state", "已审核通过").await;
    logout(&c).await;

    // The firm's clerk sees the package returned, and submits it again.
    login(&c, &base, "suo").await;
    c.goto(&format!("{base}/orgs/{}/package", firm.0))
        .await
        .unwrap();
    assert_eq!(text_of(&c, "#state").await, "被上级退回");
    assert!(
        text_of(&c, "#package-return-reason")
            .await
            .contains("手机号码与本人不符")
    );
    click(&c, "#submit-package-button").await;
    assert!(text_of(&c, "#package-notice").await.contains("已报送上级"));
    logout(&c).await;

    // The city accepts it.
    login(&c, &base, "shi_shenhe").await;
    c.goto(&format!("{base}/orgs/{}/package", firm.0))
        .await
        .unwrap();
    click(&c, "#accept-package").await;
    wait_for_text(&c, "#state", "上级已接收").await;
    shot(&c, "package-accepted.png").await;
    c.close().await.unwrap();
    assert_eq!(app.package_state(firm).await, Some(PackageState::Accepted));
}

/// Run a script in the page and read its result as a number.
async fn number(c: &Client, script: &str) -> f64 {
    c.execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
        .as_f64()
        .unwrap_or_else(|| panic!("{script}: not a number"))
}

/// The page needs no sideways scrolling: its content is no wider than the window.
async fn no_sideways_scroll(c: &Client, what: &str) {
    let over = number(
        c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
    )
    .await;
    assert!(over <= 0.5, "{what}: {over}px wider than the window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_keeps_to_one_line_per_item_and_the_members_pages_fit_a_phone() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let (base, _driver, _profile, c) = open(&app).await;
    // The national administrator has the most navigation items.
    login(&c, &base, "admin").await;
    for width in [1366u32, 1024] {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        text_of(&c, ".mainnav").await;
        // Every item is one line high: none wraps inside its words.
        let tallest = number(
            &c,
            "return Math.max(...[...document.querySelectorAll('.mainnav a, .brand, .who > *')]\
             .map(e => e.getBoundingClientRect().height));",
        )
        .await;
        let line = number(
            &c,
            "return parseFloat(getComputedStyle(document.querySelector('.mainnav a')).lineHeight);",
        )
        .await;
        assert!(
            tallest < line * 1.9,
            "at {width}px an item is {tallest}px high (one line is {line}px)"
        );
        no_sideways_scroll(&c, &format!("home at {width}px")).await;
        shot(&c, format!("nav-{width}.png")).await;
    }
    logout(&c).await;
    // The member on a phone: home, form, inbox and the activation page fit 375 px.
    c.set_window_size(375, 812).await.unwrap();
    c.goto(&format!("{base}/activate")).await.unwrap();
    text_of(&c, "#act-submit").await;
    no_sideways_scroll(&c, "activation").await;
    login(&c, &base, "dangyuan").await;
    for (path, ready) in [
        ("/".to_owned(), "#my-state"),
        (
            format!("/members/{}/registration", places.member.0),
            "#registration-form",
        ),
        ("/inbox".to_owned(), "#inbox"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        text_of(&c, ready).await;
        no_sideways_scroll(&c, &path).await;
    }
    // On the form, labels sit above their fields and controls are touch-sized.
    c.goto(&format!("{base}/members/{}/registration", places.member.0))
        .await
        .unwrap();
    text_of(&c, "#registration-form").await;
    let label_bottom = number(
        &c,
        "return document.querySelector('label[for=f-name]').getBoundingClientRect().bottom;",
    )
    .await;
    let field_top = number(
        &c,
        "return document.querySelector('#f-name').getBoundingClientRect().top;",
    )
    .await;
    assert!(label_bottom <= field_top + 1.0, "label above the field");
    let height = number(
        &c,
        "return document.querySelector('#submit-form').getBoundingClientRect().height;",
    )
    .await;
    assert!(height >= 44.0, "the submit button is {height}px high");
    shot(&c, "phone-form.png").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_demo_in_progress_each_role_finds_its_work_and_the_reviewer_goes_on_to_the_next() {
    let app = TestApp::with_members(3000).await;
    app.services.demo().set_in_motion(2018).await.unwrap();
    let places = demo_places(&app).await;
    let (base, _driver, _profile, c) = open(&app).await;
    // The firm's reviewer: forms to review on the home page; review one, then 下一份.
    login(&c, &base, "suo_shenhe").await;
    let task = text_of(&c, "#task-reviews").await;
    assert!(task.contains("份党员登记表待审核"), "{task}");
    shot(&c, "home-firm-reviewer.png").await;
    click(&c, "#task-reviews a").await;
    click(&c, "#pending tbody a").await;
    let first = c.current_url().await.unwrap().path().to_owned();
    click(&c, "#approve").await;
    wait_for_text(&c, "#reg-notice", "已审核通过").await;
    click(&c, "#next-form").await;
    wait_for_text(&c, "#reg-state", "待审核").await;
    assert_ne!(c.current_url().await.unwrap().path(), first, "another form");
    logout(&c).await;
    // The city clerk: the cockpit's totals and a filter for overdue children.
    login(&c, &base, "shi").await;
    c.goto(&format!("{base}/orgs/{}/cockpit", places.city.0))
        .await
        .unwrap();
    let totals = text_of(&c, "#cockpit-totals").await;
    assert!(totals.contains("合计"), "{totals}");
    choose(&c, "#cockpit-show", "overdue").await;
    click(&c, "#cockpit-apply").await;
    for _ in 0..100 {
        if c.current_url()
            .await
            .unwrap()
            .query()
            .is_some_and(|q| q.contains("show=overdue"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text_of(&c, "#cockpit-totals").await;
    let rows = c
        .find_all(Locator::Css("#cockpit tbody tr[data-status]"))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "overdue children listed");
    for r in rows {
        assert_eq!(r.attr("class").await.unwrap().as_deref(), Some("overdue"));
    }
    shot(&c, "cockpit-overdue.png").await;
    logout(&c).await;
    // The member: the untouched form, and the way to it.
    login(&c, &base, "dangyuan").await;
    assert_eq!(text_of(&c, "#my-state").await, "未填写");
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_is_picked_from_province_to_district() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let (base, _driver, _profile, c) = open(&app).await;
    login(&c, &base, "dangyuan").await;
    c.goto(&format!("{base}/members/{}/registration", places.member.0))
        .await
        .unwrap();
    let picker = "#row-holder_region .region-picker select";
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("{picker} option[value=\"510000\"]")))
        .await
        .unwrap();
    choose(&c, picker, "510000").await;
    let city = "#row-holder_region .region-picker select:nth-of-type(2)";
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!("{city} option[value=\"510100\"]")))
        .await
        .unwrap();
    choose(&c, city, "510100").await;
    let district = "#row-holder_region .region-picker select:nth-of-type(3)";
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!(
            "{district} option[value=\"510107\"]"
        )))
        .await
        .unwrap();
    choose(&c, district, "510107").await;
    let value = c
        .find(Locator::Css("#f-holder_region"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("510107"));
    wait_for_text(&c, "#region-name-holder_region", "四川省成都市武侯区").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_charts_draw_chinese_labels_and_a_bar_opens_its_list() {
    let app = TestApp::spawn().await;
    let places = demo_places(&app).await;
    let (base, _driver, _profile, c) = open(&app).await;
    login(&c, &base, "sheng").await;
    c.goto(&format!("{base}/orgs/{}/analysis", places.province))
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("svg#chart-age"))
        .await
        .unwrap();
    shot(&c, "analysis.png").await;
    // The labels are SVG text drawn in a CJK font: each has a width on the page, and a
    // Chinese label is wider than a lone Latin letter at the same size.
    let measured = c
        .execute(
            "const t = [...document.querySelectorAll('svg#chart-age text')]; \
             const band = t.find(e => e.textContent === '31–40岁'); \
             const probe = document.createElementNS('http://www.w3.org/2000/svg', 'text'); \
             probe.textContent = 'x'; band.parentNode.appendChild(probe); \
             const r = [band.getBBox().width, probe.getBBox().width, \
                 document.querySelector('svg#chart-age title').textContent]; \
             probe.remove(); return r;",
            Vec::new(),
        )
        .await
        .unwrap();
    let band = measured[0].as_f64().unwrap();
    let letter = measured[1].as_f64().unwrap();
    assert!(band > 3.0 * letter, "label {band}px, one letter {letter}px");
    assert_eq!(measured[2].as_str(), Some("年龄（截至统计截止日）"));
    let titles = text_of(&c, "#composition").await;
    assert!(titles.contains("党员队伍构成"));
    // A click on a bar opens the members behind it.
    c.execute(
        "document.querySelector('svg#chart-age a').dispatchEvent(new MouseEvent('click', {bubbles: true}));",
        Vec::new(),
    )
    .await
    .unwrap();
    wait_for_text(&c, "#behind-label", "30岁及以下").await;
    shot(&c, "analysis-list.png").await;
    c.close().await.unwrap();
}
