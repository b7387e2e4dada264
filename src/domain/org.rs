//! The organisation tree: levels, kinds of party organisation, and materialised paths.

use super::OrgId;

/// The four levels of the tree (mission.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgLevel {
    National,
    Province,
    City,
    Firm,
}

impl OrgLevel {
    pub const ALL: [OrgLevel; 4] = [Self::National, Self::Province, Self::City, Self::Firm];

    pub fn code(self) -> &'static str {
        match self {
            Self::National => "national",
            Self::Province => "province",
            Self::City => "city",
            Self::Firm => "firm",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::National => "全国",
            Self::Province => "省级",
            Self::City => "地市级",
            Self::Firm => "律所党组织",
        }
    }

    pub fn depth(self) -> i64 {
        match self {
            Self::National => 0,
            Self::Province => 1,
            Self::City => 2,
            Self::Firm => 3,
        }
    }

    pub fn child(self) -> Option<Self> {
        match self {
            Self::National => Some(Self::Province),
            Self::Province => Some(Self::City),
            Self::City => Some(Self::Firm),
            Self::Firm => None,
        }
    }
}

/// What kind of body a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgKind {
    /// 律师行业党委 (national, provincial or city level).
    IndustryCommittee,
    /// 司法行政机关党组织, standing in for a city-level committee where none exists.
    JudicialOrg,
    /// 党委 (基层委员会) of a large firm.
    Committee,
    /// 党总支.
    GeneralBranch,
    /// 党支部.
    Branch,
    /// 联合党支部, covering several firms.
    JointBranch,
}

impl OrgKind {
    pub const ALL: [OrgKind; 6] = [
        Self::IndustryCommittee,
        Self::JudicialOrg,
        Self::Committee,
        Self::GeneralBranch,
        Self::Branch,
        Self::JointBranch,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::IndustryCommittee => "industry_committee",
            Self::JudicialOrg => "judicial_org",
            Self::Committee => "committee",
            Self::GeneralBranch => "general_branch",
            Self::Branch => "branch",
            Self::JointBranch => "joint_branch",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::IndustryCommittee => "律师行业党委",
            Self::JudicialOrg => "司法行政机关党组织",
            Self::Committee => "党委",
            Self::GeneralBranch => "党总支",
            Self::Branch => "党支部",
            Self::JointBranch => "联合党支部",
        }
    }

    /// Which kinds may stand at which level.
    pub fn allowed_at(self, level: OrgLevel) -> bool {
        match level {
            OrgLevel::National | OrgLevel::Province => self == Self::IndustryCommittee,
            OrgLevel::City => matches!(self, Self::IndustryCommittee | Self::JudicialOrg),
            OrgLevel::Firm => matches!(
                self,
                Self::Committee | Self::GeneralBranch | Self::Branch | Self::JointBranch
            ),
        }
    }
}

/// A node's materialised path, `/1/7/42/`: the ids from the root down to the node itself.
/// A subtree is every path that starts with the node's path, which both databases answer
/// from a plain B-tree index as the range `[path, upper_bound)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TreePath(String);

impl TreePath {
    pub fn root(id: OrgId) -> Self {
        Self(format!("/{}/", id.0))
    }

    pub fn child(&self, id: OrgId) -> Self {
        Self(format!("{}{}/", self.0, id.0))
    }

    /// Accepts only the canonical shape `/n/…/n/` with positive ids.
    pub fn parse(s: &str) -> Option<Self> {
        let inner = s.strip_prefix('/')?.strip_suffix('/')?;
        if inner.is_empty() {
            return None;
        }
        for part in inner.split('/') {
            let n: i64 = part.parse().ok()?;
            if n <= 0 || part.starts_with('0') || part.starts_with('+') {
                return None;
            }
        }
        Some(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Ids from the root to this node.
    pub fn ids(&self) -> Vec<OrgId> {
        self.0
            .split('/')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.parse().ok())
            .map(OrgId)
            .collect()
    }

    pub fn depth(&self) -> i64 {
        self.ids().len() as i64 - 1
    }

    pub fn contains(&self, other: &TreePath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// Exclusive upper bound of the subtree range: the path with its final `/` replaced by the
    /// next character, `0` (`/` is 0x2F, `0` is 0x30, and paths hold only digits and `/`).
    pub fn upper_bound(&self) -> String {
        let mut s = self.0.clone();
        s.pop();
        s.push('0');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let root = TreePath::root(OrgId(1));
        let p = root.child(OrgId(7)).child(OrgId(42));
        assert_eq!(p.as_str(), "/1/7/42/");
        assert_eq!(p.ids(), vec![OrgId(1), OrgId(7), OrgId(42)]);
        assert_eq!(p.depth(), 2);
        assert!(root.contains(&p));
        assert!(!p.contains(&root));
        let p7 = root.child(OrgId(7));
        let p70 = root.child(OrgId(70));
        assert!(p7.contains(&p));
        assert!(
            !p7.contains(&p70),
            "a sibling with a longer id is not inside"
        );
        // The range bound agrees with `contains` under byte order.
        let ub = p7.upper_bound();
        for other in [&p, &p70, &root, &p7] {
            let in_range = other.as_str() >= p7.as_str() && other.as_str() < ub.as_str();
            assert_eq!(in_range, p7.contains(other), "{other:?}");
        }
        assert_eq!(TreePath::parse("/1/7/"), Some(p7));
        for bad in [
            "", "/", "1/7/", "/1/7", "/1//7/", "/0/", "/-1/", "/01/", "/a/",
        ] {
            assert_eq!(TreePath::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn kinds_by_level() {
        assert!(OrgKind::JudicialOrg.allowed_at(OrgLevel::City));
        assert!(!OrgKind::JudicialOrg.allowed_at(OrgLevel::Province));
        assert!(OrgKind::JointBranch.allowed_at(OrgLevel::Firm));
        assert!(!OrgKind::Branch.allowed_at(OrgLevel::City));
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::from_code(k.code()), Some(k));
        }
    }
}

/// A place's short name, as people say it: 广州市 → 广州, 恩施土家族苗族自治州 → 恩施,
/// 阿克苏地区 → 阿克苏 (provinces keep their 省: see [`short_node_name`]).
pub fn short_place(name: &str) -> String {
    if let Some(i) = name.find("自治") {
        let head = &name[..i];
        // Strip the ethnic names before 自治 by keeping the first two characters.
        return head.chars().take(2).collect();
    }
    for suffix in ["地区", "盟", "市", "区", "县", "州"] {
        if let Some(s) = name.strip_suffix(suffix)
            && s.chars().count() >= 2
        {
            return s.to_owned();
        }
    }
    name.to_owned()
}

/// The short name of a provincial or city-level node for the 省 and 地市 columns of a printed
/// table: 广东省律师行业党委 → 广东, 广州市律师行业党委 → 广州, 新疆维吾尔自治区律师行业党委 → 新疆.
/// A name of another shape stays whole.
pub fn short_node_name(name: &str) -> String {
    let Some(place) = ["律师行业党委", "律师行业委员会", "律师行业党组织"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
    else {
        return name.to_owned();
    };
    let place = place.strip_suffix('省').unwrap_or(place);
    if place.chars().count() < 2 {
        return name.to_owned();
    }
    short_place(place)
}

#[cfg(test)]
mod short_name_tests {
    use super::short_node_name;

    #[test]
    fn nodes_shorten_to_their_place() {
        assert_eq!(short_node_name("广东省律师行业党委"), "广东");
        assert_eq!(short_node_name("广州市律师行业党委"), "广州");
        assert_eq!(short_node_name("新疆维吾尔自治区律师行业党委"), "新疆");
        assert_eq!(short_node_name("北京市律师行业党委"), "北京");
        assert_eq!(short_node_name("朝阳区律师行业党委"), "朝阳");
        assert_eq!(
            short_node_name("新疆生产建设兵团律师行业党委"),
            "新疆生产建设兵团"
        );
        assert_eq!(short_node_name("某某市司法局党委"), "某某市司法局党委");
    }
}
