//! Charts drawn as SVG by the server — horizontal bars, a population pyramid, a funnel, a
//! stacked bar and a small meter — embedded in the page: printable, no JavaScript, labels in
//! the page's CJK font, each bar a link to the records behind it.

use std::fmt::Write as _;

/// One bar: its label, its count, and where a click on it leads.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub href: Option<String>,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: i64, href: Option<String>) -> Self {
        Self {
            label: label.into(),
            value,
            href,
        }
    }
}

/// The fills, in order: party red first, then colours that stay apart on grey paper.
const FILLS: [&str; 8] = [
    "#b71c1c", "#1f5fa8", "#c77c02", "#2e7d32", "#6a1b9a", "#00838f", "#795548", "#607d8b",
];
const FONT: &str = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', sans-serif";
const WIDTH: i64 = 600;

/// Text for SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub use crate::service::analysis::share;

fn open(id: &str, title: &str, height: i64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         font-family=\"{FONT}\" font-size=\"13\"><title id=\"{id}-title\">{}</title>\
         <text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\" fill=\"#222\">{}</text>",
        esc(title),
        esc(title),
        id = esc(id),
    )
}

/// Wrap `inner` in a link when there is somewhere to go.
fn linked(href: Option<&str>, inner: &str) -> String {
    match href {
        Some(h) => format!("<a href=\"{}\">{inner}</a>", esc(h)),
        None => inner.to_owned(),
    }
}

/// Empty charts say so instead of drawing nothing.
fn empty(id: &str, title: &str) -> String {
    let mut s = open(id, title, 50);
    s.push_str("<text x=\"0\" y=\"40\" fill=\"#666\" class=\"chart-empty\">暂无数据</text></svg>");
    s
}

/// Horizontal bars, one per item, scaled to the largest; the value and its share of the sum
/// beside each.
pub fn bars(id: &str, title: &str, items: &[Bar]) -> String {
    let total: i64 = items.iter().map(|b| b.value).sum();
    if total == 0 {
        return empty(id, title);
    }
    let max = items.iter().map(|b| b.value).max().unwrap_or(1).max(1);
    let (label_w, bar_w, row) = (170, 300, 24);
    let height = 28 + row * items.len() as i64 + 6;
    let mut s = open(id, title, height);
    for (i, b) in items.iter().enumerate() {
        let y = 28 + row * i as i64;
        let w = if b.value > 0 {
            (b.value * bar_w / max).max(2)
        } else {
            0
        };
        let fill = FILLS[0];
        let mut g = String::new();
        let _ = write!(
            g,
            "<g class=\"bar\" data-label=\"{}\" data-value=\"{}\">\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#222\">{}</text>\
             <rect x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#222\">{}（{}）</text></g>",
            esc(&b.label),
            b.value,
            label_w - 8,
            y + 16,
            esc(&b.label),
            y + 4,
            row - 8,
            label_w + w + 6,
            y + 16,
            b.value,
            share(b.value, total),
        );
        s.push_str(&linked(b.href.as_deref(), &g));
    }
    s.push_str("</svg>");
    s
}

/// One row of a population pyramid: the band, men and women, and their links.
#[derive(Debug, Clone)]
pub struct PyramidRow {
    pub label: String,
    pub men: i64,
    pub women: i64,
    pub men_href: Option<String>,
    pub women_href: Option<String>,
}

/// Men to the left and women to the right of the bands, the youngest band at the bottom.
pub fn pyramid(id: &str, title: &str, rows: &[PyramidRow]) -> String {
    let max = rows
        .iter()
        .flat_map(|r| [r.men, r.women])
        .max()
        .unwrap_or(0);
    if max == 0 {
        return empty(id, title);
    }
    let (side, mid, row) = (230, 140, 26);
    let height = 48 + row * rows.len() as i64 + 6;
    let mut s = open(id, title, height);
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"40\" text-anchor=\"middle\" fill=\"{}\">男</text>\
         <text x=\"{}\" y=\"40\" text-anchor=\"middle\" fill=\"{}\">女</text>",
        side / 2,
        FILLS[1],
        side + mid + side / 2,
        FILLS[0]
    );
    for (i, r) in rows.iter().rev().enumerate() {
        let y = 48 + row * i as i64;
        let wm = if r.men > 0 {
            (r.men * (side - 50) / max).max(2)
        } else {
            0
        };
        let ww = if r.women > 0 {
            (r.women * (side - 50) / max).max(2)
        } else {
            0
        };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
            side + mid / 2,
            y + 17,
            esc(&r.label)
        );
        let men = format!(
            "<g class=\"bar\" data-label=\"{} 男\" data-value=\"{}\">\
             <rect x=\"{}\" y=\"{}\" width=\"{wm}\" height=\"{}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#222\">{}</text></g>",
            esc(&r.label),
            r.men,
            side - wm,
            y + 4,
            row - 8,
            FILLS[1],
            side - wm - 4,
            y + 17,
            r.men
        );
        s.push_str(&linked(r.men_href.as_deref(), &men));
        let women = format!(
            "<g class=\"bar\" data-label=\"{} 女\" data-value=\"{}\">\
             <rect x=\"{}\" y=\"{}\" width=\"{ww}\" height=\"{}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#222\">{}</text></g>",
            esc(&r.label),
            r.women,
            side + mid,
            y + 4,
            row - 8,
            FILLS[0],
            side + mid + ww + 4,
            y + 17,
            r.women
        );
        s.push_str(&linked(r.women_href.as_deref(), &women));
    }
    s.push_str("</svg>");
    s
}

/// Steps narrowing from the first: each bar centred, its width against the first step, with
/// its count and its share of the step before.
pub fn funnel(id: &str, title: &str, steps: &[Bar]) -> String {
    let first = steps.first().map_or(0, |b| b.value);
    if first == 0 {
        return empty(id, title);
    }
    let (full, row) = (240, 30);
    let left = 10;
    let height = 28 + row * steps.len() as i64 + 6;
    let mut s = open(id, title, height);
    let mut before = first;
    for (i, b) in steps.iter().enumerate() {
        let y = 28 + row * i as i64;
        let w = (b.value * full / first).max(if b.value > 0 { 2 } else { 0 });
        let x = left + (full - w) / 2;
        let of = if i == 0 {
            String::new()
        } else {
            format!("（上一项的 {}）", share(b.value, before))
        };
        let g = format!(
            "<g class=\"bar\" data-label=\"{}\" data-value=\"{}\">\
             <rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#222\">{} {}{}</text></g>",
            esc(&b.label),
            b.value,
            y + 3,
            row - 6,
            FILLS[i % FILLS.len()],
            left + full + 12,
            y + 19,
            esc(&b.label),
            b.value,
            esc(&of),
        );
        s.push_str(&linked(b.href.as_deref(), &g));
        before = b.value;
    }
    s.push_str("</svg>");
    s
}

/// One bar divided into its parts, with a legend line per part.
pub fn stacked(id: &str, title: &str, parts: &[Bar]) -> String {
    let total: i64 = parts.iter().map(|b| b.value).sum();
    if total == 0 {
        return empty(id, title);
    }
    let full = WIDTH - 20;
    let row = 22;
    let height = 28 + 30 + row * parts.len() as i64 + 6;
    let mut s = open(id, title, height);
    let mut x = 0;
    let mut done = 0;
    for (i, b) in parts.iter().enumerate() {
        done += b.value;
        let end = done * full / total;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"26\" width=\"{}\" height=\"22\" fill=\"{}\"/>",
            end - x,
            FILLS[i % FILLS.len()]
        );
        x = end;
    }
    for (i, b) in parts.iter().enumerate() {
        let y = 58 + row * i as i64;
        let g = format!(
            "<g class=\"bar\" data-label=\"{}\" data-value=\"{}\">\
             <rect x=\"0\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"18\" y=\"{}\" fill=\"#222\">{} {}（{}）</text></g>",
            esc(&b.label),
            b.value,
            y + 3,
            FILLS[i % FILLS.len()],
            y + 14,
            esc(&b.label),
            b.value,
            share(b.value, total)
        );
        s.push_str(&linked(b.href.as_deref(), &g));
    }
    s.push_str("</svg>");
    s
}

/// A small meter for a table cell: `part` of `whole` as a filled bar (an empty frame when
/// there is no whole).
pub fn meter(part: i64, whole: i64) -> String {
    let w = if whole > 0 {
        (part.clamp(0, whole) * 100 / whole).max(i64::from(part > 0))
    } else {
        0
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"meter\" viewBox=\"0 0 100 10\" width=\"100\" \
         height=\"10\" aria-hidden=\"true\"><rect x=\"0\" y=\"0\" width=\"100\" height=\"10\" \
         fill=\"#eee\"/><rect x=\"0\" y=\"0\" width=\"{w}\" height=\"10\" fill=\"{}\"/></svg>",
        FILLS[0]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_escaped_and_linked() {
        let s = bars(
            "c",
            "性别",
            &[
                Bar::new("男", 30, Some("/x?a=1&b=2".into())),
                Bar::new("女<", 10, None),
            ],
        );
        assert!(s.starts_with("<svg"));
        assert!(s.contains("width=\"300\""), "largest bar full width");
        assert!(s.contains("width=\"100\""), "a third of it");
        assert!(s.contains("30（75.0%）"));
        assert!(s.contains("女&lt;"));
        assert!(s.contains("href=\"/x?a=1&amp;b=2\""));
        assert!(!s.contains("NaN"));
    }

    #[test]
    fn empty_charts_say_so() {
        for s in [
            bars("a", "t", &[Bar::new("x", 0, None)]),
            bars("a", "t", &[]),
            funnel("b", "t", &[Bar::new("x", 0, None)]),
            stacked("c", "t", &[]),
            pyramid("d", "t", &[]),
        ] {
            assert!(s.contains("暂无数据"), "{s}");
            assert!(!s.contains("NaN"));
        }
        assert_eq!(share(1, 0), "—");
        assert_eq!(share(1, 3), "33.3%");
        assert!(meter(5, 0).contains("width=\"0\""));
        assert!(meter(1, 1000).contains("width=\"1\""));
    }
}
