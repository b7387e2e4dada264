//! One member's 附件1 / 附件2, or one organisation's 附件3, as a printable Excel form in the
//! official one-form layout.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use super::{Caller, ServiceError, ServiceResult, beijing_today};
use crate::authz::Action;
use crate::domain::{MemberId, OrgId};
use crate::forms::{Catalogue, Form};
use crate::store::audit::NewEvent;

fn xlsx_err(e: XlsxError) -> ServiceError {
    ServiceError::Failed(format!("无法生成 Excel 文件：{e}"))
}

super::area!(MemberFormService);

impl MemberFormService<'_> {
    /// The audit event of a form export: `(action, target kind, target id)`, with the
    /// member it named and the file's watermark.
    async fn audit_form_export(
        &self,
        caller: Caller<'_>,
        (action, target_kind, target_id): (&'static str, &'static str, String),
        path: &crate::domain::TreePath,
        form: &str,
        (subjects, mark): (&[i64], &crate::watermark::Watermark),
    ) -> ServiceResult<()> {
        super::record_export(
            &self.db,
            caller,
            NewEvent {
                action,
                target_kind,
                target_id,
                target_path: path,
                detail: serde_json::json!({ "form": form }),
            },
            subjects,
            mark,
        )
        .await
    }

    /// A member's registration form as it stands, as an .xlsx file name and bytes: title, the
    /// unit and date, every field of the form as label and value two to a row (codes as their
    /// labels, the full ID number as text, formula-like text defused), A4 portrait one page
    /// wide. For clerks, reviewers and administrators of the member's subtree; audited.
    pub async fn of_member(
        &self,
        caller: Caller<'_>,
        member_id: MemberId,
        ids: &super::Ids,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let (member, campaign, reg, _) = self
            .registration()
            .registration_context(caller, member_id, Action::ReadMember(member_id))
            .await?;
        let org = {
            let mut conn = self.db.acquire().await?;
            super::managed_org(&mut conn, caller, member.org_id).await?
        };
        let (form, mut values) = super::registration::form_and_values(&member, reg.as_ref(), None)?;
        let shown_id = if ids == &super::Ids::Masked {
            reg.as_ref()
                .and_then(|r| r.citizen_id_masked.clone())
                .unwrap_or_else(|| member.citizen_id_masked.clone())
        } else {
            self.registration()
                .current_citizen_id(&member, reg.as_ref())
                .await?
        };
        values.insert("citizen_id".into(), shown_id);
        let mark = super::watermark(caller, &org.name, ids.purpose().as_deref());
        let state = reg.as_ref().map_or("未填写", |r| r.state.label());

        let bytes = form_sheet(
            form,
            &format!(
                "所在党组织：{}　　活动：{}　　状态：{state}　　导出日期：{}",
                org.name,
                campaign.name,
                beijing_today()
            ),
            &values,
            &mark,
        )?;

        self.audit_form_export(
            caller,
            ("export.member_form", "member", member.id.0.to_string()),
            &member.org_path,
            &form.code,
            (&[member.id.0], &mark),
        )
        .await?;
        Ok((format!("{}-{}.xlsx", form.attachment, member.name), bytes))
    }

    /// An organisation's 附件3 as it stands, in the same one-form layout: the fields of its
    /// 党组织基本信息登记表 (prefilled from the records when nothing is saved yet). For clerks,
    /// reviewers and administrators of its subtree; audited.
    pub async fn of_org(
        &self,
        caller: Caller<'_>,
        org_id: OrgId,
    ) -> ServiceResult<(String, Vec<u8>)> {
        let view = self.org_registration().view(caller, org_id).await?;
        let mut conn = self.db.acquire().await?;
        let org = super::managed_org(&mut conn, caller, org_id).await?;
        drop(conn);
        let mark = super::watermark(caller, &org.name, None);
        let state = if view.version == 0 {
            "未填写"
        } else {
            "已保存"
        };
        let bytes = form_sheet(
            view.form,
            &format!(
                "党员 {} 人（正式 {}，预备 {}）　　活动：{}　　状态：{state}　　导出日期：{}",
                view.derived.total,
                view.derived.full,
                view.derived.probationary,
                view.campaign_name,
                beijing_today()
            ),
            &view.values,
            &mark,
        )?;
        self.audit_form_export(
            caller,
            ("export.org_form", "org", org.id.to_string()),
            &org.path,
            &view.form.code,
            (&[], &mark),
        )
        .await?;
        Ok((format!("{}-{}.xlsx", view.form.attachment, org.name), bytes))
    }
}

/// The form's sheet: attachment and title, one line about the record, then every field of the
/// form as label and value two to a row (codes as their labels, text cells, formula-like text
/// defused); A4 portrait, one page wide, page numbers in the footer.
fn form_sheet(
    form: &Form,
    meta: &str,
    values: &std::collections::BTreeMap<String, String>,
    mark: &crate::watermark::Watermark,
) -> ServiceResult<Vec<u8>> {
    let catalogue = Catalogue::get();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(&form.attachment).map_err(xlsx_err)?;
    let border = |f: Format| f.set_border(FormatBorder::Thin).set_text_wrap();
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let label = border(
        Format::new()
            .set_bold()
            .set_align(FormatAlign::VerticalCenter),
    );
    let value = border(
        Format::new()
            .set_num_format("@")
            .set_align(FormatAlign::VerticalCenter),
    );
    let quoted = value.clone().set_quote_prefix();
    for (col, width) in [(0u16, 22.0), (1, 30.0), (2, 22.0), (3, 30.0)] {
        ws.set_column_width(col, width).map_err(xlsx_err)?;
    }
    ws.write_string(0, 0, &form.attachment).map_err(xlsx_err)?;
    ws.merge_range(1, 0, 1, 3, &form.title, &title)
        .map_err(xlsx_err)?;
    ws.write_string(2, 0, meta).map_err(xlsx_err)?;
    let fields: Vec<_> = catalogue.fields_of(form).collect();
    for (i, f) in fields.iter().enumerate() {
        let row = 3 + u32::try_from(i / 2).unwrap_or(u32::MAX - 3);
        let col = if i % 2 == 0 { 0 } else { 2 };
        let shown = values
            .get(&f.code)
            .map(|v| super::summary::labelled(catalogue, &f.code, v))
            .unwrap_or_default();
        ws.write_string_with_format(row, col, &f.label, &label)
            .map_err(xlsx_err)?;
        let format = if super::export::formula_like(&shown) {
            &quoted
        } else {
            &value
        };
        ws.write_string_with_format(row, col + 1, &shown, format)
            .map_err(xlsx_err)?;
    }
    if fields.len() % 2 == 1 {
        let row = 3 + u32::try_from(fields.len() / 2).unwrap_or(u32::MAX - 3);
        ws.write_blank(row, 2, &label).map_err(xlsx_err)?;
        ws.write_blank(row, 3, &value).map_err(xlsx_err)?;
    }
    ws.set_paper_size(9);
    ws.set_portrait();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_footer("&C第 &P 页，共 &N 页");
    mark.apply(&mut wb);
    wb.save_to_buffer().map_err(xlsx_err)
}
