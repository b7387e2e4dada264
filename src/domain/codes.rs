//! Code lists used by the foundation (labels for stored codes). The forms issue moves the full
//! catalogue of code lists into data files; these are the ones the directory pages need now.

/// GB 3304-1991 民族, codes 01–56.
pub const ETHNICITIES: [(&str, &str); 56] = [
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("31", "达斡尔族"),
    ("32", "仫佬族"),
    ("33", "羌族"),
    ("34", "布朗族"),
    ("35", "撒拉族"),
    ("36", "毛南族"),
    ("37", "仡佬族"),
    ("38", "锡伯族"),
    ("39", "阿昌族"),
    ("40", "普米族"),
    ("41", "塔吉克族"),
    ("42", "怒族"),
    ("43", "乌兹别克族"),
    ("44", "俄罗斯族"),
    ("45", "鄂温克族"),
    ("46", "德昂族"),
    ("47", "保安族"),
    ("48", "裕固族"),
    ("49", "京族"),
    ("50", "塔塔尔族"),
    ("51", "独龙族"),
    ("52", "鄂伦春族"),
    ("53", "赫哲族"),
    ("54", "门巴族"),
    ("55", "珞巴族"),
    ("56", "基诺族"),
];

/// GB/T 4658-2006 学历 (the codes the demo and lists use most).
pub const EDUCATION: [(&str, &str); 8] = [
    ("11", "博士研究生毕业"),
    ("14", "硕士研究生毕业"),
    ("21", "大学本科毕业"),
    ("31", "大学专科毕业"),
    ("41", "中等专科毕业"),
    ("61", "普通高中毕业"),
    ("71", "初中毕业"),
    ("90", "其他"),
];

pub const SEXES: [(&str, &str); 2] = [("1", "男"), ("2", "女")];

/// 人员类别 of the registration: which attachment a member files.
pub const CATEGORIES: [(&str, &str); 2] = [("lawyer", "律师党员"), ("staff", "工作人员党员")];

/// 党员类别: 正式党员 / 预备党员.
pub const PARTY_STATUSES: [(&str, &str); 2] = [("full", "正式党员"), ("probationary", "预备党员")];

/// 律师执业类别 (10th digit of the licence number).
pub const PRACTICE_TYPES: [(&str, &str); 5] = [
    ("1", "专职律师"),
    ("2", "兼职律师"),
    ("3", "香港居民律师"),
    ("4", "澳门居民律师"),
    ("5", "台湾居民律师"),
];

/// The label of `code` in `list`, or the code itself when unknown.
pub fn label<'a>(list: &[(&'a str, &'a str)], code: &'a str) -> &'a str {
    list.iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(label(&ETHNICITIES, "46"), "德昂族");
        assert_eq!(label(&ETHNICITIES, "36"), "毛南族");
        assert_eq!(label(&SEXES, "9"), "9");
        let mut codes: Vec<_> = ETHNICITIES.iter().map(|e| e.0).collect();
        codes.dedup();
        assert_eq!(codes.len(), 56);
    }
}
