//! The test harness: a fresh database per test (SQLite file, or a new PostgreSQL database when
//! `DENGJI_TEST_DATABASE=postgres`), the services and router over it, and HTTP clients that
//! keep a session cookie and the form token.

use std::sync::OnceLock;

pub mod builders;
pub mod files;
pub mod finders;
pub mod work;

pub use files::{Book, Cell, row};
pub use work::{a3_values, completion, input, inputs_of, member_form};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use dengji::crypto::Keys;
use dengji::domain::{MemberId, OrgId, Role};
use dengji::service::demo::{DEMO_PASSWORD, DemoOptions, DemoSummary};
use dengji::service::import::{ImportRequest, Imported, Mode, Report};
use dengji::service::users::NewAccount;
use dengji::service::{Caller, Limits, Services};
use dengji::store::{Backend, Db};
use dengji::web::{AppState, router};

pub const PASSWORD: &str = "Test1234pass";

/// Which database this run of the suite uses.
pub fn backend() -> Backend {
    match std::env::var("DENGJI_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("DENGJI_TEST_DATABASE={other}: expected sqlite or postgres"),
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("DENGJI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://dengji:dengji@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database URL (plus the temp dir keeping an SQLite file alive).
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match backend() {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            let admin = pg_admin_url();
            let name = format!(
                "dengji_t_{}",
                dengji::crypto::random_token()[..12]
                    .to_lowercase()
                    .replace('-', "_")
            );
            let db = Db::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL was asked for (DENGJI_TEST_DATABASE=postgres) but is unreachable: {e}")
            });
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(db.pool())
                .await
                .expect("create test database");
            db.close().await;
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin);
            (format!("{base}/{name}"), None)
        }
    }
}

pub struct TestApp {
    pub services: Services,
    pub router: Router,
    pub url: String,
    pub demo: Option<DemoSummary>,
    /// Firm organisations built so far ([`builders`]), numbering what each build writes.
    built: std::sync::atomic::AtomicU32,
    _dir: Option<tempfile::TempDir>,
}

pub fn test_keys() -> Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys::from_master(&[42u8; 32])).clone()
}

impl TestApp {
    /// Start a campaign as the national operator: cut off at `cutoff`, its time rules judged at
    /// `reference` (empty: the cut-off date), every deadline far off so that a test can run
    /// the campaign to its end on any day.
    pub async fn start_campaign(&self, name: &str, cutoff: &str, reference: &str) {
        use dengji::service::campaign::{CampaignForm, Deadlines};
        self.services
            .campaign()
            .start(
                dengji::service::Caller::Operator,
                &CampaignForm {
                    name: name.into(),
                    cutoff: cutoff.into(),
                    reference: reference.into(),
                    deadlines: Deadlines {
                        firm: "2099-08-31".into(),
                        city: "2099-09-30".into(),
                        province: "2099-10-31".into(),
                        national: "2099-11-30".into(),
                    },
                },
            )
            .await
            .expect("campaign started");
    }

    /// Migrated database with the top of the tree, no demo data.
    pub async fn empty() -> Self {
        let (url, dir) = fresh_database().await;
        let db = Db::connect(&url).await.expect("connect");
        db.migrate().await.expect("migrate");
        dengji::service::setup::ensure_top_of_tree(&db)
            .await
            .expect("top of tree");
        let services = Services::new(db, test_keys(), 12, Limits::default());
        let router = router(AppState {
            services: services.clone(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
        });
        Self {
            services,
            router,
            url,
            demo: None,
            built: std::sync::atomic::AtomicU32::new(0),
            _dir: dir,
        }
    }

    /// With a small demo nation (300 members).
    pub async fn spawn() -> Self {
        Self::with_members(300).await
    }

    pub async fn with_members(members: u64) -> Self {
        let mut app = Self::empty().await;
        let summary = app
            .services
            .demo()
            .generate(
                &DemoOptions {
                    members,
                    firms: None,
                    seed: 7,
                },
                &|_| {},
            )
            .await
            .expect("demo");
        app.demo = Some(summary);
        app
    }

    /// Run the `dengji` binary on this app's database with the test keys: success, stdout,
    /// stderr.
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        self.cli_with_input(args, "").await
    }

    /// [`TestApp::cli`] with `input` on the command's standard input.
    pub async fn cli_with_input(&self, args: &[&str], input: &str) -> (bool, String, String) {
        let (code, out, err) = self.cli_status(args, input).await;
        (code == Some(0), out, err)
    }

    /// [`TestApp::cli_with_input`] with the exit status: 0 done, 1 refused, 2 given wrongly,
    /// 3 unavailable. The reads this app recorded are written first: the test's thread waits
    /// for the command, and the writer must not hold the database meanwhile.
    pub async fn cli_status(&self, args: &[&str], input: &str) -> (Option<i32>, String, String) {
        use std::io::Write;
        self.services.read_log.flush().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("test.key");
        std::fs::write(&key, "2a".repeat(32)).expect("key file");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dengji"))
            .args(args)
            .env("DENGJI_DATABASE_URL", &self.url)
            .env("DENGJI_KEY_FILE", &key)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run dengji");
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).expect("standard input");
        }
        let out = child.wait_with_output().expect("dengji ends");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn anonymous(&self) -> Client {
        Client {
            router: self.router.clone(),
            server: None,
            cookie: None,
            csrf: None,
            from: None,
        }
    }

    /// Log in through the login form.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        Self::login_with(self.anonymous(), username, password).await
    }

    /// Log in through the login form that `c` reaches (this router or a server).
    pub async fn login_with(c: Client, username: &str, password: &str) -> Client {
        let r = c
            .post_raw(
                "/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "login of {username} failed: {}",
            r.body
        );
        Self::signed_in(c, &r).await
    }

    /// The client of a sign-in that answered `r` (a redirect with the session cookie).
    pub async fn signed_in(mut c: Client, r: &TestResponse) -> Client {
        let set = r.header("set-cookie").expect("session cookie");
        c.cookie = Some(set.split(';').next().unwrap_or_default().to_owned());
        let mut page = c.get("/account/password").await;
        // A second factor still to set up closes every other page.
        if let Some(to) = page.location() {
            page = c.get(&to).await;
        }
        c.csrf = Some(extract_csrf(&page.body).expect("csrf token on page"));
        c
    }

    /// A demo account (password `Dengji2018`).
    pub async fn login_demo(&self, username: &str) -> Client {
        self.login(username, DEMO_PASSWORD).await
    }

    /// Create an account with `role` at `org` (and `member` for the member role) and log in.
    pub async fn login_as(&self, role: Role, org: OrgId, member: Option<MemberId>) -> Client {
        let username = format!(
            "u{}",
            &dengji::crypto::random_token()[..10]
                .to_lowercase()
                .replace('-', "_")
        );
        self.services
            .users()
            .create(
                Caller::Operator,
                NewAccount {
                    username: username.clone(),
                    display_name: "测试用户".into(),
                    password: PASSWORD.into(),
                    role,
                    org_id: org,
                    member_id: member,
                    must_change_password: false,
                },
            )
            .await
            .expect("create user");
        self.login(&username, PASSWORD).await
    }
}

/// A `dengji serve` process on a test app's database with the test keys, killed when dropped;
/// what it writes to stderr goes to `log`.
pub struct Served {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestApp {
    /// Start `dengji serve` on a free loopback port over this app's database, and wait until it
    /// answers `/healthz` (a bounded number of tries, not a time limit on the test).
    pub async fn serve(&self) -> Served {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("k.key");
        write_key(&key, 42, 0o600);
        let log = dir.path().join("stderr.log");
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_dengji"))
            .args(["serve", "--listen", &addr.to_string()])
            .env("DENGJI_DATABASE_URL", &self.url)
            .env("DENGJI_KEY_FILE", &key)
            .env_remove("DENGJI_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("dengji serve starts");
        let served = Served {
            child,
            addr,
            log,
            _dir: dir,
        };
        for _ in 0..300 {
            if let Ok(mut s) = std::net::TcpStream::connect(addr) {
                let _ =
                    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut text = String::new();
                let _ = s.read_to_string(&mut text);
                if text.contains("200 OK") {
                    return served;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "dengji serve did not come up: {}",
            std::fs::read_to_string(&served.log).unwrap_or_default()
        );
    }
}

pub fn extract_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

#[derive(Clone)]
pub struct Client {
    router: Router,
    /// Set by [`Client::via`]: the requests go over TCP to this `dengji serve` instead.
    server: Option<std::net::SocketAddr>,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    /// The address the requests come from, as the server's listener would tell it.
    pub from: Option<std::net::SocketAddr>,
}

/// One request as HTTP/1.1 over a fresh TCP connection (`Connection: close`), the answer
/// read to its end; a chunked body is joined. (Blocking I/O: the server is another process.)
async fn over_tcp(addr: std::net::SocketAddr, req: Request<Body>) -> axum::response::Response {
    use std::io::{Read, Write};
    let (parts, body) = req.into_parts();
    let body = body.collect().await.expect("request body").to_bytes();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        parts.method,
        parts.uri,
        body.len()
    );
    for (name, value) in &parts.headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().expect("header")));
    }
    head.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(&body).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the answer's head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let mut resp = axum::response::Response::builder().status(status);
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
            continue;
        }
        resp = resp.header(name, value);
    }
    if chunked {
        let mut joined = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .expect("chunk size");
            if size == 0 {
                break;
            }
            joined.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest.drain(..eol + 2 + size + 2);
        }
        rest = joined;
    }
    resp.body(Body::from(rest)).expect("answer")
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }
}

impl Client {
    /// The same session and form token, talking to the server listening at `addr` (another
    /// process on the same database) instead of this test's router.
    pub fn via(&self, addr: std::net::SocketAddr) -> Client {
        Client {
            server: Some(addr),
            ..self.clone()
        }
    }

    async fn respond(&self, req: Request<Body>) -> axum::response::Response {
        if let Some(addr) = self.server {
            return over_tcp(addr, req).await;
        }
        self.router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers")
    }

    async fn send(&self, req: Request<Body>) -> TestResponse {
        let resp = self.respond(req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, c);
        }
        if let Some(addr) = self.from {
            b = b.extension(axum::extract::ConnectInfo(addr));
        }
        b
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(
            self.request("GET", path)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// A download: status, Content-Disposition and the raw bytes.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let req = self
            .request("GET", path)
            .body(Body::empty())
            .expect("request");
        let resp = self.respond(req).await;
        let status = resp.status();
        let disposition = resp
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, disposition, bytes.to_vec())
    }

    /// POST a multipart form with one file (`file`), the session's CSRF token first.
    pub async fn post_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: &[u8],
    ) -> TestResponse {
        self.post_files(path, fields, &[("file", file_name, bytes)])
            .await
    }

    /// A multipart form with several files: (field, file name, content).
    pub async fn post_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> TestResponse {
        let boundary = "----dengji-test-boundary-7MA4YWxkTrZu0gW";
        let mut body: Vec<u8> = Vec::new();
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        all.extend_from_slice(fields);
        for (k, v) in all {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            self.request("POST", path)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.send(
            self.request("POST", path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// POST a form with an `Origin` header, as a browser on another site would.
    pub async fn send_with_origin(
        &self,
        path: &str,
        origin: &str,
        form: &[(&str, &str)],
    ) -> TestResponse {
        let body = serde_urlencoded::to_string(form).expect("form");
        self.send(
            self.request("POST", path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, origin)
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// POST a form with this session's CSRF token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = form.to_vec();
        all.push(("csrf", &csrf));
        self.post_raw(path, &all).await
    }
}

/// Ids of the demo's branch: its city node, firm organisation and member, plus a node of
/// another province (outside every demo account below national level).
pub struct DemoPlaces {
    pub province: OrgId,
    pub city: OrgId,
    pub firm_org: OrgId,
    pub member: MemberId,
    pub other_province: OrgId,
    pub other_city: OrgId,
}

pub async fn demo_places(app: &TestApp) -> DemoPlaces {
    let province = app.user("sheng").await.org_id;
    let city = app.user("shi").await.org_id;
    let firm_org = app.user("suo").await.org_id;
    let member = app
        .user("dangyuan")
        .await
        .member_id
        .expect("the demo member");
    // The first city (by id) of another province with members in its own firms.
    let firms_with_members: std::collections::BTreeSet<_> =
        app.all_members().await.iter().map(|m| m.firm_id).collect();
    let root = app.root().await;
    let cities: std::collections::BTreeSet<OrgId> = app
        .firms_under(root)
        .await
        .iter()
        .filter(|f| firms_with_members.contains(&f.id))
        .map(|f| f.city_org_id)
        .collect();
    let mut other_city = None;
    for c in cities {
        if app.org(c).await.parent_id != Some(province) {
            other_city = Some(c);
            break;
        }
    }
    let other_city = other_city.expect("a city of another province with members");
    let other_province = app.org(other_city).await.parent_id.expect("its province");
    DemoPlaces {
        province,
        city,
        firm_org,
        member,
        other_province,
        other_city,
    }
}

/// Run a Python 3 script (`python3 -c SCRIPT ARGS…`, openpyxl installed by
/// scripts/test-env.sh) and return what it printed; its error output when it fails.
pub fn python(script: &str, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 with openpyxl (scripts/test-env.sh installs it)");
    assert!(
        out.status.success(),
        "the Python script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// Shared by several test files: counting rows, ID numbers, page text, imports.

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.services.read_log.flush().await;
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

pub async fn check(app: &TestApp, into: OrgId, bytes: &[u8]) -> Report {
    app.services
        .import()
        .check(Caller::Operator, into, bytes, None, &|_, _| {})
        .await
        .unwrap()
}

pub async fn run(app: &TestApp, into: OrgId, bytes: &[u8], mode: Mode) -> Imported {
    app.services
        .import()
        .run(
            Caller::Operator,
            ImportRequest {
                into,
                file_name: "名册.xlsx",
                bytes,
                kind: None,
                mode,
            },
            &|_, _| {},
        )
        .await
        .unwrap()
}

pub fn has(r: &Report, row: Option<u32>, rule: &str, words: &str) -> bool {
    r.issues
        .iter()
        .any(|i| i.row == row && i.rule == rule && i.message.contains(words))
}

pub fn issues(r: &Report) -> String {
    r.issues
        .iter()
        .map(|i| format!("{:?} {} {} {}", i.row, i.rule, i.error, i.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A valid ID number that the demo (seeded) never produces: born 1931 in 110101.
pub fn fresh_id(seq: u32) -> String {
    let body = format!("11010119310101{seq:03}");
    format!(
        "{body}{}",
        dengji::domain::citizen_id::check_char(body.as_bytes())
    )
}

pub async fn firm_of_org(app: &TestApp, org: i64) -> i64 {
    sqlx::query_scalar("SELECT MIN(id) FROM firms WHERE org_id = $1")
        .bind(org)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

/// The text of a page right after `start`, up to the next tag.
pub fn between<'a>(html: &'a str, start: &str) -> &'a str {
    let s = html.find(start).map(|i| i + start.len()).unwrap_or(0);
    let e = html[s..].find('<').map(|i| s + i).unwrap_or(s);
    &html[s..e]
}

/// HTML text back to what it says (the entities askama writes).
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Client {
    /// A risky action answered with the 双人复核 form: ask with `reason`; the request's id.
    pub async fn ask_second_person(&self, page: &TestResponse, reason: &str) -> i64 {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("需要双人复核"), "{}", page.body);
        let payload = page
            .body
            .split("name=\"payload\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(unescape)
            .expect("payload");
        let r = self
            .post("/approvals", &[("payload", &payload), ("reason", reason)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let mine = self.get("/approvals").await;
        mine.body
            .split("action=\"/approvals/")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .and_then(|s| s.parse().ok())
            .expect("the request among mine")
    }

    /// Approve request `id`; the response.
    pub async fn approve_request(&self, id: i64) -> TestResponse {
        self.post(&format!("/approvals/{id}/approve"), &[("note", "")])
            .await
    }
}

/// Every invariant of `dengji check` holds.
pub async fn assert_clean(app: &TestApp) {
    let mut conn = app.services.db.acquire().await.unwrap();
    let broken: Vec<_> = dengji::store::check::run(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .filter(|f| f.violations > 0)
        .map(|f| format!("{}: {}", f.name, f.violations))
        .collect();
    assert!(broken.is_empty(), "dengji check: {broken:?}");
}

/// The named refusal of a service call that should have been refused.
pub fn refusal(
    r: Result<impl std::fmt::Debug, dengji::service::ServiceError>,
) -> dengji::service::Refusal {
    match r {
        Err(dengji::service::ServiceError::Conflict(x)) => x,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Run the `dengji` binary on database `url` with key file `key` (and `DENGJI_CONFIG` unset):
/// whether it succeeded, and what it printed on both streams.
pub fn dengji_with_key(args: &[&str], url: &str, key: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dengji"))
        .args(args)
        .env("DENGJI_DATABASE_URL", url)
        .env("DENGJI_KEY_FILE", key)
        .env_remove("DENGJI_LISTEN")
        .env_remove("DENGJI_CONFIG")
        .output()
        .expect("run dengji");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Write a key file of 32 bytes `byte` (42: the master secret of [`test_keys`]) with `mode`.
pub fn write_key(path: &std::path::Path, byte: u8, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let hex: String = std::iter::repeat_n(format!("{byte:02x}"), 32).collect();
    std::fs::write(path, hex).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Rename a firm through the directory service as the operator, keeping its other particulars.
pub async fn rename_firm(app: &TestApp, firm: dengji::domain::FirmId, name: &str) {
    let f = app.firm(firm).await;
    app.services
        .upkeep()
        .edit_firm(
            dengji::service::Caller::Operator,
            firm,
            &dengji::service::upkeep::FirmInput {
                name: name.into(),
                credit_code: f.credit_code.clone(),
                region_code: f.region_code.clone(),
                form: f.form.clone(),
                lawyer_count: f.lawyer_count.to_string(),
                effective_on: String::new(),
            },
        )
        .await
        .unwrap();
}

/// Print an HTML file to PDF in headless Chromium, as a user's 打印 does, and read it back with
/// poppler: the number of pages, `pdfinfo`'s report and the text layer.
pub fn print_to_pdf(dir: &std::path::Path, page: &std::path::Path) -> (usize, String, String) {
    let pdf = dir.join("printed.pdf");
    let status = std::process::Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            &format!("--user-data-dir={}", dir.join("profile").display()),
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", page.display()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("chromium must be installed (scripts/test.sh installs it)");
    assert!(status.success());
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let info = std::process::Command::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let pages: usize = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("Pages:")
                .map(|n| n.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let out = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext must be installed (poppler-utils; scripts/test.sh installs it)");
    (
        pages,
        info,
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

/// A new city-level node made by the cities assistant, as a deployment makes them: under the
/// province `under`, or (for the national root) under 江苏; its id.
pub async fn make_city(app: &TestApp, under: OrgId) -> OrgId {
    use dengji::service::cities::NewCity;
    let op = Caller::Operator;
    let province = if app.org(under).await.parent_id.is_none() {
        OrgId(count(app, "SELECT id FROM orgs WHERE region_code = '320000'").await)
    } else {
        under
    };
    let (_, proposed) = app.services.cities().propose(op, province).await.unwrap();
    let p = proposed
        .into_iter()
        .find(|p| p.existing.is_none())
        .expect("a city left to create");
    app.services
        .cities()
        .create(
            op,
            province,
            &[NewCity {
                region_code: p.region_code.clone(),
                name: p.name.clone(),
                judicial: false,
            }],
        )
        .await
        .unwrap();
    OrgId(
        sqlx::query_scalar("SELECT id FROM orgs WHERE level = 'city' AND region_code = $1")
            .bind(p.region_code)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
    )
}
