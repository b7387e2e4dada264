//! One function per user action. Each authorises, runs its change in one transaction and
//! appends the audit event in that same transaction. Web handlers and CLI commands both call
//! these; neither touches the store for a change directly.

pub mod accountability;
pub mod accounts;
pub mod analysis;
pub mod auth;
pub mod campaign;
pub mod cases;
pub mod changes;
pub mod cities;
pub mod cockpit;
pub mod commendations;
pub mod demo;
pub mod demo_motion;
pub mod directory;
pub mod exchange;
pub mod export;
pub mod four_eyes;
pub mod import;
pub mod inbox;
pub mod member_form;
pub mod membership;
pub mod org_registration;
pub mod package;
pub mod reads;
pub mod refusal;
pub mod registration;
pub mod remind;
pub mod review;
pub mod roster;
pub mod samples;
pub mod second_factor;
pub mod setup;
pub mod summary;
pub mod survey;
pub mod template;
pub mod transfer;
pub mod upkeep;
pub mod users;

pub use refusal::Refusal;

/// Declares a module's service area: a view of [`Services`] whose methods are that module's
/// user actions, reached through the accessor of the same name on [`Services`].
macro_rules! area {
    ($name:ident) => {
        /// This module's user actions, reached by the accessor of the same name on
        /// [`Services`](crate::service::Services).
        #[derive(Debug, Clone, Copy)]
        pub struct $name<'a>(&'a $crate::service::Services);

        impl<'a> $name<'a> {
            pub(crate) fn of(services: &'a $crate::service::Services) -> Self {
                Self(services)
            }
        }

        impl std::ops::Deref for $name<'_> {
            type Target = $crate::service::Services;
            fn deref(&self) -> &$crate::service::Services {
                self.0
            }
        }
    };
}
pub(crate) use area;

use crate::authz::{Action, Actor, Decision, authorize};
use crate::crypto::{CryptoError, Keys};
use crate::domain::{FieldError, TreePath};
use crate::store::audit::By;
use crate::store::{Db, StoreError};

/// Everything the services need, passed explicitly.
#[derive(Debug, Clone)]
pub struct Services {
    pub db: Db,
    pub keys: Keys,
    pub session_hours: i64,
    pub limits: Limits,
    /// Reads of personal data waiting to be recorded (see [`reads::ReadLog`]).
    pub read_log: reads::ReadLog,
}

/// Limits that protect the server and the data from one user (settings, see `Config`).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failed logins and activations from one source address within the failure window
    /// before that address is refused for a while.
    pub address_failures: i64,
    /// ID numbers and licence numbers one user may check against the whole country per day
    /// (every dry run and import does), so a dry run is no free lookup service.
    pub lookups_per_day: i64,
    /// Imports and dry runs running at once: on the whole server and per user.
    pub imports: std::sync::Arc<import::Slots>,
    /// Exported CSV files start with a `#` line naming the export (see `Config`).
    pub csv_watermark: bool,
    /// A session unused this long ends (its absolute lifetime is `session_hours`).
    pub idle_minutes: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            address_failures: 30,
            lookups_per_day: 1_000_000,
            imports: std::sync::Arc::new(import::Slots::new(2)),
            csv_watermark: true,
            idle_minutes: 120,
        }
    }
}

/// The advisory lock key of [`Services::sweep_hourly`] ("dengji" + 1).
pub const HOURLY_SWEEP_LOCK: i64 = 0x6465_6e67_6a69_0001;

impl Services {
    pub fn new(db: Db, keys: Keys, session_hours: i64, limits: Limits) -> Self {
        Self {
            db,
            keys,
            session_hours,
            limits,
            read_log: reads::ReadLog::default(),
        }
    }

    /// Record a file the caller took out (an export, a printable report) in the audit log,
    /// in a transaction of its own: nothing else changes.
    pub(crate) async fn audit_export(
        &self,
        caller: Caller<'_>,
        event: crate::store::audit::NewEvent<'_>,
        subjects: &[i64],
        mark: &crate::watermark::Watermark,
    ) -> ServiceResult<()> {
        record_export(&self.db, caller, event, subjects, mark).await
    }

    /// The hourly upkeep of `dengji serve`: ended sessions dropped, deadline reminders sent,
    /// overdue cases told, overdue nodes and cases recorded for accountability, expired import
    /// uploads deleted. Several servers on one PostgreSQL database take turns: the one holding
    /// the advisory lock sweeps, the others skip the round (returns `false`). A failing sweep
    /// is logged and the others still run.
    pub async fn sweep_hourly(&self) -> ServiceResult<bool> {
        let Some(turn) = self.db.try_exclusive(HOURLY_SWEEP_LOCK).await? else {
            tracing::debug!("another server is sweeping; this round skipped");
            return Ok(false);
        };
        if let Err(e) = self.auth().purge_expired().await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
        if let Err(e) = self.exchange().refresh_latest().await {
            tracing::warn!(error = %e, "could not refresh the licensing reconciliation");
        }
        if let Err(e) = self.package().sweep_deadlines().await {
            tracing::warn!(error = %e, "could not sweep deadlines");
        }
        if let Err(e) = self.cases().sweep_overdue().await {
            tracing::warn!(error = %e, "could not sweep overdue cases");
        }
        if let Err(e) = self.accountability().sweep().await {
            tracing::warn!(error = %e, "could not record overdue nodes and cases");
        }
        if let Err(e) = self.import().purge_expired().await {
            tracing::warn!(error = %e, "could not purge expired uploads");
        }
        turn.release().await?;
        Ok(true)
    }

    // Service areas, one per module: `services.import().run(..)` is in `service::import`.

    /// The accountability register (追责) and its handling ([`accountability`]).
    pub fn accountability(&self) -> accountability::AccountabilityService<'_> {
        accountability::AccountabilityService::of(self)
    }

    /// Sign in and out, sessions ([`auth`]).
    pub fn auth(&self) -> auth::AuthService<'_> {
        auth::AuthService::of(self)
    }

    /// The campaign: start, deadlines, close ([`campaign`]).
    pub fn campaign(&self) -> campaign::CampaignService<'_> {
        campaign::CampaignService::of(self)
    }

    /// 分类处理 cases, their steps, outcomes and written reports ([`cases`]).
    pub fn cases(&self) -> cases::CasesService<'_> {
        cases::CasesService::of(self)
    }

    /// The cities assistant ([`cities`]).
    pub fn cities(&self) -> cities::CitiesService<'_> {
        cities::CitiesService::of(self)
    }

    /// 研判: a node's analysis of its subtree ([`analysis`]).
    pub fn analysis(&self) -> analysis::AnalysisService<'_> {
        analysis::AnalysisService::of(self)
    }

    /// 宣传: commendations nominated and approved up the chain ([`commendations`]).
    pub fn commendations(&self) -> commendations::CommendationsService<'_> {
        commendations::CommendationsService::of(self)
    }

    /// The exchange with the 全国律师综合管理系统 ([`exchange`]).
    pub fn exchange(&self) -> exchange::ExchangeService<'_> {
        exchange::ExchangeService::of(self)
    }

    /// The reviewer's overview of a subtree ([`cockpit`]).
    pub fn cockpit(&self) -> cockpit::CockpitService<'_> {
        cockpit::CockpitService::of(self)
    }

    /// The demo nation ([`demo`]).
    pub fn demo(&self) -> demo::DemoService<'_> {
        demo::DemoService::of(self)
    }

    /// Reading the tree: organisations, firms, members, audit ([`directory`]).
    pub fn directory(&self) -> directory::DirectoryService<'_> {
        directory::DirectoryService::of(self)
    }

    /// Exported tables (附件1, 附件2, 附件5 …) ([`export`]).
    pub fn export(&self) -> export::ExportService<'_> {
        export::ExportService::of(self)
    }

    /// Imports: upload, dry run, run, undo ([`import`]).
    pub fn import(&self) -> import::ImportService<'_> {
        import::ImportService::of(self)
    }

    /// The inbox ([`inbox`]).
    pub fn inbox(&self) -> inbox::InboxService<'_> {
        inbox::InboxService::of(self)
    }

    /// One member's or organisation's form as a document ([`member_form`]).
    pub fn member_form(&self) -> member_form::MemberFormService<'_> {
        member_form::MemberFormService::of(self)
    }

    /// Members: add, activation ([`membership`]).
    pub fn membership(&self) -> membership::MembershipService<'_> {
        membership::MembershipService::of(self)
    }

    /// 附件3, the organisation's form ([`org_registration`]).
    pub fn org_registration(&self) -> org_registration::OrgRegistrationService<'_> {
        org_registration::OrgRegistrationService::of(self)
    }

    /// Packages submitted upward: submit, accept, return, extend ([`package`]).
    pub fn package(&self) -> package::PackageService<'_> {
        package::PackageService::of(self)
    }

    /// 附件1/附件2, the member's own form ([`registration`]).
    pub fn registration(&self) -> registration::RegistrationService<'_> {
        registration::RegistrationService::of(self)
    }

    /// 催办: reminders to members and child nodes that have not finished ([`remind`]).
    pub fn remind(&self) -> remind::RemindService<'_> {
        remind::RemindService::of(self)
    }

    /// Reviewing members' forms: approve, return ([`review`]).
    pub fn review(&self) -> review::ReviewService<'_> {
        review::ReviewService::of(self)
    }

    /// Spot-check samples (抽查核验): draw, assign, check, report ([`samples`]).
    pub fn samples(&self) -> samples::SamplesService<'_> {
        samples::SamplesService::of(self)
    }

    /// Summary tables (附件4, 附件6) ([`summary`]).
    pub fn summary(&self) -> summary::SummaryService<'_> {
        summary::SummaryService::of(self)
    }

    /// 摸底核查, the survey of members not registered ([`survey`]).
    pub fn survey(&self) -> survey::SurveyService<'_> {
        survey::SurveyService::of(self)
    }

    /// Read audit and access histories ([`reads`]).
    pub fn reads(&self) -> reads::ReadsService<'_> {
        reads::ReadsService::of(self)
    }

    /// User accounts ([`users`]).
    pub fn four_eyes(&self) -> four_eyes::FourEyesService<'_> {
        four_eyes::FourEyesService::of(self)
    }

    pub fn factors(&self) -> second_factor::FactorService<'_> {
        second_factor::FactorService::of(self)
    }

    pub fn users(&self) -> users::UsersService<'_> {
        users::UsersService::of(self)
    }

    /// Working accounts in bulk from a sheet, with activation codes ([`accounts`]).
    pub fn accounts(&self) -> accounts::AccountsService<'_> {
        accounts::AccountsService::of(self)
    }

    /// 名册 (now or on a past date) and 档案 ([`roster`]).
    pub fn roster(&self) -> roster::RosterService<'_> {
        roster::RosterService::of(self)
    }

    /// 组织关系转接: start, accept, refuse, withdraw ([`transfer`]).
    pub fn transfer(&self) -> transfer::TransferService<'_> {
        transfer::TransferService::of(self)
    }

    /// Keeping the firm and organisation registry current ([`upkeep`]).
    pub fn changes(&self) -> changes::ChangeService<'_> {
        changes::ChangeService::of(self)
    }

    pub fn upkeep(&self) -> upkeep::UpkeepService<'_> {
        upkeep::UpkeepService::of(self)
    }
}

/// Who is calling: a signed-in user (always authorised), or the operator at the command line
/// of the server (trusted: the CLI runs with the server's own rights).
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    User(&'a Actor),
    Operator,
}

impl<'a> Caller<'a> {
    pub fn by(self) -> By<'a> {
        match self {
            Self::User(a) => By::Actor(a),
            Self::Operator => By::System("命令行"),
        }
    }

    /// Who it is, in records people read (batches, exports): the user's name or 命令行.
    pub fn display_name(self) -> String {
        match self {
            Self::User(a) => a.display_name.clone(),
            Self::Operator => "命令行".to_owned(),
        }
    }

    /// The signed-in user's id, for "updated by" columns (none for the operator).
    pub fn user_id(self) -> Option<crate::domain::UserId> {
        match self {
            Self::User(a) => Some(a.user_id),
            Self::Operator => None,
        }
    }

    /// Authorise `action` on something at `target`; the operator may do everything.
    pub fn require(self, action: Action, target: Option<&TreePath>) -> Result<(), ServiceError> {
        match self {
            Self::Operator => Ok(()),
            Self::User(actor) => match authorize(actor, action, target) {
                Decision::Allow => Ok(()),
                Decision::Forbidden => Err(ServiceError::Forbidden),
                Decision::NotFound => Err(ServiceError::NotFound),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("未找到该记录，或您无权查看")]
    NotFound,
    #[error("您的角色无权进行此操作")]
    Forbidden,
    #[error("输入有误")]
    Invalid(Vec<FieldError>),
    /// Refused by a rule or the state of the records ([`Refusal`] says which).
    #[error("{0}")]
    Conflict(Refusal),
    /// A form refused as a whole; each finding belongs beside its field.
    #[error("登记表有需要更正的内容，未能提交")]
    Rejected(Vec<crate::forms::Finding>),
    #[error("用户名或密码错误")]
    LoginFailed,
    #[error("登录失败次数过多，账号已暂时锁定，请于 {0} 后再试")]
    LockedOut(String),
    #[error("激活码错误次数过多，激活已暂时锁定（不影响已有密码的登录），请于 {0} 后再试")]
    ActivationLocked(String),
    #[error("来自您所在网络地址的失败尝试过多，已暂时限制，请于 {0} 后再试")]
    Throttled(String),
    /// Too much at once (imports running, a daily limit reached): try again later.
    #[error("{0}")]
    Busy(String),
    #[error("账号已停用，请联系管理员")]
    Disabled,
    /// Work the server could not finish (a file not written, a worker thread gone): no fault
    /// of the user's, nothing stored; the message says what failed.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl ServiceError {
    /// Too much at once, from the service's limits or the database's, or the database out of
    /// reach for a moment: try again later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Self::Busy(_) | Self::Store(StoreError::Busy | StoreError::Lost)
        )
    }

    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A store `Conflict` (somebody else acted first) as a refusal saying `message`; other store
/// errors pass through.
pub fn on_race(e: StoreError, message: &str) -> ServiceError {
    match e {
        StoreError::Conflict => ServiceError::Conflict(Refusal::Raced(message.to_owned())),
        other => other.into(),
    }
}

/// Refusal of a save made over an older version of a form.
pub fn stale_form() -> ServiceError {
    ServiceError::Conflict(Refusal::StaleForm)
}

/// An organisation the caller may read (role first, then the subtree), or `NotFound`.
pub async fn readable_org(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    id: crate::domain::OrgId,
) -> ServiceResult<crate::store::orgs::Org> {
    caller.require(Action::ReadDirectory, None)?;
    let org = crate::store::orgs::get(conn, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    caller.require(Action::ReadDirectory, Some(&org.path))?;
    Ok(org)
}

/// An organisation whose members the caller may manage — add, import, export (clerks,
/// reviewers and administrators of its subtree) — or `Forbidden` / `NotFound`.
pub async fn managed_org(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    id: crate::domain::OrgId,
) -> ServiceResult<crate::store::orgs::Org> {
    caller.require(Action::ManageMembers, None)?;
    let org = readable_org(conn, caller, id).await?;
    caller.require(Action::ManageMembers, Some(&org.path))?;
    Ok(org)
}

/// The campaign under way (the latest one), or a clear refusal when none exists yet.
pub async fn current_campaign_of(
    conn: &mut sqlx::AnyConnection,
) -> ServiceResult<crate::store::campaigns::Campaign> {
    crate::store::campaigns::latest(conn)
        .await?
        .ok_or(ServiceError::Conflict(Refusal::NoCampaign))
}

/// The campaign under way, for a change: refused once the campaign is closed.
pub async fn open_campaign_of(
    conn: &mut sqlx::AnyConnection,
) -> ServiceResult<crate::store::campaigns::Campaign> {
    let c = current_campaign_of(conn).await?;
    if c.closed_at.is_some() {
        return Err(ServiceError::Conflict(Refusal::CampaignClosed(c.name)));
    }
    Ok(c)
}

/// The date every rule about time is judged at: the campaign's reference date (by default its
/// cut-off date), never the clock — a 2018 record checked in 2026 is judged as in 2018. Today
/// only when no campaign exists yet.
pub fn rules_date(campaign: Option<&crate::store::campaigns::Campaign>) -> time::Date {
    campaign
        .and_then(|c| crate::forms::rules::parse_date(c.judged_at()))
        .unwrap_or_else(beijing_today)
}

/// Format unix seconds as Beijing time, `2018-08-31 17:05`.
pub fn beijing_time(unix: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let t = t.to_offset(offset);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => String::new(),
    }
}

/// The unix second a day starts at in Beijing.
pub fn beijing_day_start(date: time::Date) -> i64 {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    date.midnight().assume_offset(offset).unix_timestamp()
}

/// Today's date in Beijing (one of the two places that read the clock; see clippy.toml).
#[allow(clippy::disallowed_methods)]
pub fn beijing_today() -> time::Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::now_utc().to_offset(offset).date()
}

/// The watermark of an export made now by `caller` for the node `org_name`.
pub(crate) fn watermark(
    caller: Caller<'_>,
    org_name: &str,
    purpose: Option<&str>,
) -> crate::watermark::Watermark {
    crate::watermark::Watermark {
        export_id: crate::watermark::new_export_id(),
        who: match caller {
            Caller::User(a) => format!("{}（{}）", a.display_name, a.username),
            Caller::Operator => "命令行".to_owned(),
        },
        org: org_name.to_owned(),
        at: beijing_time(crate::store::now()),
        purpose: purpose.map(str::to_owned),
    }
}

/// Record an export in its own transaction: the event carries the export's id (also in its
/// detail, for the log) and the members it named.
pub(crate) async fn record_export(
    db: &Db,
    caller: Caller<'_>,
    mut e: crate::store::audit::NewEvent<'_>,
    subjects: &[i64],
    mark: &crate::watermark::Watermark,
) -> ServiceResult<()> {
    if let serde_json::Value::Object(map) = &mut e.detail {
        map.insert("export_id".into(), mark.export_id.clone().into());
        if let Some(p) = &mark.purpose {
            map.insert("purpose".into(), p.clone().into());
        }
    }
    let mut tx = db.begin().await?;
    crate::store::audit::append_with(&mut tx, caller.by(), e, subjects, Some(&mark.export_id))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Why someone sees full citizen ID numbers (a reveal on screen, or an export with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Review,
    Verify,
    Case,
    Exchange,
    Other(String),
}

impl Purpose {
    /// The choices offered, as (code, label).
    pub const CHOICES: [(&'static str, &'static str); 5] = [
        ("review", "审核"),
        ("verify", "核查"),
        ("case", "分类处理"),
        ("exchange", "对接"),
        ("other", "其他"),
    ];

    /// Read a choice; 其他 needs a note (at most 100 characters). Refused with the field named.
    pub fn parse(code: &str, note: &str) -> Result<Self, ServiceError> {
        let note = note.trim();
        // The Chinese label reads as its code (the command line takes either).
        let code = Self::CHOICES
            .iter()
            .find(|(_, l)| *l == code.trim())
            .map_or(code.trim(), |(c, _)| *c);
        Ok(match code {
            "review" => Self::Review,
            "verify" => Self::Verify,
            "case" => Self::Case,
            "exchange" => Self::Exchange,
            "other" if note.is_empty() => {
                return Err(ServiceError::invalid("用途说明", "选择“其他”时请写明用途"));
            }
            "other" if note.chars().count() > 100 => {
                return Err(ServiceError::invalid("用途说明", "用途说明请写在100字以内"));
            }
            "other" => Self::Other(note.to_owned()),
            "" => {
                return Err(ServiceError::invalid(
                    "用途",
                    "查看或导出完整公民身份号码须选择用途",
                ));
            }
            _ => return Err(ServiceError::invalid("用途", "请从列表中选择用途")),
        })
    }

    pub fn label(&self) -> String {
        match self {
            Self::Review => "审核".into(),
            Self::Verify => "核查".into(),
            Self::Case => "分类处理".into(),
            Self::Exchange => "对接".into(),
            Self::Other(note) => format!("其他：{note}"),
        }
    }
}

/// How an export writes citizen ID numbers: masked (the default) or in full, for a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Ids {
    #[default]
    Masked,
    Full(Purpose),
}

impl Ids {
    pub fn purpose(&self) -> Option<String> {
        match self {
            Self::Masked => None,
            Self::Full(p) => Some(p.label()),
        }
    }

    /// From a form or query: `ids=full` with `purpose` (and `note` for 其他); anything else
    /// is masked.
    pub fn parse(ids: &str, purpose: &str, note: &str) -> Result<Self, ServiceError> {
        if ids.trim() == "full" {
            Ok(Self::Full(Purpose::parse(purpose, note)?))
        } else {
            Ok(Self::Masked)
        }
    }
}

/// Tell the working accounts of `child` about a decision on what it reported (`notice`: kind
/// and title, `link`: the page to open) and audit it as `action`, in the caller's transaction.
pub(crate) async fn tell_child_and_audit(
    conn: &mut sqlx::AnyConnection,
    caller: Caller<'_>,
    child: &crate::store::orgs::Org,
    link: &str,
    notice: (crate::domain::NoticeKind, &str),
    action: &'static str,
    detail: serde_json::Value,
) -> ServiceResult<()> {
    crate::store::notifications::send(
        conn,
        crate::store::notifications::To::Staff(child.id),
        notice.0,
        notice.1,
        link,
        None,
    )
    .await?;
    crate::store::audit::append(
        conn,
        caller.by(),
        crate::store::audit::NewEvent {
            action,
            target_kind: "org",
            target_id: child.id.to_string(),
            target_path: &child.path,
            detail,
        },
    )
    .await?;
    Ok(())
}
