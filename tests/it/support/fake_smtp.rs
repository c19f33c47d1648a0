//! A strict fake SMTP server on 127.0.0.1:0 (reference integrations.md §4.4, Appendix A), with a
//! certificate made at start (rcgen: a CA and a server certificate for `localhost`, `127.0.0.1`
//! and `smtp.test`).
//!
//! The dialogue is checked as RFC 5321/3207/4954 and real servers check it:
//! - a greeting (or the whole connection, in implicit TLS mode); `EHLO`/`HELO` before anything
//!   else, and again after STARTTLS; STARTTLS with no command pipelined behind it;
//! - `AUTH PLAIN` (initial response or 334 continuation), `AUTH CRAM-MD5` (a challenge, the
//!   HMAC-MD5 digest checked) and `AUTH LOGIN` (`334 VXNlcm5hbWU6`,
//!   `334 UGFzc3dvcmQ6`) against the configured user and password, only once, only over TLS
//!   when TLS is required (`530 5.7.0 Must issue a STARTTLS command first`);
//! - `MAIL FROM:<..>` (with `SIZE`/`BODY` parameters only as advertised), `RCPT TO:<..>`, `DATA`
//!   in that order, `RSET`, `NOOP`, `QUIT`; command lines of at most 512 octets ending in CRLF.
//!
//! The message (after `DATA`) is checked as RFC 5321/5322/2045–2047 require: CRLF line ends only,
//! lines of at most 1000 octets, dot-stuffing (a line that starts with `.` starts with `..`), 7-bit
//! unless `BODY=8BITMIME`; headers of printable ASCII (non-ASCII only as RFC 2047 encoded words),
//! `Date`, `From`, `To`, `Subject`, `Message-Id` exactly once, `MIME-Version: 1.0`, a
//! `multipart/alternative` with a boundary whose parts are `text/plain` and/or `text/html` (HTML
//! last) in UTF-8, quoted-printable lines of at most 76 characters with valid escapes. A message
//! that fails is answered `554 5.6.0` with the reason; every protocol or message fault of the
//! client is recorded in [`FakeSmtp::violations`].
//!
//! Scripted [`Fault`]s answer a stage with another reply (421/451 temporary, 550/554 permanent)
//! or answer late. Self-contained (std, tokio, tokio-rustls, rcgen, base64) so the integration's
//! unit tests include it too.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// Where in the dialogue a scripted fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The greeting.
    Greeting,
    /// The answer to `MAIL`.
    Mail,
    /// The answer to `RCPT`.
    Rcpt,
    /// The answer to `DATA`.
    Data,
    /// The answer to the message (after the final `.`).
    EndOfData,
}

/// A scripted answer: at `stage`, wait `delay`, then answer `reply` instead of the usual one.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Where.
    pub stage: Stage,
    /// The reply line (`451 4.3.0 try later`), or None for the usual one.
    pub reply: Option<String>,
    /// Wait this long first.
    pub delay: Option<Duration>,
}

impl Fault {
    /// Answers `reply` at `stage`.
    pub fn reply(stage: Stage, reply: &str) -> Fault {
        Fault {
            stage,
            reply: Some(reply.to_owned()),
            delay: None,
        }
    }

    /// The usual answer at `stage`, after `delay`.
    pub fn slow(stage: Stage, delay: Duration) -> Fault {
        Fault {
            stage,
            reply: None,
            delay: Some(delay),
        }
    }
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// TLS from the first byte (SMTPS).
    pub implicit_tls: bool,
    /// Advertise STARTTLS (on a plain connection).
    pub starttls: bool,
    /// Refuse AUTH and MAIL before TLS.
    pub require_tls: bool,
    /// AUTH mechanisms advertised (after TLS when TLS is required), in order.
    pub auth: Vec<&'static str>,
    /// Refuse MAIL before a successful AUTH.
    pub require_auth: bool,
    /// Advertise 8BITMIME.
    pub eight_bit: bool,
}

impl Default for Options {
    /// STARTTLS required, AUTH PLAIN and LOGIN required, 8BITMIME: a submission server.
    fn default() -> Self {
        Options {
            implicit_tls: false,
            starttls: true,
            require_tls: true,
            auth: vec!["PLAIN", "LOGIN"],
            require_auth: true,
            eight_bit: true,
        }
    }
}

impl Options {
    /// A relay on port 25 without TLS nor AUTH.
    pub fn plain_relay() -> Options {
        Options {
            starttls: false,
            require_tls: false,
            auth: vec![],
            require_auth: false,
            ..Options::default()
        }
    }

    /// SMTPS: TLS from the first byte, AUTH required.
    pub fn implicit() -> Options {
        Options {
            implicit_tls: true,
            starttls: false,
            ..Options::default()
        }
    }
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Message {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The EHLO name of the session.
    pub ehlo: String,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The TLS version negotiated (`TLSv1_2`, `TLSv1_3`), when TLS was used.
    pub tls_version: Option<String>,
    /// `(mechanism, authorization identity, user)` of the session's AUTH.
    pub auth: Option<(String, String, String)>,
    /// Header fields in order: name and unfolded raw value.
    pub headers: Vec<(String, String)>,
    /// The `text/plain` part, decoded.
    pub text: Option<String>,
    /// The `text/html` part, decoded.
    pub html: Option<String>,
    /// The message as received, dot-stuffing removed.
    pub raw: String,
    /// The session (connection) number, from 0.
    pub session: usize,
    /// When the message was accepted.
    pub at: tokio::time::Instant,
}

impl Message {
    /// The decoded value of a header (RFC 2047 words decoded), matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_words(v).unwrap_or_else(|e| format!("<bad: {e}>")))
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Message>,
    violations: Vec<String>,
    faults: std::collections::VecDeque<Fault>,
    sessions: usize,
    transcript: Vec<String>,
}

/// The fake server.
pub struct FakeSmtp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The user AUTH accepts.
    pub user: String,
    /// The password AUTH accepts.
    pub password: String,
    /// The CA that signed the server's certificate (PEM), for `tls_config.ca`.
    pub ca_pem: String,
    /// How it behaves.
    pub options: Options,
    state: Arc<Mutex<State>>,
}

/// Everything a session needs.
struct Shared {
    state: Arc<Mutex<State>>,
    options: Options,
    acceptor: TlsAcceptor,
    user: String,
    password: String,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The CA (PEM) and the server's certificate chain and key.
fn certificates() -> (
    String,
    Vec<pki_types::CertificateDer<'static>>,
    pki_types::PrivateKeyDer<'static>,
) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "tocsin test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "smtp.test".to_owned(),
    ])
    .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "smtp.test");
    let cert = params.signed_by(&key, &ca).unwrap();
    let key = pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    (ca.pem(), vec![cert.der().clone(), ca.der().clone()], key)
}

impl FakeSmtp {
    /// Starts a server.
    pub async fn start(options: Options) -> FakeSmtp {
        let (ca_pem, chain, key) = certificates();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::new(Shared {
            state: Arc::clone(&state),
            options: options.clone(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
            user: "alerts@example.org".to_owned(),
            password: "Sm7pPassw0rd".to_owned(),
        });
        let s = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let n = {
                        let mut st = s.state.lock().unwrap();
                        st.sessions += 1;
                        st.sessions - 1
                    };
                    if let Err(e) = session(&s, stream, n).await {
                        s.state
                            .lock()
                            .unwrap()
                            .transcript
                            .push(format!("#{n} ended: {e}"));
                    }
                });
            }
        });
        FakeSmtp {
            addr,
            user: shared.user.clone(),
            password: shared.password.clone(),
            ca_pem,
            options,
            state,
        }
    }

    /// `127.0.0.1:port`, for `smarthost`.
    pub fn smarthost(&self) -> String {
        self.addr.to_string()
    }

    /// Queues scripted faults.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// The accepted messages.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Every fault of a client: protocol errors and malformed messages.
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }

    /// How many connections were made.
    pub fn sessions(&self) -> usize {
        self.state.lock().unwrap().sessions
    }

    /// Every command and reply, for failure messages.
    pub fn transcript(&self) -> Vec<String> {
        self.state.lock().unwrap().transcript.clone()
    }

    /// Waits until `n` messages were accepted (panics after `within`).
    pub async fn wait_messages(&self, n: usize, within: Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} messages; violations {:?}; transcript {:#?}",
                m.len(),
                self.violations(),
                self.transcript()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Per-connection state.
#[derive(Default)]
struct Session {
    n: usize,
    tls: bool,
    tls_version: Option<String>,
    ehlo: Option<String>,
    extended: bool,
    auth: Option<(String, String, String)>,
    mail_from: Option<String>,
    eight_bit: bool,
    rcpt: Vec<String>,
}

impl Shared {
    fn log(&self, n: usize, line: String) {
        self.state
            .lock()
            .unwrap()
            .transcript
            .push(format!("#{n} {line}"));
    }

    fn violation(&self, n: usize, what: String) {
        let mut st = self.state.lock().unwrap();
        st.transcript.push(format!("#{n} VIOLATION {what}"));
        st.violations.push(what);
    }

    fn fault(&self, stage: Stage) -> Option<Fault> {
        let mut st = self.state.lock().unwrap();
        if st.faults.front().is_some_and(|f| f.stage == stage) {
            st.faults.pop_front()
        } else {
            None
        }
    }
}

async fn send(
    w: &mut BufReader<Box<dyn Io>>,
    s: &Shared,
    n: usize,
    reply: &str,
) -> std::io::Result<()> {
    s.log(n, format!("S: {reply}"));
    w.get_mut()
        .write_all(format!("{reply}\r\n").as_bytes())
        .await?;
    w.get_mut().flush().await
}

/// Reads one line (with its CRLF), at most `max` octets.
async fn read_line(r: &mut BufReader<Box<dyn Io>>, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = (&mut *r)
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(buf))
}

/// The negotiated TLS version of a server-side TLS stream (`TLSv1_3`...).
fn version<T>(tls: &tokio_rustls::server::TlsStream<T>) -> Option<String> {
    tls.get_ref().1.protocol_version().map(|v| format!("{v:?}"))
}

async fn session(s: &Shared, stream: TcpStream, n: usize) -> std::io::Result<()> {
    let mut ss = Session {
        n,
        ..Session::default()
    };
    let io: Box<dyn Io> = if s.options.implicit_tls {
        ss.tls = true;
        let tls = s.acceptor.accept(stream).await?;
        ss.tls_version = version(&tls);
        Box::new(tls)
    } else {
        Box::new(stream)
    };
    let mut c = BufReader::new(io);
    if let Some(f) = s.fault(Stage::Greeting) {
        if let Some(d) = f.delay {
            tokio::time::sleep(d).await;
        }
        if let Some(r) = f.reply {
            send(&mut c, s, n, &r).await?;
            return Ok(());
        }
    }
    send(&mut c, s, n, "220 smtp.test ESMTP fake ready").await?;
    loop {
        let Some(line) = read_line(&mut c, 512).await? else {
            return Ok(());
        };
        let Some(text) = line.strip_suffix(b"\r\n") else {
            s.violation(
                n,
                format!(
                    "command line without CRLF or over 512 octets: {:?}",
                    String::from_utf8_lossy(&line)
                ),
            );
            send(&mut c, s, n, "500 5.5.2 Line too long or not ended by CRLF").await?;
            continue;
        };
        let text = String::from_utf8_lossy(text).into_owned();
        let shown = if text.to_ascii_uppercase().starts_with("AUTH ") {
            text.split(' ').take(2).collect::<Vec<_>>().join(" ") + " ..."
        } else {
            text.clone()
        };
        s.log(n, format!("C: {shown}"));
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.to_owned()),
            None => (text.to_ascii_uppercase(), String::new()),
        };
        let refuse = |why: &str| why.to_owned();
        let err: Option<String> = match verb.as_str() {
            "EHLO" | "HELO" => {
                if arg.trim().is_empty() {
                    Some(refuse("501 5.5.4 EHLO needs a domain"))
                } else {
                    ss.ehlo = Some(arg.trim().to_owned());
                    ss.extended = verb == "EHLO";
                    ss.mail_from = None;
                    ss.rcpt.clear();
                    if verb == "HELO" {
                        send(&mut c, s, n, "250 smtp.test").await?;
                    } else {
                        let mut ext = vec![format!("smtp.test greets {}", arg.trim())];
                        ext.push("SIZE 10485760".to_owned());
                        if s.options.eight_bit {
                            ext.push("8BITMIME".to_owned());
                        }
                        ext.push("ENHANCEDSTATUSCODES".to_owned());
                        if s.options.starttls && !ss.tls {
                            ext.push("STARTTLS".to_owned());
                        }
                        if !s.options.auth.is_empty() && (ss.tls || !s.options.require_tls) {
                            ext.push(format!("AUTH {}", s.options.auth.join(" ")));
                        }
                        let last = ext.len() - 1;
                        for (i, e) in ext.iter().enumerate() {
                            let sep = if i == last { ' ' } else { '-' };
                            send(&mut c, s, n, &format!("250{sep}{e}")).await?;
                        }
                    }
                    None
                }
            }
            "NOOP" => {
                send(&mut c, s, n, "250 2.0.0 Ok").await?;
                None
            }
            "RSET" => {
                ss.mail_from = None;
                ss.rcpt.clear();
                send(&mut c, s, n, "250 2.0.0 Ok").await?;
                None
            }
            "QUIT" => {
                send(&mut c, s, n, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ if ss.ehlo.is_none() => Some(refuse("503 5.5.1 Error: send HELO/EHLO first")),
            "STARTTLS" => {
                if !s.options.starttls || ss.tls {
                    Some(refuse("503 5.5.1 STARTTLS not available"))
                } else if !arg.is_empty() {
                    Some(refuse("501 5.5.4 Syntax: STARTTLS"))
                } else {
                    send(&mut c, s, n, "220 2.0.0 Ready to start TLS").await?;
                    if !c.buffer().is_empty() {
                        s.violation(n, "commands pipelined after STARTTLS".to_owned());
                        return Ok(());
                    }
                    let plain = c.into_inner();
                    let tls = s.acceptor.accept(plain).await?;
                    let tls_version = version(&tls);
                    c = BufReader::new(Box::new(tls));
                    ss = Session {
                        n,
                        tls: true,
                        tls_version,
                        ..Session::default()
                    };
                    None
                }
            }
            "AUTH" => auth(s, &mut c, &mut ss, &arg).await?,
            "MAIL" => {
                if s.options.require_tls && !ss.tls {
                    Some(refuse("530 5.7.0 Must issue a STARTTLS command first"))
                } else if s.options.require_auth && ss.auth.is_none() {
                    Some(refuse("530 5.7.0 Authentication required"))
                } else if ss.mail_from.is_some() {
                    Some(refuse("503 5.5.1 Error: nested MAIL command"))
                } else {
                    match mail_from(&arg, ss.extended, s.options.eight_bit) {
                        Ok((from, eight)) => {
                            if let Some(r) = scripted(s, &mut c, n, Stage::Mail).await? {
                                let _ = r;
                            } else {
                                ss.mail_from = Some(from);
                                ss.eight_bit = eight;
                                send(&mut c, s, n, "250 2.1.0 Ok").await?;
                            }
                            None
                        }
                        Err(e) => Some(e),
                    }
                }
            }
            "RCPT" => {
                if ss.mail_from.is_none() {
                    Some(refuse("503 5.5.1 Error: need MAIL command"))
                } else {
                    match path(&arg, "TO:") {
                        Ok((to, rest)) if rest.is_empty() && to.contains('@') => {
                            if scripted(s, &mut c, n, Stage::Rcpt).await?.is_none() {
                                ss.rcpt.push(to);
                                send(&mut c, s, n, "250 2.1.5 Ok").await?;
                            }
                            None
                        }
                        Ok(_) => Some(refuse("501 5.1.3 Bad recipient address syntax")),
                        Err(e) => Some(e),
                    }
                }
            }
            "DATA" => {
                if ss.rcpt.is_empty() {
                    Some(refuse("503 5.5.1 Error: need RCPT command"))
                } else if !arg.is_empty() {
                    Some(refuse("501 5.5.4 Syntax: DATA"))
                } else if scripted(s, &mut c, n, Stage::Data).await?.is_some() {
                    ss.mail_from = None;
                    ss.rcpt.clear();
                    None
                } else {
                    send(&mut c, s, n, "354 End data with <CR><LF>.<CR><LF>").await?;
                    data(s, &mut c, &mut ss).await?;
                    None
                }
            }
            _ => Some(refuse("500 5.5.2 Error: command not recognized")),
        };
        if let Some(reply) = err {
            s.violation(n, format!("{shown:?} -> {reply}"));
            send(&mut c, s, n, &reply).await?;
        }
    }
}

/// Applies a scripted fault at `stage`: Some(reply) when it replaced the usual answer.
async fn scripted(
    s: &Shared,
    c: &mut BufReader<Box<dyn Io>>,
    n: usize,
    stage: Stage,
) -> std::io::Result<Option<String>> {
    let Some(f) = s.fault(stage) else {
        return Ok(None);
    };
    if let Some(d) = f.delay {
        tokio::time::sleep(d).await;
    }
    match f.reply {
        Some(r) => {
            send(c, s, n, &r).await?;
            Ok(Some(r))
        }
        None => Ok(None),
    }
}

/// `FROM:<addr> params` or `TO:<addr> params`: the address and the rest.
fn path(arg: &str, prefix: &str) -> Result<(String, String), String> {
    let rest = arg
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &arg[prefix.len()..])
        .ok_or_else(|| format!("501 5.5.4 Syntax: {prefix}<address>"))?;
    let rest = rest
        .strip_prefix('<')
        .ok_or_else(|| "501 5.1.7 Bad address syntax (no <)".to_owned())?;
    let (addr, params) = rest
        .split_once('>')
        .ok_or_else(|| "501 5.1.7 Bad address syntax (no >)".to_owned())?;
    if addr.contains(' ') || addr.contains('<') {
        return Err("501 5.1.7 Bad address syntax".to_owned());
    }
    Ok((addr.to_owned(), params.trim().to_owned()))
}

/// The sender and whether the body is 8-bit.
fn mail_from(arg: &str, extended: bool, eight: bool) -> Result<(String, bool), String> {
    let (from, params) = path(arg, "FROM:")?;
    let mut eight_bit = false;
    for p in params.split(' ').filter(|p| !p.is_empty()) {
        if !extended {
            return Err("555 5.5.4 MAIL parameters need EHLO".to_owned());
        }
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match k.to_ascii_uppercase().as_str() {
            "SIZE" if v.parse::<u64>().is_ok() => {}
            "BODY" if v.eq_ignore_ascii_case("7BIT") => {}
            "BODY" if v.eq_ignore_ascii_case("8BITMIME") && eight => eight_bit = true,
            _ => return Err(format!("555 5.5.4 Unsupported MAIL parameter {p}")),
        }
    }
    if !from.is_empty() && !from.contains('@') {
        return Err("501 5.1.7 Bad sender address syntax".to_owned());
    }
    Ok((from, eight_bit))
}

async fn auth(
    s: &Shared,
    c: &mut BufReader<Box<dyn Io>>,
    ss: &mut Session,
    arg: &str,
) -> std::io::Result<Option<String>> {
    let n = ss.n;
    let (mech, initial) = match arg.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_owned())),
        None => (arg.to_ascii_uppercase(), None),
    };
    if !ss.extended {
        return Ok(Some("503 5.5.1 Error: AUTH needs EHLO".to_owned()));
    }
    if s.options.require_tls && !ss.tls {
        return Ok(Some(
            "530 5.7.0 Must issue a STARTTLS command first".to_owned(),
        ));
    }
    if ss.auth.is_some() {
        return Ok(Some("503 5.5.1 Error: already authenticated".to_owned()));
    }
    if ss.mail_from.is_some() {
        return Ok(Some(
            "503 5.5.1 Error: MAIL transaction in progress".to_owned(),
        ));
    }
    if !s.options.auth.contains(&mech.as_str()) {
        return Ok(Some(
            "504 5.5.4 Unrecognized authentication type".to_owned(),
        ));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    // Reads one client response to a 334 challenge.
    async fn answer(
        s: &Shared,
        c: &mut BufReader<Box<dyn Io>>,
        n: usize,
        challenge: &str,
    ) -> std::io::Result<Option<String>> {
        send(c, s, n, &format!("334 {challenge}")).await?;
        let Some(line) = read_line(c, 12288).await? else {
            return Ok(None);
        };
        s.log(n, "C: <auth response>".to_owned());
        Ok(Some(
            String::from_utf8_lossy(line.strip_suffix(b"\r\n").unwrap_or(&line)).into_owned(),
        ))
    }
    let decode = |v: &str| -> Result<String, String> {
        if v == "*" {
            return Err("501 5.7.0 Authentication cancelled".to_owned());
        }
        b64.decode(v)
            .map_err(|_| "501 5.5.2 Cannot decode response".to_owned())
            .and_then(|b| String::from_utf8(b).map_err(|_| "501 5.5.2 Not UTF-8".to_owned()))
    };
    let (identity, user, pass) = match mech.as_str() {
        "PLAIN" => {
            let resp = match initial {
                Some(i) => i,
                None => match answer(s, c, n, "").await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let plain = match decode(&resp) {
                Ok(p) => p,
                Err(e) => return Ok(Some(e)),
            };
            let parts: Vec<&str> = plain.split('\0').collect();
            if parts.len() != 3 {
                return Ok(Some(
                    "501 5.5.2 PLAIN wants authzid\\0authcid\\0passwd".to_owned(),
                ));
            }
            (
                parts[0].to_owned(),
                parts[1].to_owned(),
                parts[2].to_owned(),
            )
        }
        "LOGIN" => {
            let user = match initial {
                Some(i) => i,
                None => match answer(s, c, n, "VXNlcm5hbWU6").await? {
                    Some(r) => r,
                    None => return Ok(None),
                },
            };
            let Some(pass) = answer(s, c, n, "UGFzc3dvcmQ6").await? else {
                return Ok(None);
            };
            match (decode(&user), decode(&pass)) {
                (Ok(u), Ok(p)) => (String::new(), u, p),
                (Err(e), _) | (_, Err(e)) => return Ok(Some(e)),
            }
        }
        "CRAM-MD5" => {
            if initial.is_some() {
                return Ok(Some(
                    "501 5.5.2 CRAM-MD5 takes no initial response".to_owned(),
                ));
            }
            let challenge = format!("<{}.{}@fake.smtp.test>", std::process::id(), n);
            let Some(resp) = answer(s, c, n, &b64.encode(&challenge)).await? else {
                return Ok(None);
            };
            let text = match decode(&resp) {
                Ok(t) => t,
                Err(e) => return Ok(Some(e)),
            };
            let Some((user, digest)) = text.rsplit_once(' ') else {
                return Ok(Some("501 5.5.2 CRAM-MD5 wants user SP digest".to_owned()));
            };
            // RFC 2195: 32 lower-case hex digits of HMAC-MD5(password, challenge).
            if digest.len() != 32
                || !digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Ok(Some(
                    "501 5.5.2 CRAM-MD5 digest is not 32 lower-case hex digits".to_owned(),
                ));
            }
            let want = cram_digest(s.password.as_bytes(), challenge.as_bytes());
            // The password is the shared secret: a right digest proves it without sending it.
            let pass = if digest == want {
                s.password.clone()
            } else {
                String::new()
            };
            (String::new(), user.to_owned(), pass)
        }
        _ => {
            return Ok(Some(
                "504 5.5.4 Unrecognized authentication type".to_owned(),
            ));
        }
    };
    if user != s.user || pass != s.password || !(identity.is_empty() || identity == user) {
        // A wrong password is the client's fault too: record it.
        return Ok(Some(
            "535 5.7.8 Authentication credentials invalid".to_owned(),
        ));
    }
    ss.auth = Some((mech, identity, user));
    send(c, s, n, "235 2.7.0 Authentication successful").await?;
    Ok(None)
}

/// HMAC-MD5 of `challenge` keyed with `key`, in lower-case hex (RFC 2104 over RFC 1321), as a
/// CRAM-MD5 server computes it.
fn cram_digest(key: &[u8], challenge: &[u8]) -> String {
    use md5::{Digest, Md5};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..16].copy_from_slice(&Md5::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(block.iter().map(|b| b ^ 0x36).collect::<Vec<u8>>());
    inner.update(challenge);
    let mut outer = Md5::new();
    outer.update(block.iter().map(|b| b ^ 0x5c).collect::<Vec<u8>>());
    outer.update(inner.finalize());
    outer
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads the message up to the lone `.`, checks it, and answers.
async fn data(s: &Shared, c: &mut BufReader<Box<dyn Io>>, ss: &mut Session) -> std::io::Result<()> {
    let n = ss.n;
    let mut raw = Vec::new();
    let mut problems = Vec::new();
    loop {
        let Some(line) = read_line(c, 1000).await? else {
            return Ok(());
        };
        if line == b".\r\n" {
            break;
        }
        if !line.ends_with(b"\r\n") {
            if line.ends_with(b"\n") {
                problems.push("a line ends in a bare LF".to_owned());
            } else {
                problems.push("a line is longer than 1000 octets".to_owned());
                // Skip the rest of the long line.
                let mut rest = Vec::new();
                c.read_until(b'\n', &mut rest).await?;
            }
        }
        let mut body = &line[..];
        if body.first() == Some(&b'.') {
            if body.get(1) == Some(&b'.') {
                body = &body[1..];
            } else {
                problems.push(format!(
                    "line not dot-stuffed: {:?}",
                    String::from_utf8_lossy(&line)
                ));
            }
        }
        let content = body.strip_suffix(b"\r\n").unwrap_or(body);
        if content.contains(&b'\r') {
            problems.push("a bare CR in a line".to_owned());
        }
        if !ss.eight_bit && !content.is_ascii() {
            problems.push("8-bit data without BODY=8BITMIME".to_owned());
        }
        if raw.len() > 10 << 20 {
            problems.push("message over 10 MiB".to_owned());
            raw.clear();
        }
        raw.extend_from_slice(body);
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let parsed = check_message(&raw);
    let mail_from = ss.mail_from.take().unwrap_or_default();
    let rcpt_to = std::mem::take(&mut ss.rcpt);
    match (problems.is_empty(), parsed) {
        (true, Ok((headers, text, html))) => {
            if scripted(s, c, n, Stage::EndOfData).await?.is_some() {
                return Ok(());
            }
            let id = {
                let mut st = s.state.lock().unwrap();
                st.messages.push(Message {
                    mail_from,
                    rcpt_to,
                    ehlo: ss.ehlo.clone().unwrap_or_default(),
                    tls: ss.tls,
                    tls_version: ss.tls_version.clone(),
                    auth: ss.auth.clone(),
                    headers,
                    text,
                    html,
                    raw,
                    session: n,
                    at: tokio::time::Instant::now(),
                });
                st.messages.len()
            };
            send(c, s, n, &format!("250 2.0.0 Ok: queued as {id}")).await
        }
        (_, parsed) => {
            if let Err(e) = parsed {
                problems.push(e);
            }
            let why = problems.join("; ");
            s.violation(n, format!("message refused: {why}"));
            send(c, s, n, &format!("554 5.6.0 Message refused: {why}")).await
        }
    }
}

type Headers = Vec<(String, String)>;

/// Splits a header section into unfolded fields, checking each line.
fn headers(section: &str) -> Result<Headers, String> {
    let mut out: Headers = Vec::new();
    for line in section.split("\r\n") {
        if line.len() > 998 {
            return Err(format!("header line over 998 characters: {line:.40}..."));
        }
        if !line.bytes().all(|b| b == b'\t' || (32..=126).contains(&b)) {
            return Err(format!(
                "header line with a byte outside printable ASCII: {line:?}"
            ));
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some(last) = out.last_mut() else {
                return Err("a folded line before any header".to_owned());
            };
            last.1.push_str(line);
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without a colon: {line:?}"))?;
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(format!("bad header name {name:?}"));
        }
        out.push((name.to_owned(), value.trim_start().to_owned()));
    }
    for (_, v) in &mut out {
        *v = v.trim().to_owned();
    }
    Ok(out)
}

/// A header's parameter (`boundary`, `charset`), unquoted.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// RFC 2047 words decoded (Q and B, UTF-8 only); whitespace between two words dropped.
pub fn decode_words(v: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, word) = rest.split_at(start);
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let inner = &word[2..];
        let mut it = inner.splitn(3, '?');
        let (Some(charset), Some(enc), Some(tail)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("bad encoded word in {v:?}"));
        };
        let end = tail
            .find("?=")
            .ok_or_else(|| format!("unterminated encoded word in {v:?}"))?;
        let text = &tail[..end];
        let word_len = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
        if word_len > 75 {
            return Err(format!("encoded word over 75 characters in {v:?}"));
        }
        if !charset.eq_ignore_ascii_case("utf-8") {
            return Err(format!("charset {charset} in {v:?}"));
        }
        let bytes = match enc {
            "q" | "Q" => {
                let mut b = Vec::new();
                let t = text.as_bytes();
                let mut i = 0;
                while i < t.len() {
                    match t[i] {
                        b'_' => b.push(b' '),
                        b'=' => {
                            let h = text
                                .get(i + 1..i + 3)
                                .and_then(|h| u8::from_str_radix(h, 16).ok())
                                .ok_or_else(|| format!("bad escape in {v:?}"))?;
                            b.push(h);
                            i += 2;
                        }
                        x if x.is_ascii_graphic() && x != b'?' => b.push(x),
                        _ => return Err(format!("bad character in encoded word {v:?}")),
                    }
                    i += 1;
                }
                b
            }
            "b" | "B" => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| format!("bad base64 word in {v:?}"))?,
            _ => return Err(format!("encoding {enc} in {v:?}")),
        };
        out.push_str(&String::from_utf8(bytes).map_err(|_| format!("not UTF-8: {v:?}"))?);
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    Ok(out)
}

/// Quoted-printable decoded, checking line lengths and escapes.
fn qp_decode(body: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = body.split("\r\n").collect();
    for (i, line) in lines.iter().enumerate() {
        if line.len() > 76 {
            return Err(format!(
                "quoted-printable line over 76 characters: {line:.40}..."
            ));
        }
        let (text, soft) = match line.strip_suffix('=') {
            Some(t) => (t, true),
            None => (*line, false),
        };
        if !soft && (text.ends_with(' ') || text.ends_with('\t')) {
            return Err(format!("unencoded whitespace at a line end: {line:?}"));
        }
        let b = text.as_bytes();
        let mut j = 0;
        while j < b.len() {
            match b[j] {
                b'=' => {
                    let h = text
                        .get(j + 1..j + 3)
                        .filter(|h| {
                            h.bytes()
                                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
                        })
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| format!("bad quoted-printable escape in {line:?}"))?;
                    out.push(h);
                    j += 3;
                }
                x if x == b'\t' || (32..=126).contains(&x) => {
                    out.push(x);
                    j += 1;
                }
                x => return Err(format!("byte {x:#x} in quoted-printable")),
            }
        }
        if !soft && i + 1 < lines.len() {
            out.extend_from_slice(b"\r\n");
        }
    }
    Ok(out)
}

type Parsed = (Headers, Option<String>, Option<String>);

/// Checks a whole message (dot-stuffing already removed); its headers and decoded parts.
pub fn check_message(raw: &str) -> Result<Parsed, String> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or("no empty line after the headers")?;
    let hs = headers(head)?;
    let count = |n: &str| hs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(n)).count();
    let get = |n: &str| {
        hs.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for h in [
        "Date",
        "From",
        "To",
        "Subject",
        "Message-Id",
        "MIME-Version",
        "Content-Type",
    ] {
        match count(h) {
            1 => {}
            0 => return Err(format!("no {h} header")),
            k => return Err(format!("{k} {h} headers")),
        }
    }
    for (k, v) in &hs {
        decode_words(v).map_err(|e| format!("{k}: {e}"))?;
    }
    let id = get("Message-Id");
    if !(id.starts_with('<') && id.ends_with('>') && id.contains('@')) {
        return Err(format!("bad Message-Id {id:?}"));
    }
    let date = get("Date");
    let date_ok = {
        let p: Vec<&str> = date.split_whitespace().collect();
        p.len() == 6
            && p[0].ends_with(',')
            && p[1].parse::<u8>().is_ok()
            && p[3].len() == 4
            && p[4].len() == 8
            && (p[5].starts_with('+') || p[5].starts_with('-'))
            && p[5].len() == 5
    };
    if !date_ok {
        return Err(format!(
            "Date {date:?} is not RFC 5322's day, dd mon yyyy hh:mm:ss +zzzz"
        ));
    }
    if get("MIME-Version") != "1.0" {
        return Err("MIME-Version is not 1.0".to_owned());
    }
    let ctype = get("Content-Type");
    if !ctype
        .to_ascii_lowercase()
        .starts_with("multipart/alternative;")
    {
        return Err(format!(
            "Content-Type {ctype:?} is not multipart/alternative"
        ));
    }
    let boundary = param(&ctype, "boundary").ok_or("no boundary")?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(format!("bad boundary {boundary:?}"));
    }
    let delim = format!("--{boundary}");
    let close = format!("{delim}--");
    let body = format!("\r\n{body}");
    let end = body
        .find(&format!("\r\n{close}"))
        .ok_or("no closing boundary")?;
    let sep = format!("\r\n{delim}\r\n");
    let mut parts = body[..end].split(sep.as_str());
    parts.next(); // the preamble
    let (mut text, mut html) = (None, None);
    let mut count_parts = 0;
    for part in parts {
        count_parts += 1;
        let (ph, pb) = part.split_once("\r\n\r\n").unwrap_or((part, ""));
        let ph = headers(ph)?;
        let pget = |n: &str| {
            ph.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let ct = pget("Content-Type");
        let charset = param(&ct, "charset").unwrap_or_default();
        if !charset.eq_ignore_ascii_case("utf-8") {
            return Err(format!("part charset {charset:?}, want UTF-8"));
        }
        let cte = pget("Content-Transfer-Encoding").to_ascii_lowercase();
        let bytes = match cte.as_str() {
            "quoted-printable" => qp_decode(pb)?,
            "7bit" | "8bit" | "" => pb.as_bytes().to_vec(),
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(pb.replace("\r\n", ""))
                .map_err(|_| "bad base64 part")?,
            other => return Err(format!("transfer encoding {other}")),
        };
        let s = String::from_utf8(bytes).map_err(|_| "a part is not UTF-8")?;
        let kind = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match kind.as_str() {
            "text/plain" if text.is_none() && html.is_none() => text = Some(s),
            "text/plain" => return Err("text/plain after text/html or twice".to_owned()),
            "text/html" if html.is_none() => html = Some(s),
            other => return Err(format!("unexpected part {other}")),
        }
    }
    if count_parts == 0 {
        return Err("multipart/alternative without a part".to_owned());
    }
    Ok((hs, text, html))
}
