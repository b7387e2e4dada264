//! The user guide (使用帮助): the campaign's steps for each role, one printable page.

use askama::Template;
use askama_web::WebTemplate;

use super::CurrentUser;
use super::view::Ctx;

#[derive(Template, WebTemplate)]
#[template(path = "help.html")]
pub struct HelpPage {
    ctx: Option<Ctx>,
}

pub async fn show(user: CurrentUser) -> HelpPage {
    HelpPage {
        ctx: Some(Ctx::new(&user, "help")),
    }
}
