//! A conversation over one raw connection ([`Conn`]): the kit's own request ids, waiting for
//! the answer to one of them, and the answers the kit gives by itself to what the peer asks
//! meanwhile (as the manager: settings and logs; as a plugin: `Pong`), so that a check can wait
//! for one thing while the peer goes on with its own business.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use logi_plugin_core::proto::plugin::{Pong, Settings};
use logi_plugin_core::{Envelope, Message, ResponseCode, ResponseInfo};

use super::wire::{Conn, Incoming, describe};

/// Which side the kit plays.
#[derive(Debug)]
pub(super) enum Role {
    /// The manager, facing a plugin: it stores the plugin's settings for the run.
    Manager {
        /// The settings stored, by name.
        settings: HashMap<String, Settings>,
    },
    /// A plugin, facing a manager.
    Plugin,
}

/// One connection and what the kit knows of it.
#[derive(Debug)]
pub(super) struct Exchange {
    conn: Conn,
    role: Role,
    next_id: u32,
    /// How long the peer gets to answer.
    pub(super) reply_timeout: Duration,
    /// How the connection ended, once it has.
    pub(super) closed: Option<String>,
    /// Why frames could not be read, in order.
    pub(super) unreadable: Vec<String>,
    /// The peer's requests the kit answered by itself.
    pub(super) answered: u32,
    /// `Ping`s of a manager the kit answered.
    pub(super) pings: u32,
    /// Playing a plugin that has gone silent: a manager's `Ping`s are left unanswered.
    pub(super) silent: bool,
}

impl Exchange {
    /// A conversation over `conn`, the kit playing `role`.
    pub(super) fn new(conn: Conn, role: Role, reply_timeout: Duration) -> Exchange {
        Exchange {
            conn,
            role,
            next_id: 1,
            reply_timeout,
            closed: None,
            unreadable: Vec::new(),
            answered: 0,
            pings: 0,
            silent: false,
        }
    }

    /// A fresh id for a request of the kit's.
    pub(super) fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// When an answer asked for now is due.
    pub(super) fn reply_deadline(&self) -> Instant {
        Instant::now() + self.reply_timeout
    }

    /// The raw connection, for frames no typed envelope can carry.
    pub(super) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Closes the connection, flushing what is queued.
    pub(super) async fn close(self) {
        let deadline = self.reply_deadline();
        self.conn.close(deadline).await;
    }

    /// Sends `envelope`; a connection that cannot be written is closed.
    pub(super) async fn send(&mut self, envelope: &Envelope) -> Result<(), String> {
        let deadline = self.reply_deadline();
        let sent = self.conn.send(envelope, deadline).await;
        self.note_send(sent)
    }

    /// Notes a write's result: a failed write closes the conversation.
    pub(super) fn note_send(&mut self, sent: Result<(), String>) -> Result<(), String> {
        if let Err(error) = &sent {
            self.closed.get_or_insert_with(|| error.clone());
        }
        sent
    }

    /// Sends `message` as a request with a fresh id, returning the id.
    pub(super) async fn request(&mut self, message: impl Into<Message>) -> Result<u32, String> {
        let id = self.id();
        self.send(&Envelope::request(id, message)).await?;
        Ok(id)
    }

    /// Sends `message` as a request and waits for its answer.
    pub(super) async fn call(&mut self, message: impl Into<Message>) -> Result<Envelope, String> {
        let message = message.into();
        let name = message.full_name();
        let id = self.request(message).await?;
        let deadline = self.reply_deadline();
        self.response(id, deadline)
            .await
            .map(|(_, envelope)| envelope)
            .map_err(|seen| format!("expected an answer to {name} request {id}; {seen}"))
    }

    /// Waits for the response to request `id`, answering the peer meanwhile; an error says
    /// what was seen instead.
    pub(super) async fn response(
        &mut self,
        id: u32,
        deadline: Instant,
    ) -> Result<(Instant, Envelope), String> {
        let waited = deadline.saturating_duration_since(Instant::now());
        loop {
            match self.next(deadline).await {
                Some((at, envelope)) if envelope.response.is_some() && envelope.id == id => {
                    return Ok((at, envelope));
                }
                Some(_) => {}
                None => return Err(self.nothing(waited)),
            }
        }
    }

    /// Says why nothing came after waiting `waited`: the connection closed, or time ran out.
    pub(super) fn nothing(&self, waited: Duration) -> String {
        match &self.closed {
            Some(how) => format!("the connection closed instead: {how}"),
            None => format!("got nothing within {waited:?}"),
        }
    }

    /// The next readable envelope from the peer, with when it arrived; `None` once the
    /// connection has closed or at `deadline`. The peer's requests are answered on the way.
    pub(super) async fn next(&mut self, deadline: Instant) -> Option<(Instant, Envelope)> {
        loop {
            if self.closed.is_some() {
                return None;
            }
            match self.conn.next(deadline).await? {
                (_, Incoming::Closed(how)) => self.closed = Some(how),
                (_, Incoming::Unreadable(why)) => self.unreadable.push(why),
                (at, Incoming::Envelope(envelope)) => {
                    self.answer(&envelope).await;
                    return Some((at, *envelope));
                }
            }
        }
    }

    /// Reads for `quiet`, or up to `at_most`, until the peer has sent nothing for `quiet`.
    pub(super) async fn settle(&mut self, quiet: Duration, at_most: Duration) {
        let end = Instant::now() + at_most;
        while self.closed.is_none() {
            let deadline = (Instant::now() + quiet).min(end);
            if self.next(deadline).await.is_none() || Instant::now() >= end {
                return;
            }
        }
    }

    /// Answers a request of the peer's as the side the kit plays would.
    async fn answer(&mut self, envelope: &Envelope) {
        if envelope.id == 0 || envelope.response.is_some() {
            return;
        }
        if self.silent && matches!(envelope.message, Some(Message::Ping(_))) {
            return;
        }
        let (response, message) = match (&mut self.role, &envelope.message) {
            (Role::Plugin, Some(Message::Ping(_))) => {
                self.pings += 1;
                (ResponseInfo::ok(), Some(Pong {}.into()))
            }
            (Role::Manager { settings }, Some(Message::Settings(setting))) => {
                let version = settings
                    .get(&setting.setting_name)
                    .and_then(|s| s.version)
                    .unwrap_or(0)
                    + 1;
                let stored = Settings {
                    version: Some(version),
                    if_version: None,
                    ..setting.clone()
                };
                settings.insert(stored.setting_name.clone(), stored.clone());
                (ResponseInfo::ok(), Some(stored.into()))
            }
            (Role::Manager { settings }, Some(Message::SettingsRequest(request))) => {
                match settings.get(&request.setting_name) {
                    Some(stored) => (ResponseInfo::ok(), Some(stored.clone().into())),
                    None => (
                        ResponseInfo::error(
                            ResponseCode::NotFound,
                            format!("no setting {:?} was stored", request.setting_name),
                        ),
                        None,
                    ),
                }
            }
            (Role::Manager { .. }, Some(Message::LogEvent(_))) => (ResponseInfo::ok(), None),
            _ => (
                ResponseInfo::error(
                    ResponseCode::NotImplemented,
                    format!("the conformance kit does not serve {}", describe(envelope)),
                ),
                None,
            ),
        };
        self.answered += 1;
        let _ = self
            .send(&Envelope::response(envelope.id, response, message))
            .await;
    }
}
