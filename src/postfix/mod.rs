//! Everything about Postfix: its commands, its versions, and editing its
//! main.cf and master.cf.

pub(crate) mod ciphers;
pub(crate) mod ctl;
pub(crate) mod curves;
pub(crate) mod files;
pub(crate) mod lines;
pub(crate) mod maincf;
pub mod mastercf;
pub mod multi;
pub(crate) mod oracle;
pub(crate) mod version;

pub use ctl::{Postfix, SystemPostfix};
pub use files::{ConfigFiles, FileEdit, SettingChange};
pub use maincf::MainCf;
pub use mastercf::MasterCf;
pub use version::{Version, Versions};

/// Expands `$config_directory` (all three spellings) the way Postfix
/// would, so a value can be compared with a path.
pub fn expand_config_directory(value: &str, dir: &std::path::Path) -> String {
    let d = dir.to_string_lossy();
    value
        .replace("${config_directory}", &d)
        .replace("$(config_directory)", &d)
        .replace("$config_directory", &d)
}

/// The main.cf parameter for the (non-export) DH group.
pub const DH1024: &str = "smtpd_tls_dh1024_param_file";
/// The export-grade parameter, read only before Postfix 3.6.
pub const DH512: &str = "smtpd_tls_dh512_param_file";
/// tlsproxy(8)'s copy; follows smtpd's by default, deprecated in Postfix 3.9.
pub const TLSPROXY_DH1024: &str = "tlsproxy_tls_dh1024_param_file";
/// `auto`, or `strong`/`ultra` to pin one curve; Postfix 3.9 deprecates it
/// and warns on every `postconf` while it is set.
pub const EECDH_GRADE: &str = "smtpd_tls_eecdh_grade";
/// tlsproxy(8)'s copy of the grade; follows smtpd's by default.
pub const TLSPROXY_EECDH_GRADE: &str = "tlsproxy_tls_eecdh_grade";
