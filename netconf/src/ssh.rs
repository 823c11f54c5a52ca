//! The SSH transport (RFC 6242) with russh: password and public-key
//! authentication against the daemon's users, the `netconf` subsystem (every
//! other subsystem, shell and exec refused), the session limits (in all and
//! per user), and one NETCONF session per subsystem channel under the
//! authenticated user.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use nectar_mgmt::Authenticator;
use nectar_mgmt::nacm::UserCtx;
use russh::server::{Auth, Msg, PublicKeyOffer, Session as SshSession, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};

use crate::server::ServerState;

/// One SSH connection.
pub(crate) struct Conn {
    pub shared: Arc<ServerState>,
    pub auth: Arc<dyn Authenticator>,
    pub peer: Option<SocketAddr>,
    pub user: Option<UserCtx>,
    pub channels: HashMap<ChannelId, Channel<Msg>>,
}

fn reject() -> Auth {
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::Password);
    methods.push(MethodKind::PublicKey);
    Auth::Reject {
        proceed_with_methods: Some(methods),
        partial_success: false,
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let ctx = nectar_mgmt::auth::check_password_bounded(&self.auth, user, password).await;
        match ctx {
            Some(c) => {
                self.user = Some(c);
                Ok(Auth::Accept)
            }
            None => {
                tracing::info!(user, peer = ?self.peer, "NETCONF password authentication failed");
                Ok(reject())
            }
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        let known = offer
            .public_key
            .to_bytes()
            .ok()
            .and_then(|b| self.auth.check_public_key(user, &b))
            .is_some();
        Ok(if known { Auth::Accept } else { reject() })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match key
            .public_key
            .to_bytes()
            .ok()
            .and_then(|b| self.auth.check_public_key(user, &b))
        {
            Some(c) => {
                self.user = Some(c);
                Ok(Auth::Accept)
            }
            None => {
                tracing::info!(user, peer = ?self.peer, "NETCONF public key authentication failed");
                Ok(reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel_id: ChannelId,
        name: &str,
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        let (Some(user), true) = (self.user.clone(), name == "netconf") else {
            tracing::info!(subsystem = name, "SSH subsystem refused");
            session.channel_failure(channel_id)?;
            session.close(channel_id)?;
            return Ok(());
        };
        let Some(channel) = self.channels.remove(&channel_id) else {
            session.channel_failure(channel_id)?;
            return Ok(());
        };
        let shared = Arc::clone(&self.shared);
        let slot = match shared.slots.try_acquire(&user.name) {
            Ok(slot) => slot,
            Err(refused) => {
                // Refused before any hello: the SSH way (RFC 4254 §6.5, a
                // failed subsystem request), with the reason on the
                // channel's stderr for the people reading it (`ssh -s`
                // prints it), then the channel is closed. The user's other
                // sessions, and everyone else's, carry on.
                tracing::warn!(
                    user = %user.name,
                    peer = ?self.peer,
                    reason = %refused,
                    "NETCONF session refused"
                );
                let text = format!("nectar: NETCONF session refused: {refused}\n");
                session.extended_data(channel_id, 1, text.into_bytes())?;
                session.channel_failure(channel_id)?;
                session.eof(channel_id)?;
                session.close(channel_id)?;
                return Ok(());
            }
        };
        session.channel_success(channel_id)?;
        let peer = self.peer;
        let handle = session.handle();
        tokio::spawn(async move {
            crate::session::run(Arc::clone(&shared), channel.into_stream(), user, peer).await;
            drop(slot);
            // The channel is closed (the stream was dropped after its last
            // reply): a client normally disconnects now. One that does not
            // is disconnected after a grace period that lets the last
            // messages reach it.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let _ = handle
                .disconnect(
                    russh::Disconnect::ByApplication,
                    "NETCONF session ended".into(),
                    "en".into(),
                )
                .await;
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        session.close(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        session.close(channel)?;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut SshSession,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }
}
