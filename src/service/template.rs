//! Blank Excel templates of 附件1, 附件2 and 附件3 (and of the firm registry and organisation
//! roster), generated from the form definitions: Chinese
//! headers (required columns marked ＊), drop-down lists for code-list columns (the lists on a
//! hidden sheet), text format for ID numbers, licences, phones and dates, and a 填写说明 sheet
//! explaining every column and its rules.

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, FormatBorder, Formula, Workbook,
    XlsxError,
};

use super::import as registry_import;
use super::import::ImportKind;
use super::{Caller, ServiceError, ServiceResult};
use crate::authz::Action;
use crate::forms::{Catalogue, Field, Kind};

/// Rows of the data area that carry the drop-downs and text format.
pub const TEMPLATE_ROWS: u32 = 2_000;

fn describe(catalogue: &Catalogue, f: &Field) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.push(
        match f.kind {
            Kind::Text => "文字",
            Kind::Date => "日期，格式 2018-07-31",
            Kind::Ym => "年月，格式 2018-07",
            Kind::Code => "从下拉列表中选择",
            Kind::Int => "整数",
            Kind::Money => "金额（元）",
            Kind::CitizenId => "18位公民身份号码（GB 11643，末位可为X），请勿转换为数字",
            Kind::Mobile => "11位手机号码",
            Kind::Landline => "固定电话，带区号，如 010-12345678",
            Kind::LicenceNo => "17位律师执业证号",
            Kind::Region => "6位行政区划代码（GB/T 2260）",
        }
        .to_owned(),
    );
    if let Some(n) = f.max_len {
        parts.push(format!("不超过{n}字"));
    }
    if let Some(list) = f.list.as_deref().and_then(|l| catalogue.list(l)) {
        let labels: Vec<&str> = list.codes.iter().map(|(_, l)| l.as_str()).collect();
        if labels.len() <= 12 {
            parts.push(format!("可选：{}", labels.join("、")));
        } else {
            parts.push(format!(
                "共{}项，见下拉列表（{}）",
                labels.len(),
                list.source
            ));
        }
    }
    if let Some(h) = &f.help {
        parts.push(h.clone());
    }
    parts.join("；")
}

fn xlsx_err(e: XlsxError) -> ServiceError {
    ServiceError::Failed(format!("生成模板失败：{e}"))
}

/// The template of form `code` (`A1`, `A2` or `A3`) as .xlsx bytes: no data in it, for every
/// working account (not for 党员本人 accounts).
pub fn template(caller: Caller<'_>, code: &str) -> ServiceResult<(String, Vec<u8>)> {
    caller.require(Action::ReadDirectory, None)?;
    let catalogue = Catalogue::get();
    if let Some(kind) = ImportKind::from_code(code).filter(|k| k.is_registry()) {
        let fields = registry_import::template_fields(kind);
        let refs: Vec<&Field> = fields.iter().collect();
        return build(catalogue, kind.label(), kind.label(), &refs)
            .map(|bytes| (format!("{}_模板.xlsx", kind.label()), bytes))
            .map_err(xlsx_err);
    }
    let form = catalogue
        .forms
        .iter()
        .find(|f| f.code.eq_ignore_ascii_case(code))
        .ok_or(ServiceError::NotFound)?;
    // Member templates start with the firm each row belongs to, which places the record on
    // import (it is not a form field).
    let firm = Field {
        code: "firm_credit_code".into(),
        label: super::import::FIRM_COLUMN.into(),
        kind: Kind::Text,
        list: None,
        required: false,
        required_if: None,
        max_len: Some(18),
        digits: None,
        min: None,
        future: false,
        help: Some(
            "18位统一社会信用代码；导入到律师事务所党组织时可不填，导入到上级党组织时必填".into(),
        ),
        edit: None,
    };
    let mut fields: Vec<&Field> = Vec::new();
    if matches!(form.category.as_str(), "lawyer" | "staff") {
        fields.push(&firm);
    }
    fields.extend(catalogue.fields_of(form));
    build(catalogue, &form.attachment, &form.title, &fields)
        .map(|bytes| {
            (
                format!("{}_{}_模板.xlsx", form.attachment, form.title),
                bytes,
            )
        })
        .map_err(xlsx_err)
}

fn build(
    catalogue: &Catalogue,
    attachment: &str,
    title: &str,
    fields: &[&Field],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let text = Format::new().set_num_format("@");

    // The code lists, one column each, on a hidden sheet the drop-downs point at.
    let mut lists: Vec<(String, u16, usize)> = Vec::new();
    {
        let codes = wb.add_worksheet();
        codes.set_name("代码表")?;
        for f in fields {
            let Some(list_code) = f.list.as_deref() else {
                continue;
            };
            if lists.iter().any(|(c, _, _)| c == list_code) {
                continue;
            }
            let Some(list) = catalogue.list(list_code) else {
                continue;
            };
            let col = u16::try_from(lists.len()).unwrap_or(0);
            codes.write_string(0, col, &list.name)?;
            for (i, (_, label)) in list.codes.iter().enumerate() {
                codes.write_string(u32::try_from(i).unwrap_or(0) + 1, col, label)?;
            }
            lists.push((list_code.to_owned(), col, list.codes.len()));
        }
        codes.set_hidden(true);
    }

    {
        let ws = wb.add_worksheet();
        ws.set_name(attachment)?;
        for (i, f) in fields.iter().enumerate() {
            let col = u16::try_from(i).unwrap_or(0);
            let label = if f.required {
                format!("＊{}", f.label)
            } else {
                f.label.clone()
            };
            ws.write_string_with_format(0, col, &label, &head)?;
            let width = match f.kind {
                Kind::CitizenId | Kind::LicenceNo => 21.0,
                Kind::Text if f.max_len.unwrap_or(0) > 20 => 28.0,
                _ => 13.0,
            };
            ws.set_column_width(col, width)?;
            // Everything typed is kept as typed: no 1.1E+17, no lost X, no date serials.
            ws.set_column_format(col, &text)?;
            if let Some((_, list_col, n)) = f
                .list
                .as_deref()
                .and_then(|l| lists.iter().find(|(c, _, _)| c == l))
            {
                let letter = crate::sheet::column_name(u32::from(*list_col));
                let v = DataValidation::new()
                    .allow_list_formula(Formula::new(format!(
                        "=代码表!${letter}$2:${letter}${}",
                        n + 1
                    )))
                    .set_error_style(DataValidationErrorStyle::Stop)
                    .set_error_message(format!("请从下拉列表中选择“{}”", f.label))?;
                ws.add_data_validation(1, col, TEMPLATE_ROWS, col, &v)?;
            }
        }
        ws.set_freeze_panes(1, 0)?;
        ws.set_row_height(0, 32)?;
    }

    {
        let help = wb.add_worksheet();
        help.set_name("填写说明")?;
        let heading = if attachment == title {
            format!("{title}填写说明")
        } else {
            format!("{attachment}《{title}》填写说明")
        };
        help.write_string(0, 0, heading)?;
        help.write_string(
            1,
            0,
            "每行填写一条记录；带＊的栏目必填；代码类栏目请从下拉列表选择；身份证号、执业证号、电话和日期按文字填写。",
        )?;
        for (c, h) in ["栏目", "是否必填", "填写要求"].iter().enumerate() {
            help.write_string_with_format(3, u16::try_from(c).unwrap_or(0), *h, &head)?;
        }
        for (i, f) in fields.iter().enumerate() {
            let r = u32::try_from(i).unwrap_or(0) + 4;
            help.write_string(r, 0, &f.label)?;
            help.write_string(r, 1, if f.required { "必填" } else { "选填" })?;
            help.write_string(r, 2, describe(catalogue, f))?;
        }
        help.set_column_width(0, 24)?;
        help.set_column_width(1, 10)?;
        help.set_column_width(2, 90)?;
    }
    // The data sheet opens first.
    wb.worksheet_from_index(1)?.set_active(true);
    wb.save_to_buffer()
}
