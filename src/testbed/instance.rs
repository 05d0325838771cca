//! A private Postfix instance on loopback, for the demo and the end-to-end
//! tests: its own config, queue and data directories, and log file, with an
//! smtpd on a free 127.0.0.1 port and a second one standing in for
//! submission. Debian's postfix package provides the binaries.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use crate::postfix::ctl::run_command;

/// A private Postfix; stopped when dropped.
#[derive(Debug)]
pub struct PrivatePostfix {
    /// Base directory holding etc/, queue/, data/ and maillog.
    pub base: PathBuf,
    /// The config directory (`postfix -c`).
    pub config_dir: PathBuf,
    /// Port of the main smtpd (`127.0.0.1:PORT/inet`).
    pub smtp_port: u16,
    /// Port of the submission-like smtpd.
    pub submission_port: u16,
    postfix: PathBuf,
    started: bool,
}

const TIMEOUT: Duration = Duration::from_secs(60);

impl PrivatePostfix {
    /// Lays out a new instance under `base` (which must not exist yet).
    pub fn create(base: &Path) -> Result<PrivatePostfix> {
        let postfix = PathBuf::from("/usr/sbin/postfix");
        if !postfix.exists() {
            bail!(
                "{} not found: install Postfix (`apt-get install postfix`)",
                postfix.display()
            );
        }
        let config_dir = base.join("etc");
        for (dir, mode) in [
            (base, 0o755),
            (&config_dir, 0o755),
            (&base.join("queue"), 0o755),
        ] {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
        }
        let data = base.join("data");
        std::fs::create_dir_all(&data)?;
        let pw = nix::unistd::User::from_name("postfix")?
            .context("no `postfix` user: install Postfix (`apt-get install postfix`)")?;
        nix::unistd::chown(&data, Some(pw.uid), Some(pw.gid))
            .with_context(|| format!("chown postfix {}", data.display()))?;

        write_cert(&config_dir)?;
        let smtp_port = free_port()?;
        let submission_port = free_port()?;
        let b = base.display();
        let main_cf = format!(
            "# Private Postfix instance for dhrotate's demo and tests.\n\
             compatibility_level = 3.6\n\
             queue_directory = {b}/queue\n\
             data_directory = {b}/data\n\
             maillog_file = {b}/maillog\n\
             maillog_file_prefixes = {b}\n\
             inet_interfaces = 127.0.0.1\n\
             inet_protocols = ipv4\n\
             myhostname = localhost\n\
             mydestination =\n\
             # TLS: a self-signed certificate is enough to see the DH group.\n\
             smtpd_tls_security_level = may\n\
             smtpd_tls_cert_file = {c}/cert.pem\n\
             smtpd_tls_key_file = {c}/key.pem\n\
             smtpd_tls_loglevel = 1\n",
            c = config_dir.display()
        );
        let master_cf = format!(
            "# service type  private unpriv  chroot  wakeup  maxproc command + args\n\
             127.0.0.1:{smtp_port} inet n - n - - smtpd\n\
             127.0.0.1:{submission_port} inet n - n - - smtpd\n\
             \x20 -o syslog_name=postfix/submission\n\
             \x20 -o smtpd_tls_security_level=encrypt\n\
             {}",
            UNIX_SERVICES
        );
        std::fs::write(config_dir.join("main.cf"), main_cf)?;
        std::fs::write(config_dir.join("master.cf"), master_cf)?;
        Ok(PrivatePostfix {
            base: base.to_path_buf(),
            config_dir,
            smtp_port,
            submission_port,
            postfix,
            started: false,
        })
    }

    /// `service/type` of the submission-like listener, as config `use` names it.
    pub fn submission_service(&self) -> String {
        format!("127.0.0.1:{}/inet", self.submission_port)
    }

    /// Sets permissions, starts the master, and waits until smtpd answers.
    pub fn start(&mut self) -> Result<()> {
        self.postfix_cmd(&["set-permissions"])?;
        self.postfix_cmd(&["start"])
            .with_context(|| format!("starting Postfix; its log:\n{}", self.maillog()))?;
        self.started = true;
        let deadline = Instant::now() + Duration::from_secs(20);
        for port in [self.smtp_port, self.submission_port] {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    bail!(
                        "Postfix does not listen on 127.0.0.1:{port}; its log:\n{}",
                        self.maillog()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// Stops the master (also done on drop).
    pub fn stop(&mut self) -> Result<()> {
        if self.started {
            self.started = false;
            self.postfix_cmd(&["stop"])?;
        }
        Ok(())
    }

    /// `postfix reload`: running daemons pick up changed files.
    pub fn reload(&self) -> Result<()> {
        self.postfix_cmd(&["reload"]).map(drop)
    }

    /// The instance's log so far.
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.base.join("maillog")).unwrap_or_default()
    }

    fn postfix_cmd(&self, args: &[&str]) -> Result<String> {
        let dir = self.config_dir.to_string_lossy();
        let mut argv = vec!["-c", dir.as_ref()];
        argv.extend_from_slice(args);
        run_command(&self.postfix, &argv, TIMEOUT)
    }
}

impl Drop for PrivatePostfix {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// Writes a self-signed `cert.pem` and `key.pem` for localhost into `dir`.
pub fn write_cert(dir: &Path) -> Result<()> {
    let rsa = Rsa::generate(2048)?;
    let key = PKey::from_rsa(rsa)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "localhost")?;
    let name = name.build();
    let mut x = X509::builder()?;
    x.set_version(2)?;
    x.set_subject_name(&name)?;
    x.set_issuer_name(&name)?;
    x.set_pubkey(&key)?;
    x.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    x.set_not_after(Asn1Time::days_from_now(30)?.as_ref())?;
    x.sign(&key, MessageDigest::sha256())?;
    let cert = x.build();
    std::fs::write(dir.join("cert.pem"), cert.to_pem()?)?;
    let key_path = dir.join("key.pem");
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8()?)?;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// The internal services every Postfix needs, chroot off (no jail to set up).
const UNIX_SERVICES: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";
