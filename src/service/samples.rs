//! 全面审核、抽查核验 (notice §三(五)1): the national committee — or a province over its own
//! subtree — draws a seeded, stratified sample of registered records from a frozen population,
//! assigns checkers, records 属实 / 不属实 for each, and reads the false rate per stratum and
//! overall. A 不属实 finding returns the record to the member and opens an accountability record
//! naming who passed it up.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::accountability::finding_record;
use super::review::{ReturnOf, ReviewService};
use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::domain::sample::{self, Estimate, StratumTally, Unit};
use crate::domain::{
    Finding, OrgId, OrgLevel, RegistrationMove, SampleId, SampleItemId, SampleParams, TreePath,
};
use crate::forms::Catalogue;
use crate::store::audit::{self, NewEvent};
use crate::store::samples::{self, NewCheck, NewItem, NewSample, NewStratum};
use crate::store::{accountability, members, orgs, registrations, users};

pub use crate::store::samples::{Item, ItemFilter, Sample, Stratum};

/// Longest note of a check.
const NOTE_CHARS: usize = 500;

super::area!(SamplesService);

/// A stratum's line of the sample report.
#[derive(Debug, Clone)]
pub struct StratumLine {
    pub stratum: Stratum,
    /// The false rate among the checked records and its Wilson interval.
    pub estimate: Option<Estimate>,
}

/// A sample's page: what was drawn and how, each stratum's progress and false rate, the
/// overall estimate weighted by stratum.
#[derive(Debug, Clone)]
pub struct SampleView {
    pub sample: Sample,
    pub strata: Vec<StratumLine>,
    pub overall: Option<Estimate>,
    /// Records drawn, checked, found false: within the strata the caller sees.
    pub drawn: u64,
    pub checked: u64,
    pub false_count: u64,
    /// The caller may assign checkers (the drawing node's 审核人 or administrator).
    pub can_assign: bool,
}

/// A sampled record's check page.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: Item,
    pub sample: Sample,
    /// The record's content now differs from the frozen digest.
    pub changed_since_drawn: bool,
    /// The form's fields (code, label, value) as they are now.
    pub fields: Vec<(String, String, String)>,
    pub can_check: bool,
    /// The accountability record its 不属实 finding opened.
    pub account: Option<accountability::Account>,
}

/// A node's samples.
#[derive(Debug, Clone)]
pub struct SampleList {
    pub org: orgs::Org,
    pub samples: Vec<Sample>,
    /// The caller may draw here.
    pub can_draw: bool,
}

/// A check as the checker gives it.
#[derive(Debug, Clone)]
pub struct CheckInput {
    pub version: i64,
    pub finding: Finding,
    /// Field codes found false (不属实 only).
    pub false_fields: Vec<String>,
    pub note: String,
}

/// What each registered record of the population keeps until the draw.
struct Entry {
    unit: Unit,
    /// The first 16 hex digits of its content digest.
    digest16: String,
    /// Its organisation's path, as an index into the paths read.
    path: usize,
}

/// The stratum node of a record at `path` for stratifying by `level`: its ancestor at that
/// level, or its own node when it sits higher (a member of a city-level node itself).
fn stratum_of(path: &str, level: OrgLevel) -> Option<(OrgId, String)> {
    let ids = TreePath::parse(path)?.ids();
    let depth = (level.depth() as usize).min(ids.len().saturating_sub(1));
    let stratum = ids[1..=depth]
        .iter()
        .fold(TreePath::root(ids[0]), |p, id| p.child(*id));
    Some((ids[depth], stratum.as_str().to_owned()))
}

/// A form's content digest, as the review records it on approval.
fn digest_of(c: &samples::FormContent) -> String {
    super::review::content_digest(&c.form_code, &c.data, c.citizen_id_masked.as_deref())
}

/// The draw weight of a record: 1, plus one for each risk mark (the bits of `risk`) when
/// weighting is asked for.
fn weight_of(risk: u32, weighted: bool) -> u32 {
    if !weighted {
        return 1;
    }
    1 + (risk & 0b111).count_ones()
}

/// One stratum's frozen list: `member:weight:digest16` by member id.
fn frozen_text(entries: &[Entry]) -> String {
    let mut s = String::with_capacity(entries.len() * 28);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&e.unit.id.to_string());
        s.push(':');
        s.push_str(&e.unit.weight.to_string());
        s.push(':');
        s.push_str(&e.digest16);
    }
    s
}

/// Add one stratum's frozen list to the population digest (strata in path order).
fn fold_stratum(all: &mut Sha256, stratum: OrgId, frozen: &str) {
    all.update(stratum.0.to_string().as_bytes());
    all.update(b"\n");
    all.update(frozen.as_bytes());
    all.update(b"\n");
}

/// Read a frozen list back into its units.
fn frozen_units(text: &str) -> ServiceResult<Vec<Unit>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let mut it = part.split(':');
            let id = it.next().and_then(|v| v.parse().ok());
            let weight = it.next().and_then(|v| v.parse().ok());
            match (id, weight) {
                (Some(id), Some(weight)) => Ok(Unit { id, weight }),
                _ => Err(ServiceError::Failed("抽样冻结名单无法读取".into())),
            }
        })
        .collect()
}

fn level_field(e: (&'static str, String)) -> ServiceError {
    ServiceError::invalid(e.0, e.1)
}

impl SamplesService<'_> {
    /// The samples drawn by the node and the nodes below it.
    pub async fn list(&self, caller: Caller<'_>, org_id: OrgId) -> ServiceResult<SampleList> {
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        let samples =
            samples::list(&mut conn, &crate::authz::Scope::Subtree(org.path.clone())).await?;
        let can_draw = org.level <= OrgLevel::Province
            && caller.require(Action::DrawSample, Some(&org.path)).is_ok();
        Ok(SampleList {
            org,
            samples,
            can_draw,
        })
    }

    /// Draw a sample of the approved records of the node's subtree: stratified by `by`, the
    /// rate within its bounds per stratum, seeded; the population frozen with its digests.
    pub async fn draw(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
        params: &SampleParams,
        note: &str,
    ) -> ServiceResult<SampleId> {
        caller.require(Action::DrawSample, None)?;
        params.validate().map_err(level_field)?;
        let note = note.trim();
        if note.chars().count() > NOTE_CHARS {
            return Err(ServiceError::invalid("说明", "说明请写在500字以内"));
        }
        let mut conn = self.db.acquire().await?;
        let org = super::readable_org(&mut conn, caller, org_id).await?;
        caller.require(Action::DrawSample, Some(&org.path))?;
        if org.level > OrgLevel::Province {
            return Err(ServiceError::Conflict(Refusal::NotADrawingLevel));
        }
        if params.by <= org.level {
            return Err(ServiceError::invalid(
                "分层级别",
                format!("{}只能按更低的级别分层", org.level.label()),
            ));
        }
        let campaign = super::current_campaign_of(&mut conn).await?;
        let started = std::time::Instant::now();
        // The population, read once and frozen: per stratum (by path), in member id order.
        let mut paths: Vec<String> = Vec::new();
        let mut strata: BTreeMap<String, (OrgId, Vec<Entry>)> = BTreeMap::new();
        let mut undigested = Vec::new();
        samples::each_registered(&mut conn, campaign.id, &org.path, |r| {
            let corrupt = || crate::store::StoreError::Corrupt("registrations.org_path".into());
            let (stratum, path) = stratum_of(&r.org_path, params.by).ok_or_else(corrupt)?;
            let at = paths.len();
            paths.push(r.org_path);
            let list = &mut strata
                .entry(path)
                .or_insert_with(|| (stratum, Vec::new()))
                .1;
            for unit in r.units.split(',') {
                let mut it = unit.splitn(3, ':');
                let (Some(id), Some(risk), Some(digest)) = (
                    it.next().and_then(|v| v.parse::<i64>().ok()),
                    it.next().and_then(|v| v.parse::<u32>().ok()),
                    it.next(),
                ) else {
                    return Err(crate::store::StoreError::Corrupt("registrations".into()));
                };
                if digest.is_empty() {
                    undigested.push(crate::domain::MemberId(id));
                }
                list.push(Entry {
                    unit: Unit {
                        id,
                        weight: weight_of(risk, params.weighted),
                    },
                    digest16: digest.to_owned(),
                    path: at,
                });
            }
            Ok(())
        })
        .await?;
        // A form approved with no approval on record (loaded in bulk): digested here.
        if !undigested.is_empty() {
            let digests: std::collections::HashMap<i64, String> =
                samples::contents(&mut conn, campaign.id, &undigested)
                    .await?
                    .iter()
                    .map(|c| {
                        let d = digest_of(c);
                        (c.member_id.0, sample::short_digest(&d).to_owned())
                    })
                    .collect();
            for (_, list) in strata.values_mut() {
                for e in list.iter_mut().filter(|e| e.digest16.is_empty()) {
                    e.digest16 = digests.get(&e.unit.id).cloned().unwrap_or_default();
                }
            }
        }
        drop(conn);
        let read = started.elapsed();
        let population: usize = strata.values().map(|(_, e)| e.len()).sum();
        if population == 0 {
            return Err(ServiceError::Conflict(Refusal::NothingToSample));
        }
        let mut all = Sha256::new();
        let mut new_strata = Vec::with_capacity(strata.len());
        let mut chosen_all: Vec<(OrgId, Unit, usize)> = Vec::new();
        for (path, (stratum, entries)) in strata.iter_mut() {
            entries.sort_unstable_by_key(|e| e.unit.id);
            let frozen = frozen_text(entries);
            fold_stratum(&mut all, *stratum, &frozen);
            let units: Vec<Unit> = entries.iter().map(|e| e.unit).collect();
            let k = params.stratum_size(units.len() as u64) as usize;
            let chosen = sample::draw(params.seed, stratum.0, &units, k);
            let by_id: std::collections::HashMap<i64, usize> =
                entries.iter().map(|e| (e.unit.id, e.path)).collect();
            for u in &chosen {
                if let Some(at) = by_id.get(&u.id) {
                    chosen_all.push((*stratum, *u, *at));
                }
            }
            new_strata.push(NewStratum {
                org_id: *stratum,
                org_path: path.clone(),
                population: entries.len() as i64,
                size: chosen.len() as i64,
                frozen,
            });
        }
        drop(strata);
        // The sampled forms' registration ids and full digests, from their content now.
        let mut conn = self.db.acquire().await?;
        let members: Vec<crate::domain::MemberId> = chosen_all
            .iter()
            .map(|(_, u, _)| crate::domain::MemberId(u.id))
            .collect();
        let found: std::collections::HashMap<i64, (i64, String)> =
            samples::contents(&mut conn, campaign.id, &members)
                .await?
                .iter()
                .map(|c| (c.member_id.0, (c.registration_id, digest_of(c))))
                .collect();
        drop(conn);
        let mut items = Vec::with_capacity(chosen_all.len());
        for (stratum, u, at) in chosen_all {
            let Some((registration_id, digest)) = found.get(&u.id).cloned() else {
                return Err(ServiceError::Failed(
                    "抽中的登记表在抽取过程中被删除，请重新抽取".into(),
                ));
            };
            items.push(NewItem {
                stratum_org_id: stratum,
                member_id: crate::domain::MemberId(u.id),
                registration_id,
                org_path: paths[at].clone(),
                weight: u.weight,
                digest,
            });
        }
        let size = items.len() as i64;
        let drawn = started.elapsed();
        let (drawn_by, drawer_name) = (caller.user_id(), caller.display_name());
        let mut tx = self.db.begin().await?;
        let id = samples::insert(
            &mut tx,
            &NewSample {
                campaign_id: campaign.id,
                org_id: org.id,
                org_path: &org.path,
                by: params.by,
                rate_ppm: params.rate_ppm,
                min: params.min,
                max: params.max,
                weighted: params.weighted,
                seed: params.seed,
                population: population as i64,
                size,
                population_digest: hex::encode(all.finalize()),
                rules_date: super::rules_date(Some(&campaign)).to_string(),
                note: note.to_owned(),
                drawn_by,
                drawer_name,
            },
            &new_strata,
            items,
        )
        .await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "sample.draw",
                target_kind: "sample",
                target_id: id.to_string(),
                target_path: &org.path,
                detail: serde_json::json!({
                    "by": params.by.code(),
                    "rate_ppm": params.rate_ppm,
                    "min": params.min,
                    "max": params.max,
                    "weighted": params.weighted,
                    "seed": params.seed.to_string(),
                    "population": population,
                    "size": size,
                    "strata": new_strata.len(),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        tracing::debug!(
            read_ms = read.as_millis() as u64,
            drawn_ms = drawn.as_millis() as u64,
            stored_ms = started.elapsed().as_millis() as u64,
            population,
            "sample drawn"
        );
        Ok(id)
    }

    /// The sample, if the caller's subtree and the sample's overlap; and the path the caller
    /// sees of it (the deeper of the two).
    async fn readable(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: SampleId,
    ) -> ServiceResult<(Sample, TreePath)> {
        caller.require(Action::ReadDirectory, None)?;
        let s = samples::get(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let seen = match caller {
            Caller::Operator => s.org_path.clone(),
            Caller::User(a) if a.org_path.contains(&s.org_path) => s.org_path.clone(),
            Caller::User(a) if s.org_path.contains(&a.org_path) => a.org_path.clone(),
            Caller::User(_) => return Err(ServiceError::NotFound),
        };
        Ok((s, seen))
    }

    /// A sampled record within the caller's part of its sample, with the sample.
    async fn readable_item(
        &self,
        conn: &mut sqlx::AnyConnection,
        caller: Caller<'_>,
        id: SampleItemId,
    ) -> ServiceResult<(Item, Sample)> {
        let item = samples::item(conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let (sample, seen) = self.readable(conn, caller, item.sample_id).await?;
        if !seen.contains(&item.org_path) {
            return Err(ServiceError::NotFound);
        }
        Ok((item, sample))
    }

    /// The sample report: strata the caller sees with their false rates, and the overall
    /// estimate weighted by stratum population.
    pub async fn view(&self, caller: Caller<'_>, id: SampleId) -> ServiceResult<SampleView> {
        let mut conn = self.db.acquire().await?;
        let (sample, seen) = self.readable(&mut conn, caller, id).await?;
        let strata: Vec<StratumLine> = samples::strata(&mut conn, id)
            .await?
            .into_iter()
            .filter(|s| seen.contains(&s.org_path) || s.org_path.contains(&seen))
            .map(|s| StratumLine {
                estimate: sample::wilson(s.false_count, s.checked),
                stratum: s,
            })
            .collect();
        let tallies: Vec<StratumTally> = strata
            .iter()
            .map(|l| StratumTally {
                population: l.stratum.population,
                checked: l.stratum.checked,
                false_count: l.stratum.false_count,
            })
            .collect();
        Ok(SampleView {
            overall: sample::stratified(&tallies),
            drawn: strata.iter().map(|l| l.stratum.size).sum(),
            checked: strata.iter().map(|l| l.stratum.checked).sum(),
            false_count: strata.iter().map(|l| l.stratum.false_count).sum(),
            can_assign: caller
                .require(Action::DrawSample, Some(&sample.org_path))
                .is_ok(),
            strata,
            sample,
        })
    }

    /// One page of the sampled records the caller sees.
    pub async fn items(
        &self,
        caller: Caller<'_>,
        id: SampleId,
        f: &ItemFilter,
    ) -> ServiceResult<crate::store::orgs::Page<Item>> {
        let mut conn = self.db.acquire().await?;
        let (_, seen) = self.readable(&mut conn, caller, id).await?;
        let f = ItemFilter {
            page: f.page.max(1),
            per_page: f.per_page.clamp(1, 200),
            ..f.clone()
        };
        Ok(samples::items(&mut conn, id, &crate::authz::Scope::Subtree(seen), &f).await?)
    }

    /// Draw again from the frozen population with the stored seed and parameters: true when
    /// it gives exactly the records drawn, in the same order.
    pub async fn reproduces(&self, caller: Caller<'_>, id: SampleId) -> ServiceResult<bool> {
        let mut conn = self.db.acquire().await?;
        let (sample, _) = self.readable(&mut conn, caller, id).await?;
        let params = SampleParams {
            by: sample.by,
            rate_ppm: sample.rate_ppm,
            min: sample.min,
            max: sample.max,
            weighted: sample.weighted,
            seed: sample.seed,
        };
        let mut again = Vec::new();
        let mut all = Sha256::new();
        for (stratum, text) in samples::frozen(&mut conn, id).await? {
            fold_stratum(&mut all, stratum, &text);
            let units = frozen_units(&text)?;
            let k = params.stratum_size(units.len() as u64) as usize;
            again.extend(
                sample::draw(params.seed, stratum.0, &units, k)
                    .into_iter()
                    .map(|u| u.id),
            );
        }
        let drawn: Vec<i64> = samples::all_items(&mut conn, id)
            .await?
            .into_iter()
            .map(|i| i.member_id.0)
            .collect();
        Ok(hex::encode(all.finalize()) == sample.population_digest && again == drawn)
    }

    /// Assign the unchecked records of a stratum (or of the whole sample) to an account: a
    /// 经办人 or 审核人 at the stratum's node or above it, within the drawing node's subtree.
    pub async fn assign(
        &self,
        caller: Caller<'_>,
        id: SampleId,
        stratum: Option<OrgId>,
        username: &str,
    ) -> ServiceResult<u64> {
        let mut tx = self.db.begin().await?;
        let sample = samples::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        caller.require(Action::DrawSample, None)?;
        caller.require(Action::DrawSample, Some(&sample.org_path))?;
        let target = match stratum {
            Some(s) => {
                let st = samples::strata(&mut tx, id)
                    .await?
                    .into_iter()
                    .find(|x| x.org_id == s)
                    .ok_or_else(|| ServiceError::invalid("分层", "该抽样没有这一层"))?;
                st.org_path
            }
            None => sample.org_path.clone(),
        };
        let user = users::get_by_username(&mut tx, username.trim())
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(|| ServiceError::invalid("核查人", "没有这个可用的账号"))?;
        let fits = matches!(
            user.role,
            crate::domain::Role::Clerk | crate::domain::Role::Reviewer
        ) && sample.org_path.contains(&user.org_path)
            && user.org_path.contains(&target);
        if !fits {
            return Err(ServiceError::invalid(
                "核查人",
                format!(
                    "核查人须为{}或其上级（抽样单位以内）的经办人或审核人",
                    if stratum.is_some() {
                        "该层党组织"
                    } else {
                        "抽样单位"
                    }
                ),
            ));
        }
        let name = format!("{}（{}）", user.display_name, user.org_name);
        let n = samples::assign(&mut tx, id, stratum, user.id, &name).await?;
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "sample.assign",
                target_kind: "sample",
                target_id: id.to_string(),
                target_path: &sample.org_path,
                detail: serde_json::json!({
                    "stratum": stratum.map(|s| s.0),
                    "checker": user.id.0,
                    "records": n,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// May the caller record this record's check: the account it is assigned to, or — while
    /// unassigned — a 经办人 or 审核人 of the drawing node.
    fn may_check(caller: Caller<'_>, sample: &Sample, item: &Item) -> ServiceResult<()> {
        caller.require(Action::CheckSample, Some(&item.org_path))?;
        let Caller::User(a) = caller else {
            return Ok(());
        };
        match (item.checker_id, &item.checker_name) {
            (Some(c), _) if c == a.user_id => Ok(()),
            (Some(_), name) => Err(ServiceError::Conflict(Refusal::AssignedToAnother(
                name.clone().unwrap_or_default(),
            ))),
            (None, _) if a.org_path == sample.org_path => Ok(()),
            (None, _) => Err(ServiceError::Forbidden),
        }
    }

    /// A sampled record's page: the form as it is now, whether it changed since it was drawn,
    /// and the check.
    pub async fn item(&self, caller: Caller<'_>, id: SampleItemId) -> ServiceResult<ItemView> {
        let mut conn = self.db.acquire().await?;
        let (item, sample) = self.readable_item(&mut conn, caller, id).await?;
        let reg = registrations::get(&mut conn, sample.campaign_id, item.member_id).await?;
        let current = reg.as_ref().map(super::review::digest);
        let fields = reg
            .as_ref()
            .map(|r| form_fields(&r.form_code, &r.data))
            .unwrap_or_default();
        let account = accountability::of_item(&mut conn, id).await?;
        drop(conn);
        super::reads::record(
            self,
            caller,
            super::reads::Read {
                action: "read.sample_item",
                target_kind: "sample_item",
                target_id: id.to_string(),
                target_path: &item.org_path,
                subjects: vec![item.member_id.0],
                detail: serde_json::json!({}),
            },
        )
        .await?;
        Ok(ItemView {
            changed_since_drawn: current.as_deref() != Some(item.digest.as_str()),
            fields,
            can_check: item.result.is_none() && Self::may_check(caller, &sample, &item).is_ok(),
            account,
            item,
            sample,
        })
    }

    /// Record 属实 or 不属实 for a sampled record, once. 不属实 names the fields found false and
    /// returns the record to the member (reopening the packages up to the drawing node) and
    /// opens an accountability record, all in one transaction.
    pub async fn check(
        &self,
        caller: Caller<'_>,
        id: SampleItemId,
        input: &CheckInput,
    ) -> ServiceResult<()> {
        let note = input.note.trim();
        if note.chars().count() > NOTE_CHARS {
            return Err(ServiceError::invalid("核验说明", "核验说明请写在500字以内"));
        }
        let catalogue = Catalogue::get();
        if input.finding == Finding::False {
            if input.false_fields.is_empty() {
                return Err(ServiceError::invalid(
                    "不属实的项目",
                    "请勾选核验发现不属实的项目",
                ));
            }
            if let Some(bad) = input
                .false_fields
                .iter()
                .find(|f| catalogue.field(f).is_none())
            {
                return Err(ServiceError::invalid(
                    "不属实的项目",
                    format!("没有“{bad}”这一项"),
                ));
            }
            if note.is_empty() {
                return Err(ServiceError::invalid(
                    "核验说明",
                    "不属实须写明核验发现的情况",
                ));
            }
        }
        let mut tx = self.db.begin().await?;
        let (item, sample) = self.readable_item(&mut tx, caller, id).await?;
        if let (Some(_), Some(by)) = (item.result, &item.checked_name) {
            return Err(ServiceError::Conflict(Refusal::AlreadyChecked(by.clone())));
        }
        Self::may_check(caller, &sample, &item)?;
        let member = members::get(&mut tx, item.member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let reg = registrations::get(&mut tx, sample.campaign_id, item.member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let current = super::review::digest(&reg);
        // Who passed it up, read before the return adds its own review.
        let approval = crate::store::reviews::latest_approval(&mut tx, reg.id).await?;
        let fields: Vec<String> = if input.finding == Finding::False {
            input.false_fields.clone()
        } else {
            Vec::new()
        };
        samples::record(
            &mut tx,
            id,
            input.version,
            &NewCheck {
                result: input.finding,
                false_fields: &fields,
                note,
                checked_digest: &current,
                by: caller.user_id(),
                by_name: &caller.display_name(),
            },
        )
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict => {
                ServiceError::Conflict(Refusal::AlreadyChecked("他人".into()))
            }
            other => other.into(),
        })?;
        let mut returned = false;
        if input.finding == Finding::False {
            let labels: Vec<&str> = fields
                .iter()
                .filter_map(|f| catalogue.field(f).map(|x| x.label.as_str()))
                .collect();
            let why = format!("抽查核验不属实（{}）：{note}", labels.join("、"));
            if reg.state.after(RegistrationMove::Return).is_some() {
                // The campaign must still be open for a return.
                super::open_campaign_of(&mut tx).await?;
                let label = catalogue
                    .list("return_reason")
                    .and_then(|l| l.label("incorrect"))
                    .unwrap_or("信息有误");
                ReviewService::return_record(
                    &mut tx,
                    caller,
                    &member,
                    &reg,
                    &ReturnOf {
                        reason_code: "incorrect",
                        label,
                        note: &why,
                        from: Some(&sample.org_path),
                    },
                )
                .await?;
                returned = true;
            }
            let package =
                crate::store::packages::get(&mut tx, sample.campaign_id, member.org_id).await?;
            let record = finding_record(&sample, &item, &member, package.as_ref(), approval, &why);
            accountability::insert(&mut tx, vec![record]).await?;
        }
        audit::append(
            &mut tx,
            caller.by(),
            NewEvent {
                action: "sample.check",
                target_kind: "sample_item",
                target_id: id.to_string(),
                target_path: &item.org_path,
                detail: serde_json::json!({
                    "sample": sample.id.0,
                    "member": member.id.0,
                    "result": input.finding.code(),
                    "false_fields": fields,
                    "changed_since_drawn": current != item.digest,
                    "returned": returned,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The sample report as a printable .xlsx (file name, bytes): the strata the caller sees,
    /// the overall estimate, and the checked records. Audited.
    pub async fn report_xlsx(
        &self,
        caller: Caller<'_>,
        id: SampleId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let view = self.view(caller, id).await?;
        let mut conn = self.db.acquire().await?;
        let (_, seen) = self.readable(&mut conn, caller, id).await?;
        let items: Vec<Item> = samples::all_items(&mut conn, id)
            .await?
            .into_iter()
            .filter(|i| seen.contains(&i.org_path))
            .collect();
        drop(conn);
        let mark = super::watermark(caller, &view.sample.org_name, None);
        let bytes = report_workbook(&view, &items, &mark)
            .map_err(|e| ServiceError::Failed(format!("无法生成 Excel 文件：{e}")))?;
        self.audit_export(
            caller,
            NewEvent {
                action: "export.sample_report",
                target_kind: "sample",
                target_id: id.to_string(),
                target_path: &seen,
                detail: serde_json::json!({ "records": items.len() }),
            },
            &items.iter().map(|i| i.member_id.0).collect::<Vec<_>>(),
            &mark,
        )
        .await?;
        Ok((format!("抽查核验报告-{}.xlsx", id.0), bytes))
    }
}

/// The fields of a form with their current values (labels of code values), in form order.
fn form_fields(form_code: &str, data: &str) -> Vec<(String, String, String)> {
    let catalogue = Catalogue::get();
    let values: BTreeMap<String, String> = serde_json::from_str(data).unwrap_or_default();
    let Some(form) = catalogue.form(form_code) else {
        return Vec::new();
    };
    catalogue
        .fields_of(form)
        .map(|f| {
            let raw = values.get(&f.code).cloned().unwrap_or_default();
            let shown = f
                .list
                .as_deref()
                .and_then(|l| catalogue.list(l))
                .and_then(|l| l.label(&raw))
                .map(str::to_owned)
                .unwrap_or(raw);
            (f.code.clone(), f.label.clone(), shown)
        })
        .collect()
}

fn interval(e: Option<Estimate>) -> (String, String) {
    match e {
        Some(e) => (
            sample::percent(e.rate),
            format!("{} – {}", sample::percent(e.low), sample::percent(e.high)),
        ),
        None => ("—".into(), "—".into()),
    }
}

/// Two sheets on A4: the report per stratum with the overall line, and the checked records.
fn report_workbook(
    v: &SampleView,
    items: &[Item],
    mark: &crate::watermark::Watermark,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_border(FormatBorder::Thin);
    let cell = Format::new().set_border(FormatBorder::Thin);
    let s = &v.sample;
    {
        let ws = wb.add_worksheet();
        ws.set_name("抽查核验报告")?;
        ws.set_paper_size(9);
        ws.set_landscape();
        ws.write_string_with_format(0, 0, format!("抽查核验报告（{}）", s.org_name), &bold)?;
        ws.write_string(
            1,
            0,
            format!(
                "按{}分层，比例 {}，每层最少 {}、最多 {}{}；种子 {}；总体 {} 份，抽取 {} 份；总体摘要 {}",
                s.by.label(),
                sample::rate_label(s.rate_ppm),
                s.min,
                s.max,
                if s.weighted {
                    "；有提示、被退回过或代填的记录按风险加权抽取"
                } else {
                    ""
                },
                s.seed,
                s.population,
                s.size,
                sample::short_digest(&s.population_digest),
            ),
        )?;
        let cols = [
            "分层",
            "总体",
            "抽取",
            "已核验",
            "不属实",
            "不属实率",
            "95% 置信区间（Wilson）",
        ];
        for (c, h) in cols.iter().enumerate() {
            ws.write_string_with_format(3, c as u16, *h, &head)?;
        }
        ws.set_column_width(0, 28)?;
        ws.set_column_width(6, 24)?;
        let mut r = 4;
        for l in &v.strata {
            let (rate, ci) = interval(l.estimate);
            let st = &l.stratum;
            ws.write_string_with_format(r, 0, &st.org_name, &cell)?;
            ws.write_number_with_format(r, 1, st.population as f64, &cell)?;
            ws.write_number_with_format(r, 2, st.size as f64, &cell)?;
            ws.write_number_with_format(r, 3, st.checked as f64, &cell)?;
            ws.write_number_with_format(r, 4, st.false_count as f64, &cell)?;
            ws.write_string_with_format(r, 5, &rate, &cell)?;
            ws.write_string_with_format(r, 6, &ci, &cell)?;
            r += 1;
        }
        let (rate, ci) = interval(v.overall);
        ws.write_string_with_format(r, 0, "合计（按分层总体加权）", &head)?;
        ws.write_number_with_format(
            r,
            1,
            v.strata.iter().map(|l| l.stratum.population).sum::<u64>() as f64,
            &head,
        )?;
        ws.write_number_with_format(r, 2, v.drawn as f64, &head)?;
        ws.write_number_with_format(r, 3, v.checked as f64, &head)?;
        ws.write_number_with_format(r, 4, v.false_count as f64, &head)?;
        ws.write_string_with_format(r, 5, &rate, &head)?;
        ws.write_string_with_format(r, 6, &ci, &head)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("抽查记录")?;
        ws.set_paper_size(9);
        ws.set_landscape();
        let cols = [
            "序号",
            "分层",
            "姓名",
            "所在党组织",
            "核查人",
            "核验结果",
            "不属实的项目",
            "核验说明",
            "抽取后内容有变更",
        ];
        for (c, h) in cols.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &head)?;
        }
        let catalogue = Catalogue::get();
        for (i, it) in items.iter().enumerate() {
            let r = i as u32 + 1;
            let fields: Vec<&str> = it
                .false_fields
                .iter()
                .filter_map(|f| catalogue.field(f).map(|x| x.label.as_str()))
                .collect();
            let changed = it
                .checked_digest
                .as_deref()
                .map_or("", |d| if d == it.digest { "否" } else { "是" });
            let row = [
                it.position.to_string(),
                it.stratum_name.clone(),
                it.member_name.clone(),
                it.org_name.clone(),
                it.checker_name.clone().unwrap_or_default(),
                it.result.map_or("未核验", Finding::label).to_owned(),
                fields.join("、"),
                it.note.clone().unwrap_or_default(),
                changed.to_owned(),
            ];
            for (c, v) in row.iter().enumerate() {
                ws.write_string_with_format(r, c as u16, v, &cell)?;
            }
        }
    }
    mark.apply(&mut wb);
    wb.save_to_buffer()
}
