//! Entry points of the fuzz targets in `fuzz/` and of the test that replays their corpus: each
//! takes arbitrary bytes, must not panic, and checks what must hold whatever the input.

// A panic is how a fuzz target reports what it found.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use time::{Date, Month};

use crate::domain::{CitizenId, CreditCode, LicenceNo, Mobile};
use crate::forms::Catalogue;
use crate::forms::rules::Severity;
use crate::sheet;

/// A date for the time rules, from two bytes: any day from 2000 to 2063.
fn date_from(a: u8, b: u8) -> Date {
    let days = i64::from(u16::from_le_bytes([a, b]) % (64 * 365));
    Date::from_calendar_date(2000, Month::January, 1)
        .map(|d| d.saturating_add(time::Duration::days(days)))
        .unwrap_or(Date::MIN)
}

/// The spreadsheet reader (.xlsx, CSV in every encoding it reads): a file is read or refused
/// with a message; what is read has rows in order, numbered from 1, no wider than the limit,
/// and the streaming reader gives the same cells.
pub fn sheet(data: &[u8]) {
    let read = sheet::read(data);
    let mut streamed = 0usize;
    let streaming = sheet::stream(
        data,
        |_| {},
        |_, cells| {
            assert!(
                cells.len() <= sheet::MAX_COLUMNS as usize,
                "too many columns"
            );
            streamed += 1;
            true
        },
    );
    match read {
        Ok(s) => {
            assert!(streaming.is_ok(), "read but not streamed");
            assert!(
                s.rows.windows(2).all(|w| w[0].0 < w[1].0),
                "rows out of order"
            );
            assert!(s.rows.iter().all(|(n, _)| *n >= 1), "row 0");
            assert!(s.rows.len() <= streamed, "more rows read than streamed");
            for (_, cells) in &s.rows {
                for c in cells {
                    let _ = crate::service::import::cell_text(c);
                }
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a refusal without a message");
        }
    }
}

/// ID, credit-code, licence and mobile numbers: parsing never panics, and what parses is kept
/// in the form that parses again to itself.
pub fn ids(data: &[u8]) {
    let Some((&[a, b], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let today = date_from(a, b);
    let text = String::from_utf8_lossy(rest);
    if let Ok(id) = CitizenId::parse(&text, today) {
        let again = CitizenId::parse(id.as_str(), today).expect("a parsed ID parses again");
        assert_eq!(again.as_str(), id.as_str());
        assert!(id.birth_date() <= today, "born after the day of judgement");
        let masked = id.masked();
        assert!(
            !masked.contains(&id.as_str()[6..14]),
            "the mask shows the birth date"
        );
        let _ = id.sex_code();
    }
    if let Ok(c) = CreditCode::parse(&text) {
        let again = CreditCode::parse(c.as_str()).expect("a parsed credit code parses again");
        assert_eq!(again.as_str(), c.as_str());
    }
    if let Ok(c) = CreditCode::parse_law_firm(&text) {
        assert!(
            CreditCode::parse(c.as_str()).is_ok(),
            "a firm's code is a code"
        );
    }
    if let Ok(l) = LicenceNo::parse(&text) {
        let again = LicenceNo::parse(l.as_str()).expect("a parsed licence parses again");
        assert_eq!(again.as_str(), l.as_str());
        let _ = (l.first_year(), l.practice_type());
    }
    if let Ok(m) = Mobile::parse(&text) {
        let again = Mobile::parse(m.as_str()).expect("a parsed mobile parses again");
        assert_eq!(again.as_str(), m.as_str());
    }
}

/// The form validator on a form's values as stored (a JSON object of texts) or on any JSON
/// value made into one: every form of the catalogue checked at a date from the first two
/// bytes; every finding names a field of the form and says something.
pub fn form_values(data: &[u8]) {
    let Some((&[a, b], rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let today = date_from(a, b);
    let values: BTreeMap<String, String> = match serde_json::from_slice(rest) {
        Ok(v) => v,
        Err(_) => match serde_json::from_slice::<serde_json::Value>(rest) {
            Ok(serde_json::Value::Object(o)) => o
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => return,
        },
    };
    let catalogue = Catalogue::get();
    for form in &catalogue.forms {
        let findings = crate::forms::rules::validate(catalogue, form, &values, today);
        for f in &findings {
            assert!(!f.message.is_empty(), "a finding without a message");
            assert!(
                f.field.is_empty() || catalogue.field(&f.field).is_some(),
                "a finding on an unknown field {}",
                f.field
            );
        }
        let error = |f: &&crate::forms::rules::Finding| f.severity == Severity::Error;
        let errors_first = findings.iter().skip_while(error).all(|f| !error(&f));
        assert!(errors_first, "a warning before an error");
    }
}

/// Where a login goes next: only a path of this site, whatever was typed or encoded.
pub fn login_next(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let next = crate::web::safe_next(Some(text));
    assert!(next == "/" || next == text, "the target was rewritten");
    let base = url::Url::parse("https://dengji.example/").expect("base");
    let joined = base.join(&next).expect("a local path joins");
    assert_eq!(
        joined.host_str(),
        Some("dengji.example"),
        "left the site: {next}"
    );
    assert_eq!(joined.scheme(), "https");
}

/// The import check on a small demo nation in a SQLite file of its own: files checked as
/// `dengji import --dry-run` does, as the operator, into the national node.
pub struct ImportHarness {
    runtime: tokio::runtime::Runtime,
    services: crate::service::Services,
    root: crate::domain::OrgId,
    /// The SQLite file made by [`Self::new`], removed at the end.
    file: Option<std::path::PathBuf>,
}

impl ImportHarness {
    /// Build the demo nation (60 members) in a new SQLite file under the temporary folder.
    pub fn new() -> Self {
        let file = std::env::temp_dir().join(format!("dengji-fuzz-{}.db", std::process::id()));
        crate::store::remove_sqlite_files(&file, true);
        let mut h = Self::on(&format!("sqlite://{}", file.display()));
        h.file = Some(file);
        h
    }

    /// Build the demo nation (60 members) in the empty database at `url` (the corpus replay
    /// test runs on both databases).
    pub fn on(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (services, root) = runtime.block_on(async {
            let db = crate::store::Db::connect(url).await.expect("connect");
            db.migrate().await.expect("migrate");
            let (root, _) = crate::service::setup::ensure_top_of_tree(&db)
                .await
                .expect("top of tree");
            let services = crate::service::Services::new(
                db,
                crate::crypto::Keys::from_master(&[42u8; 32]),
                12,
                crate::service::Limits::default(),
            );
            services
                .demo()
                .generate(
                    &crate::service::demo::DemoOptions {
                        members: 60,
                        firms: Some(3),
                        seed: 2018,
                    },
                    &|_| {},
                )
                .await
                .expect("demo");
            (services, root)
        });
        Self {
            runtime,
            services,
            root,
            file: None,
        }
    }

    /// Check `data`: the first byte chooses the kind (told by the header, or one of the five),
    /// the rest is the file. A file is reported on or refused; the report adds up. The data
    /// rows the report counts.
    pub fn check(&self, data: &[u8]) -> usize {
        use crate::service::ServiceError;
        use crate::service::import::ImportKind;
        let Some((&k, file)) = data.split_first() else {
            return 0;
        };
        let kind = match k % 6 {
            0 => None,
            1 => Some(ImportKind::Lawyers),
            2 => Some(ImportKind::Staff),
            3 => Some(ImportKind::Members),
            4 => Some(ImportKind::Firms),
            _ => Some(ImportKind::Orgs),
        };
        let result = self
            .runtime
            .block_on(self.services.import().check_unrecorded(
                crate::service::Caller::Operator,
                self.root,
                file,
                kind,
            ));
        match result {
            Ok(r) => {
                assert!(!r.file_error || r.issues.iter().any(|i| i.error) || r.kind.is_some());
                assert_eq!(r.valid + r.invalid, r.rows, "rows do not add up");
                for i in &r.issues {
                    assert!(!i.message.is_empty(), "a finding without a message");
                    assert!(i.row.is_none_or(|n| n >= 1), "row 0");
                }
                r.rows
            }
            Err(
                e @ (ServiceError::Store(_) | ServiceError::Failed(_) | ServiceError::Crypto(_)),
            ) => {
                panic!("the check failed on its own: {e}")
            }
            Err(_) => 0,
        }
    }
}

impl Default for ImportHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ImportHarness {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            crate::store::remove_sqlite_files(f, true);
        }
    }
}
