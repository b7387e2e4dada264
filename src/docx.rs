//! A minimal Word document (.docx, Office Open XML) for one-page written reports: a title and
//! labelled paragraphs on A4, in a zip written here (stored, no compression) — enough for
//! 书面报告 to be opened, edited and printed in Word or WPS without another crate.

use std::io::Write;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/></Types>"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/></Relationships>"#;

const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

/// Text for XML character data and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow (control characters other than tab and
            // line breaks) are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// One run of text; line breaks inside become `<w:br/>`.
fn run(text: &str, bold: bool, size_half_points: u32) -> String {
    let props = format!(
        "<w:rPr><w:rFonts w:eastAsia=\"SimSun\"/>{}<w:sz w:val=\"{size_half_points}\"/></w:rPr>",
        if bold { "<w:b/>" } else { "" }
    );
    let parts: Vec<String> = text
        .split('\n')
        .map(|l| format!("<w:t xml:space=\"preserve\">{}</w:t>", escape(l)))
        .collect();
    format!("<w:r>{props}{}</w:r>", parts.join("<w:br/>"))
}

/// The document: a centred bold title, then each item as a paragraph "label：text"; `mark`
/// (the export's watermark line) in small type in the header of every page.
pub fn document(title: &str, items: &[(&str, String)], mark: &str) -> std::io::Result<Vec<u8>> {
    let header = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:hdr \
         xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:p>{}</w:p></w:hdr>",
        run(mark, false, 16)
    );
    let mut body = format!(
        "<w:p><w:pPr><w:jc w:val=\"center\"/><w:spacing w:after=\"240\"/></w:pPr>{}</w:p>",
        run(title, true, 36)
    );
    for (label, text) in items {
        body.push_str("<w:p><w:pPr><w:spacing w:after=\"120\"/></w:pPr>");
        body.push_str(&run(&format!("{label}："), true, 28));
        body.push_str(&run(text, false, 28));
        body.push_str("</w:p>");
    }
    // A4 portrait, margins of 2.54 cm.
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document \
         xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><w:body>{body}\
         <w:sectPr><w:headerReference w:type=\"default\" r:id=\"rId1\"/><w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1440\" w:right=\"1440\" \
         w:bottom=\"1440\" w:left=\"1440\" w:header=\"720\" w:footer=\"720\" w:gutter=\"0\"/>\
         </w:sectPr></w:body></w:document>"
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("word/document.xml", doc.as_str()),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS),
        ("word/header1.xml", header.as_str()),
    ] {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(content.as_bytes())?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        assert_eq!(escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
        let bytes = document("标题", &[("姓名", "张<一>".into())], "导出编号 EX-1").unwrap();
        assert!(bytes.starts_with(b"PK"));
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut z.by_name("word/document.xml").unwrap(), &mut xml)
            .unwrap();
        assert!(xml.contains("张&lt;一&gt;"), "{xml}");
        assert!(xml.contains("w:w=\"11906\""), "A4");
        let mut header = String::new();
        std::io::Read::read_to_string(&mut z.by_name("word/header1.xml").unwrap(), &mut header)
            .unwrap();
        assert!(header.contains("导出编号 EX-1"), "{header}");
    }
}
