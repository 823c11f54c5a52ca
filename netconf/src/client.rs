//! A minimal NETCONF client over SSH (russh), for benchmarks and tools that
//! must measure the server, not a client: one session, password
//! authentication, base:1.1 chunked framing, and `rpc` which sends the next
//! request the moment the previous reply has arrived (no polling loop).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::framing::{self, Decoder, Framing};

/// Accepts any host key: for talking to a daemon on this machine.
struct TrustingHandler;

impl russh::client::Handler for TrustingHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("ssh: {0}")]
    Ssh(#[from] russh::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("framing: {0}")]
    Framing(String),
    #[error("authentication refused for {0}")]
    Refused(String),
    #[error("the server closed the session")]
    Closed,
}

/// One NETCONF session.
pub struct Client {
    stream: russh::ChannelStream<russh::client::Msg>,
    dec: Decoder,
    buf: Vec<u8>,
    id: u64,
    _ssh: russh::client::Handle<TrustingHandler>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("id", &self.id).finish()
    }
}

impl Client {
    /// Connects, authenticates with a password, opens the `netconf`
    /// subsystem and exchanges hellos (base:1.1).
    pub async fn connect(
        addr: SocketAddr,
        user: &str,
        password: &str,
    ) -> Result<Client, ClientError> {
        let config = Arc::new(russh::client::Config::default());
        let mut ssh = russh::client::connect(config, addr, TrustingHandler).await?;
        if !ssh.authenticate_password(user, password).await?.success() {
            return Err(ClientError::Refused(user.to_owned()));
        }
        let ch = ssh.channel_open_session().await?;
        ch.request_subsystem(true, "netconf").await?;
        let mut c = Client {
            stream: ch.into_stream(),
            dec: Decoder::new(Framing::EndOfMessage, 1 << 31),
            buf: vec![0; 1 << 16],
            id: 0,
            _ssh: ssh,
        };
        c.read().await?;
        let hello = "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
                     <capability>urn:ietf:params:netconf:base:1.1</capability>\
                     </capabilities></hello>";
        c.stream
            .write_all(&framing::encode(Framing::EndOfMessage, hello.as_bytes()))
            .await?;
        c.dec.set_framing(Framing::Chunked);
        Ok(c)
    }

    /// The next whole message from the server.
    async fn read(&mut self) -> Result<String, ClientError> {
        loop {
            if let Some(m) = self
                .dec
                .next_message()
                .map_err(|e| ClientError::Framing(e.to_string()))?
            {
                return Ok(String::from_utf8_lossy(&m).into_owned());
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.dec.push(&self.buf[..n]);
        }
    }

    /// Sends `<rpc>` around `body` and returns the reply, as text (an
    /// `rpc-error` is a reply like any other).
    pub async fn rpc(&mut self, body: &str) -> Result<String, ClientError> {
        self.id += 1;
        let msg = format!(
            "<rpc xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\" message-id=\"{}\">{body}</rpc>",
            self.id
        );
        self.stream
            .write_all(&framing::encode(Framing::Chunked, msg.as_bytes()))
            .await?;
        loop {
            let m = self.read().await?;
            // Notifications interleave with replies (RFC 5277 §2.2.1).
            if !is_notification(&m) {
                return Ok(m);
            }
        }
    }
}

impl Client {
    /// The next notification (RFC 5277 envelope); waits for it. Replies
    /// cannot arrive here: call it on a session with no RPC outstanding.
    pub async fn notification(&mut self) -> Result<String, ClientError> {
        let m = self.read().await?;
        if is_notification(&m) {
            Ok(m)
        } else {
            Err(ClientError::Framing(format!(
                "expected a notification, got {}",
                &m[..m.len().min(200)]
            )))
        }
    }
}

fn is_notification(m: &str) -> bool {
    let mut s = m.trim_start();
    if s.starts_with("<?xml")
        && let Some(end) = s.find("?>")
    {
        s = s[end + 2..].trim_start();
    }
    s.starts_with("<notification")
}
