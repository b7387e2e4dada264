//! A believable synthetic nation for demonstrations, tests and benchmarks: every province and
//! its prefecture-level cities, firms and party organisations in realistic proportions, and
//! members with valid ID numbers, licence numbers and credit codes. Seeded and reproducible.

use std::collections::{HashMap, HashSet};

use super::setup::ensure_top_of_tree;
use super::{Caller, Refusal, ServiceError, ServiceResult};
use crate::crypto::hash_password;
use crate::domain::{
    CitizenId, FirmId, MemberId, OrgId, OrgKind, OrgLevel, Role, TreePath, citizen_id, credit_code,
};
use crate::forms::divisions;
use crate::store::audit::{self, NewEvent};
use crate::store::bulk::{self, FirmRow, OrgRow};
use crate::store::members::NewMember;
use crate::store::orgs::Org;
use crate::store::users;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "Dengji2018";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub members: u64,
    /// Number of firms; by default one per 20 members (50,000 for 1,000,000 members).
    pub firms: Option<u64>,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            members: 3000,
            firms: None,
            seed: 2018,
        }
    }
}

/// A demo account to print for the user.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub org_name: String,
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub orgs: u64,
    pub firms: u64,
    pub members: u64,
    pub logins: Vec<DemoLogin>,
}

/// SplitMix64: small, fast, and the same stream on every platform and crate version.
pub struct DemoRng(u64);

impl DemoRng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn range(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        lo + self.below((hi_inclusive - lo + 1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏",
    "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯",
    "欧阳", "司马", "上官",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "文", "辉", "力", "玲", "宁", "晨", "凯",
    "欣", "怡", "佳", "雪", "琳", "晓", "红", "斌", "浩", "宇", "鹏", "波", "峰", "昊", "婷", "倩",
    "璐", "颖", "哲", "睿", "博", "思", "然", "子", "梓", "嘉", "俊", "志", "国", "海", "东", "春",
];
const FIRM_WORDS: &[&str] = &[
    "德", "恒", "正", "信", "和", "诚", "君", "合", "天", "元", "华", "泰", "金", "海", "明", "达",
    "国", "浩", "大", "成", "中", "伦", "通", "商", "锦", "竞", "公", "汇", "业", "嘉", "源", "瑞",
    "丰", "立", "方", "卓", "越", "远", "东", "盈", "科", "京", "师", "衡", "观", "韬", "鼎", "峰",
    "智", "仁", "义", "法", "宏", "启", "安", "平", "道", "融", "联", "众", "长", "弘", "策", "律",
];
/// 兵团 divisions stand at the city level, each seated in its county-level city.
const BINGTUAN_DIVISIONS: &[(&str, &str)] = &[
    ("第一师", "659002"),
    ("第二师", "659006"),
    ("第三师", "659003"),
    ("第四师", "659008"),
    ("第五师", "659007"),
    ("第六师", "659004"),
    ("第八师", "659001"),
    ("第十师", "659005"),
    ("第十四师", "659009"),
];

fn person_name(rng: &mut DemoRng) -> String {
    let mut s = String::from(*rng.pick(SURNAMES));
    s.push_str(rng.pick::<&str>(GIVEN));
    if rng.chance(0.7) {
        s.push_str(rng.pick::<&str>(GIVEN));
    }
    s
}

/// `广州市` → `广州`, `朝阳区` → `朝阳`, `恩施土家族苗族自治州` → `恩施`.
struct City {
    org_id: OrgId,
    path: TreePath,
    name: String,
    short: String,
    /// County-level codes inside the city (at least the city's own code).
    counties: Vec<String>,
    weight: f64,
}

struct PlannedFirm {
    id: FirmId,
    city: usize,
    name: String,
    credit_code: String,
    region_code: String,
    members: u64,
    org: Option<(OrgId, TreePath)>,
    lawyer_count: i64,
    form: &'static str,
}

fn date_str(y: i64, m: i64, d: i64) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// A mobile number as firm organisations give them.
fn mobile_number(rng: &mut DemoRng) -> String {
    format!("1{}{:08}", rng.range(30, 99), rng.below(100_000_000))
}

/// A founding date between the years `from` and `to`.
fn formed_between(rng: &mut DemoRng, from: i64, to: i64) -> String {
    date_str(rng.range(from, to), rng.range(1, 12), rng.range(1, 28))
}

fn random_date(rng: &mut DemoRng, y_lo: i64, y_hi: i64) -> (i64, i64, i64) {
    let y = rng.range(y_lo, y_hi);
    let m = rng.range(1, 12);
    let d = rng.range(1, 28);
    (y, m, d)
}

/// GB 11714 check character of an 8-character organisation code body.
fn org_code_check(body: &[u8]) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(W)
        .map(|(c, w)| {
            let v = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A') + 10
            };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from(b'0' + n as u8),
    }
}

fn make_credit_code(region: &str, serial: u64) -> String {
    let body = format!("{:08}", serial % 100_000_000);
    let mut s = format!("31{region}{body}{}", org_code_check(body.as_bytes()));
    let check = credit_code::check_char(s.as_bytes()).unwrap_or('0');
    s.push(check);
    s
}

/// What to generate for one firm's members.
struct MemberSpec {
    firm_id: FirmId,
    org_id: OrgId,
    org_path: TreePath,
    counties: Vec<String>,
    members: u64,
}

/// Members of every firm, sent in batches of 1000; stops early if the receiver is gone.
fn generate_members(
    specs: &[MemberSpec],
    mut rng: DemoRng,
    keys: &crate::crypto::Keys,
    total: u64,
    sender: &tokio::sync::mpsc::Sender<Vec<NewMember>>,
) {
    let today = super::beijing_today();
    let mut seen_ids: HashSet<[u8; 17]> = HashSet::with_capacity(total as usize);
    // Serial numbers per licence prefix (region, year, type, sex): unique for any size.
    let mut licence_serials: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<NewMember> = Vec::with_capacity(1000);
    for spec in specs {
        for _ in 0..spec.members {
            let male = rng.chance(0.6);
            let (by, bm, bd) = random_date(&mut rng, 1955, 1995);
            let region = rng.pick(&spec.counties).clone();
            let id = loop {
                let seq = rng.below(500) * 2 + if male { 1 } else { 0 };
                let body = format!("{region}{by:04}{bm:02}{bd:02}{seq:03}");
                let key: [u8; 17] = body.as_bytes().try_into().unwrap_or([b'0'; 17]);
                if seen_ids.insert(key) {
                    let full = format!("{body}{}", citizen_id::check_char(body.as_bytes()));
                    match CitizenId::parse(&full, today) {
                        Ok(id) => break id,
                        Err(_) => continue,
                    }
                }
            };
            let lawyer = rng.chance(0.85);
            let probationary = rng.chance(0.08);
            let (jy, jm, jd) = if probationary {
                (2017 + rng.range(0, 1), rng.range(1, 7), rng.range(1, 28))
            } else {
                // A year past the 18th birthday, so the join is always at 18 or older.
                random_date(&mut rng, (by + 19).max(1975), 2016)
            };
            let (jy, jm) = if probationary && jy == 2017 {
                (2017, jm + 5)
            } else {
                (jy, jm)
            };
            let full_member_on = (!probationary).then(|| date_str(jy + 1, jm, jd));
            let practice_type = lawyer.then(|| if rng.chance(0.97) { "1" } else { "2" });
            let licence_no = practice_type.map(|pt| {
                let first_year = rng.range((by + 23).max(1990), 2018);
                let prefix = format!(
                    "1{}{}{first_year:04}{pt}{}",
                    &region[..2],
                    &region[2..4],
                    if male { 1 } else { 0 },
                );
                let serial = licence_serials.entry(prefix.clone()).or_default();
                *serial += 1;
                format!("{prefix}{:06}", *serial % 1_000_000)
            });
            let education = match rng.below(100) {
                0..=2 => "11",
                3..=27 => "14",
                28..=87 => "21",
                88..=97 => "31",
                _ => "90",
            };
            let ethnicity = if rng.chance(0.92) {
                "01".to_owned()
            } else {
                format!("{:02}", rng.range(2, 56))
            };
            batch.push(NewMember {
                name: person_name(&mut rng),
                sex: id.sex_code().to_owned(),
                ethnicity,
                birth_date: date_str(by, bm, bd),
                citizen_id_enc: keys.encrypt_id(&id),
                citizen_id_index: keys.id_index(&id),
                citizen_id_masked: id.masked(),
                category: if lawyer { "lawyer" } else { "staff" }.to_owned(),
                practice_type: practice_type.map(str::to_owned),
                licence_no,
                education: education.to_owned(),
                party_status: if probationary { "probationary" } else { "full" }.to_owned(),
                joined_on: date_str(jy, jm, jd),
                full_member_on,
                mobile: format!("1{}{:09}", rng.range(3, 9), rng.below(1_000_000_000)),
                firm_id: spec.firm_id,
                org_id: spec.org_id,
                org_path: spec.org_path.clone(),
            });
            if batch.len() == 1000 && sender.blocking_send(std::mem::take(&mut batch)).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.blocking_send(batch);
    }
}

/// The city-level nodes of every province: prefecture-level divisions; districts and counties
/// for the municipalities; the divisions of 兵团. Their rows go to `org_rows`.
fn plan_cities(
    rng: &mut DemoRng,
    top: &[Org],
    next_org: &mut i64,
    org_rows: &mut Vec<OrgRow>,
) -> Vec<City> {
    let divisions = divisions::shipped();
    let mut cities: Vec<City> = Vec::new();
    for province in top {
        let seats: Vec<(String, String, Vec<String>)> = match &province.region_code {
            Some(pcode) => {
                let prefix = &pcode[..2];
                let municipality = matches!(prefix, "11" | "12" | "31" | "50");
                divisions::city_seats(&divisions, prefix)
                    .into_iter()
                    .map(|d| {
                        let counties: Vec<String> = if municipality {
                            vec![d.code.clone()]
                        } else {
                            let mut c: Vec<String> = divisions
                                .iter()
                                .filter(|x| x.parent_code.as_deref() == Some(d.code.as_str()))
                                .map(|x| x.code.clone())
                                .collect();
                            if c.is_empty() {
                                c.push(d.code.clone());
                            }
                            c
                        };
                        (d.code.clone(), d.name.clone(), counties)
                    })
                    .collect()
            }
            None => BINGTUAN_DIVISIONS
                .iter()
                .map(|(name, code)| {
                    (
                        (*code).to_owned(),
                        (*name).to_owned(),
                        vec![(*code).to_owned()],
                    )
                })
                .collect(),
        };
        for (i, (code, name, counties)) in seats.into_iter().enumerate() {
            let id = OrgId(*next_org);
            *next_org += 1;
            let path = province.path.child(id);
            let judicial = rng.chance(0.35);
            let short = crate::domain::org::short_place(&name);
            let org_name = if province.region_code.is_none() {
                format!("兵团{name}律师行业党委")
            } else if judicial {
                format!("{name}司法局党组")
            } else {
                format!("{name}律师行业党委")
            };
            // The provincial capital (listed first) draws the most firms.
            let weight = if i == 0 {
                6.0
            } else {
                0.3 + 1.5 * rng.unit() * rng.unit()
            };
            org_rows.push(OrgRow {
                id,
                parent_id: province.id,
                path: path.clone(),
                level: OrgLevel::City,
                kind: if judicial && province.region_code.is_some() {
                    OrgKind::JudicialOrg
                } else {
                    OrgKind::IndustryCommittee
                },
                name: org_name.clone(),
                region_code: Some(code),
                secretary_name: Some(person_name(rng)),
                contact_phone: Some(format!(
                    "0{}-{}",
                    rng.range(10, 999),
                    rng.range(6_000_000, 8_999_999)
                )),
                formed_on: Some(formed_between(rng, 2008, 2017)),
            });
            cities.push(City {
                org_id: id,
                path,
                name: org_name,
                short,
                counties,
                weight,
            });
        }
    }
    cities
}

/// The firms, in realistic proportions: a quarter without members, half with one or two, a
/// quarter with three or more (which have their own organisation); the big ones hold most
/// members, and the members add up to `opts.members` exactly.
fn plan_firms(
    rng: &mut DemoRng,
    cities: &[City],
    opts: &DemoOptions,
    mut next_firm: i64,
) -> Vec<PlannedFirm> {
    let n_firms = opts.firms.unwrap_or((opts.members / 20).max(20)).max(4);
    // Lawyers concentrate in few cities: a small demo fills about one city per ten firms
    // (provincial capitals first, as in life) rather than a thin spread over all of them.
    let active = ((n_firms / 10).max(2) as usize).min(cities.len());
    let mut order: Vec<usize> = (0..cities.len()).collect();
    order.sort_by(|a, b| {
        cities[*b]
            .weight
            .partial_cmp(&cities[*a].weight)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut in_play = vec![false; cities.len()];
    for &i in order.iter().take(active) {
        in_play[i] = true;
    }
    let total_weight: f64 = cities
        .iter()
        .enumerate()
        .filter(|(i, _)| in_play[*i])
        .map(|(_, c)| c.weight)
        .sum();
    let mut cumulative = Vec::with_capacity(cities.len());
    let mut acc = 0.0;
    for (i, c) in cities.iter().enumerate() {
        if in_play[i] {
            acc += c.weight / total_weight;
        }
        cumulative.push(acc);
    }
    let mut firms: Vec<PlannedFirm> = Vec::with_capacity(n_firms as usize);
    let mut names: HashSet<String> = HashSet::new();
    let mut big_weights: Vec<(usize, f64)> = Vec::new();
    let mut small_total = 0u64;
    for i in 0..n_firms {
        let u = rng.unit();
        let city = cumulative.partition_point(|c| *c < u).min(cities.len() - 1);
        // Skip past cities out of play (their cumulative value does not grow).
        let city = (city..cities.len()).find(|i| in_play[*i]).unwrap_or(city);
        let c = &cities[city];
        let mut name;
        let mut tries = 0;
        loop {
            name = format!(
                "{}{}{}律师事务所",
                c.short,
                rng.pick(FIRM_WORDS),
                rng.pick(FIRM_WORDS)
            );
            tries += 1;
            if tries > 4 {
                name = format!(
                    "{}{}{}{}律师事务所",
                    c.short,
                    rng.pick(FIRM_WORDS),
                    rng.pick(FIRM_WORDS),
                    rng.pick(FIRM_WORDS)
                );
            }
            if tries > 8 {
                name = format!(
                    "{}（{}）律师事务所",
                    name.trim_end_matches("律师事务所"),
                    i + 1
                );
            }
            if names.insert(name.clone()) {
                break;
            }
        }
        let region = rng.pick(&c.counties).clone();
        let band = i % 4; // exact proportions, shuffled by the city draw
        let members = match band {
            0 => 0,
            1 | 2 => 1 + rng.below(2),
            _ => 0, // decided below
        };
        small_total += members;
        if band == 3 {
            // Pareto-like weight: a few very large firms.
            let w = 1.0 / (1.0 - rng.unit() * 0.995).powf(1.1);
            big_weights.push((firms.len(), w));
        }
        let form = match rng.below(100) {
            0..=84 => "partnership",
            85..=89 => "state",
            _ => "sole",
        };
        firms.push(PlannedFirm {
            id: FirmId(next_firm),
            city,
            name,
            credit_code: make_credit_code(&region, next_firm as u64 * 7 + 1_000_000),
            region_code: region,
            members,
            org: None,
            lawyer_count: 0,
            form,
        });
        next_firm += 1;
    }
    // Share the remaining members among the big firms, at least three each.
    let remaining = opts.members.saturating_sub(small_total);
    let wsum: f64 = big_weights.iter().map(|(_, w)| w).sum();
    let mut assigned = 0u64;
    for (idx, w) in &big_weights {
        let share = ((remaining as f64) * w / wsum).floor() as u64;
        firms[*idx].members = share.max(3);
        assigned += firms[*idx].members;
    }
    // Settle rounding so the total is exact: add to or take from the big firms.
    let mut k = 0usize;
    while assigned != remaining && !big_weights.is_empty() {
        let idx = big_weights[k % big_weights.len()].0;
        if assigned < remaining {
            firms[idx].members += 1;
            assigned += 1;
        } else if firms[idx].members > 3 {
            firms[idx].members -= 1;
            assigned -= 1;
        } else if k > big_weights.len() * 4 {
            // Too few members for the firms asked for: trim the small firms instead.
            break;
        }
        k += 1;
    }
    if assigned + small_total > opts.members {
        let mut excess = assigned + small_total - opts.members;
        for f in firms.iter_mut().filter(|f| f.members > 0 && f.members < 3) {
            if excess == 0 {
                break;
            }
            let take = f.members.min(excess);
            f.members -= take;
            excess -= take;
        }
    }
    firms
}

/// The firms' organisations: their own for firms with three or more members; joint branches
/// of 2–5 small firms per city; a few small firms left under the city node. Their rows go to
/// `org_rows`.
fn plan_orgs(
    rng: &mut DemoRng,
    cities: &[City],
    firms: &mut [PlannedFirm],
    next_org: &mut i64,
    org_rows: &mut Vec<OrgRow>,
) {
    let mut by_city_small: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, f) in firms.iter_mut().enumerate() {
        if f.members >= 3 {
            let c = &cities[f.city];
            let id = OrgId(*next_org);
            *next_org += 1;
            let path = c.path.child(id);
            let (kind, suffix) = if f.members > 100 {
                (OrgKind::Committee, "委员会")
            } else if f.members > 50 {
                (OrgKind::GeneralBranch, "总支部委员会")
            } else {
                (OrgKind::Branch, "支部委员会")
            };
            org_rows.push(OrgRow {
                id,
                parent_id: c.org_id,
                path: path.clone(),
                level: OrgLevel::Firm,
                kind,
                name: format!("中共{}{}", f.name, suffix),
                region_code: Some(f.region_code.clone()),
                secretary_name: Some(person_name(rng)),
                contact_phone: Some(mobile_number(rng)),
                formed_on: Some(formed_between(rng, 2005, 2018)),
            });
            f.org = Some((id, path));
        } else if f.members > 0 {
            by_city_small.entry(f.city).or_default().push(i);
        }
    }
    let mut city_keys: Vec<usize> = by_city_small.keys().copied().collect();
    city_keys.sort_unstable();
    for city in city_keys {
        let list = by_city_small.remove(&city).unwrap_or_default();
        let c = &cities[city];
        let mut i = 0;
        let mut joint_no = 1;
        while i < list.len() {
            let left = list.len() - i;
            if left == 1 || rng.chance(0.1) {
                // Managed directly by the city node (分类处理: 纳入当地党组织管理).
                i += 1;
                continue;
            }
            let size = (2 + rng.below(4) as usize).min(left);
            let id = OrgId(*next_org);
            *next_org += 1;
            let path = c.path.child(id);
            org_rows.push(OrgRow {
                id,
                parent_id: c.org_id,
                path: path.clone(),
                level: OrgLevel::Firm,
                kind: OrgKind::JointBranch,
                name: format!("中共{}律师行业第{}联合支部委员会", c.short, joint_no),
                region_code: Some(firms[list[i]].region_code.clone()),
                secretary_name: Some(person_name(rng)),
                contact_phone: Some(mobile_number(rng)),
                formed_on: Some(formed_between(rng, 2010, 2018)),
            });
            joint_no += 1;
            for &fi in &list[i..i + size] {
                firms[fi].org = Some((id, path.clone()));
            }
            i += size;
        }
    }
}

/// The firms' rows, each placed under its organisation or else its city node.
fn firm_rows(cities: &[City], firms: &[PlannedFirm]) -> Vec<FirmRow> {
    firms
        .iter()
        .map(|f| {
            let c = &cities[f.city];
            FirmRow {
                id: f.id,
                name: f.name.clone(),
                credit_code: f.credit_code.clone(),
                region_code: f.region_code.clone(),
                city_org_id: c.org_id,
                org_id: f.org.as_ref().map(|o| o.0),
                scope_path: f
                    .org
                    .as_ref()
                    .map_or_else(|| c.path.clone(), |o| o.1.clone()),
                form: f.form,
                lawyer_count: f.lawyer_count,
            }
        })
        .collect()
}

/// What each firm's members are generated from.
fn member_specs(cities: &[City], firms: &[PlannedFirm]) -> Vec<MemberSpec> {
    firms
        .iter()
        .map(|f| {
            let c = &cities[f.city];
            let (org_id, org_path) = f.org.clone().unwrap_or_else(|| (c.org_id, c.path.clone()));
            MemberSpec {
                firm_id: f.id,
                org_id,
                org_path,
                counties: c.counties.clone(),
                members: f.members,
            }
        })
        .collect()
}

/// A demo account: username, display name, role, node, node name, member.
type Account = (
    &'static str,
    &'static str,
    Role,
    OrgId,
    String,
    Option<MemberId>,
);

/// The demo accounts along one branch: national, the province, the city and the firm
/// organisation, and the member.
fn demo_accounts(
    root_id: OrgId,
    province: &Org,
    city: &City,
    firm_org_id: OrgId,
    firm_org_name: &str,
    member_id: MemberId,
) -> Vec<Account> {
    vec![
        (
            "admin",
            "系统管理员",
            Role::Admin,
            root_id,
            super::setup::NATIONAL_NAME.to_owned(),
            None,
        ),
        (
            "auditor",
            "审计员",
            Role::Auditor,
            root_id,
            super::setup::NATIONAL_NAME.to_owned(),
            None,
        ),
        (
            "quanguo",
            "全国审核人",
            Role::Reviewer,
            root_id,
            super::setup::NATIONAL_NAME.to_owned(),
            None,
        ),
        (
            "sheng",
            "省级经办人",
            Role::Clerk,
            province.id,
            province.name.clone(),
            None,
        ),
        (
            "sheng_admin",
            "省级管理员",
            Role::Admin,
            province.id,
            province.name.clone(),
            None,
        ),
        (
            "shi",
            "地市经办人",
            Role::Clerk,
            city.org_id,
            city.name.clone(),
            None,
        ),
        (
            "shi_shenhe",
            "地市审核人",
            Role::Reviewer,
            city.org_id,
            city.name.clone(),
            None,
        ),
        (
            "suo",
            "律所经办人",
            Role::Clerk,
            firm_org_id,
            firm_org_name.to_owned(),
            None,
        ),
        (
            "suo_shenhe",
            "律所党组织书记",
            Role::Reviewer,
            firm_org_id,
            firm_org_name.to_owned(),
            None,
        ),
        (
            "dangyuan",
            "党员本人",
            Role::Member,
            firm_org_id,
            firm_org_name.to_owned(),
            Some(member_id),
        ),
    ]
}

super::area!(DemoService);

impl DemoService<'_> {
    /// Build the demo nation. Refuses when the database already holds firms or members.
    /// `progress` is called with the number of members written so far.
    pub async fn generate(
        &self,
        opts: &DemoOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> ServiceResult<DemoSummary> {
        if opts.members == 0 {
            return Err(ServiceError::invalid("党员人数", "应至少为1"));
        }
        ensure_top_of_tree(&self.db).await?;
        // Bulk-load settings are set outside the transaction (SQLite ignores some inside one)
        // and put back on the same connection afterwards.
        let mut conn = self.db.acquire_writer().await?;
        self.db.bulk_load_mode(&mut conn, true).await?;
        let result = self.generate_demo_in(&mut conn, opts, progress).await;
        self.db.bulk_load_mode(&mut conn, false).await?;
        drop(conn);
        if result.is_ok() {
            self.db.analyze().await?;
        }
        result
    }

    async fn generate_demo_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        opts: &DemoOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> ServiceResult<DemoSummary> {
        let mut tx = self.db.begin_on(conn).await?;
        let (f0, m0) = bulk::firm_and_member_counts(&mut tx).await?;
        if f0 > 0 || m0 > 0 {
            return Err(ServiceError::Conflict(Refusal::NotEmpty {
                firms: f0,
                members: m0,
            }));
        }
        crate::store::tallies::pause(&mut tx, self.db.backend()).await?;
        let mut rng = DemoRng::new(opts.seed);
        let top = self
            .directory()
            .orgs(
                Caller::Operator,
                &crate::store::orgs::OrgFilter {
                    level: Some(OrgLevel::Province),
                    per_page: 100,
                    page: 1,
                    ..Default::default()
                },
            )
            .await?
            .items;
        let mut next_org = bulk::max_id(&mut tx, "orgs").await? + 1;
        let mut org_rows: Vec<OrgRow> = Vec::new();

        let cities = plan_cities(&mut rng, &top, &mut next_org, &mut org_rows);

        let next_firm = bulk::max_id(&mut tx, "firms").await? + 1;
        let mut firms = plan_firms(&mut rng, &cities, opts, next_firm);

        plan_orgs(&mut rng, &cities, &mut firms, &mut next_org, &mut org_rows);
        let n_orgs = org_rows.len() as u64;
        bulk::insert_orgs(&mut tx, org_rows).await?;

        // Lawyer counts: roughly three lawyers per member, at least a few per firm.
        for f in &mut firms {
            let base = (f.members as f64 * (2.5 + rng.unit())).round() as i64;
            f.lawyer_count = base.max(rng.range(3, 12));
        }
        let firm_rows = firm_rows(&cities, &firms);
        bulk::insert_firms(&mut tx, firm_rows).await?;

        // Members: generated on a blocking thread while this task writes the previous batch.
        let specs = member_specs(&cities, &firms);
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<NewMember>>(4);
        let keys = self.keys.clone();
        let total = opts.members;
        let producer = tokio::task::spawn_blocking(move || {
            generate_members(&specs, rng, &keys, total, &sender)
        });
        let mut written = 0u64;
        while let Some(batch) = receiver.recv().await {
            written += batch.len() as u64;
            bulk::insert_members(&mut tx, batch).await?;
            progress(written);
        }
        producer
            .await
            .map_err(|_| ServiceError::Failed("演示数据生成线程异常结束".into()))?;

        // The 2018 campaign. The notice's own deadlines (firms 08-31, city 09-30, province
        // 10-31, national 11-30) are long past, so the demo keeps their spacing but starts
        // from today: firms in 30 days, then each level 30 days later. National
        // administrators can set real dates (`dengji campaign deadlines`).
        let today = super::beijing_today();
        let day = |n: i64| (today + time::Duration::days(n)).to_string();
        crate::store::campaigns::insert(
            &mut tx,
            &crate::store::campaigns::NewCampaign {
                name: "2018年律师行业党组织和党员基本信息登记核查".into(),
                cutoff_date: "2018-07-31".into(),
                // The demo's records are dated around today: its rules are judged today.
                reference_date: Some(today.to_string()),
                deadline_firm: day(30),
                deadline_city: day(60),
                deadline_province: day(90),
                deadline_national: day(120),
                closes_on: day(150),
            },
        )
        .await?;

        // Demo accounts along one branch: the city with the most firms that has a firm with
        // its own organisation.
        let mut firms_per_city: HashMap<usize, usize> = HashMap::new();
        for f in &firms {
            *firms_per_city.entry(f.city).or_default() += 1;
        }
        let demo_firm = firms
            .iter()
            .filter(|f| f.members >= 3 && f.org.is_some())
            .max_by_key(|f| {
                (
                    firms_per_city.get(&f.city).copied().unwrap_or(0),
                    f.members,
                    std::cmp::Reverse(f.id),
                )
            })
            .ok_or_else(|| ServiceError::Failed("演示数据中没有建立党组织的律所".into()))?;
        let city = &cities[demo_firm.city];
        let province_id = city.path.ids()[1];
        let province = top
            .iter()
            .find(|p| p.id == province_id)
            .ok_or(ServiceError::NotFound)?;
        let root_id = city.path.ids()[0];
        let firm_org_id = demo_firm
            .org
            .as_ref()
            .map(|o| o.0)
            .ok_or(ServiceError::NotFound)?;
        let member_id = bulk::first_member_of(&mut tx, firm_org_id)
            .await?
            .map(MemberId)
            .ok_or(ServiceError::NotFound)?;
        let firm_org_name = format!("{}党组织", demo_firm.name);
        let accounts = demo_accounts(
            root_id,
            province,
            city,
            firm_org_id,
            &firm_org_name,
            member_id,
        );
        let hash = tokio::task::spawn_blocking(|| hash_password(DEMO_PASSWORD))
            .await
            .map_err(|_| ServiceError::Crypto(crate::crypto::CryptoError::Password))??;
        let mut logins = Vec::new();
        for (username, display, role, org, org_name, member) in accounts {
            users::insert(
                &mut tx,
                &users::NewUser {
                    username: username.to_owned(),
                    display_name: display.to_owned(),
                    password_hash: hash.clone(),
                    role,
                    org_id: org,
                    member_id: member,
                },
            )
            .await?;
            logins.push(DemoLogin {
                username: username.to_owned(),
                role,
                org_name,
            });
        }
        let root_path = TreePath::root(root_id);
        audit::append(
            &mut tx,
            Caller::Operator.by(),
            NewEvent {
                action: "demo.generate",
                target_kind: "org",
                target_id: root_id.to_string(),
                target_path: &root_path,
                detail: serde_json::json!({
                    "seed": opts.seed,
                    "orgs": n_orgs,
                    "firms": firms.len(),
                    "members": written,
                }),
            },
        )
        .await?;
        self.db.reset_sequences(&mut tx).await?;
        let started = std::time::Instant::now();
        crate::store::tallies::rebuild_and_resume(&mut tx, self.db.backend()).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "demo: tallies and grams rebuilt");
        tx.commit().await?;
        tracing::debug!(elapsed = ?started.elapsed(), "demo: committed");
        Ok(DemoSummary {
            orgs: n_orgs,
            firms: firms.len() as u64,
            members: written,
            logins,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_reproducible() {
        let mut a = DemoRng::new(1);
        let mut b = DemoRng::new(1);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(DemoRng::new(1).next_u64(), DemoRng::new(2).next_u64());
    }

    #[test]
    fn generated_codes_are_valid() {
        for serial in [1u64, 12_345, 99_999_999] {
            let code = make_credit_code("110105", serial);
            assert!(
                crate::domain::CreditCode::parse_law_firm(&code).is_ok(),
                "{code}"
            );
        }
        use crate::domain::org::short_place;
        assert_eq!(short_place("广州市"), "广州");
        assert_eq!(short_place("朝阳区"), "朝阳");
        assert_eq!(short_place("恩施土家族苗族自治州"), "恩施");
        assert_eq!(short_place("阿克苏地区"), "阿克苏");
    }
}
