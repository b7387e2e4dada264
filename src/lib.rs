//! dengji — 律师行业党组织和党员基本信息登记核查系统. The library behind the `dengji` binary:
//! domain rules, authorisation, storage, services, web pages and command-line commands.

pub mod authz;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod docx;
pub mod domain;
pub mod forms;
#[doc(hidden)]
pub mod fuzzing;
pub mod private_file;
pub mod service;
pub mod sheet;
pub mod store;
pub mod totp;
pub mod watermark;
pub mod web;
pub mod workbook;
