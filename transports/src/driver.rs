//! The driver: one loop, for either session over any transport, on any runtime.
//!
//! It reads what the transport has into the session, runs the owner's commands, writes what the
//! session polls, sleeps until the session's next deadline (on its [`Clock`]: the machine's, with
//! an `async-io` timer, unless [`Driver::with_clock`] gives another), and ends with the session's
//! close reason. Every decision about the protocol is the session's: the driver only moves
//! bytes, time and commands.
//!
//! [`connect`] gives a [`Connection`] handle and the [`Driver`] future; spawn the driver on any
//! executor (`smol::spawn`, `tokio::spawn`), or run it beside the code that uses it on one
//! thread with [`block_on`](crate::block_on), and talk through the handle.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures_channel::{mpsc, oneshot};
use futures_lite::Stream;
use futures_util::task::AtomicWaker;
use logi_plugin_core::session::record::{Recordable, Recorded};
use logi_plugin_core::session::{
    CloseReason, Event, Input, Lane, Output, Refused, SendError, Session, Verdict,
};
use logi_plugin_core::{Message, ResponseInfo};

use crate::clock::{Clock, Timer};
use crate::events::{Events, Outbox, outbox};
use crate::lock::lock;
use crate::transport::{Received, Transport};

/// Past this many bytes waiting to be written, the driver stops reading until they drain: a
/// peer that does not read cannot make us buffer without bound.
pub const MAX_QUEUED_BYTES: usize = 1024 * 1024;

/// How long a closed session's last frames may take to leave before the transport is dropped.
pub const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How many rounds of work one poll does before yielding to other tasks.
const BUDGET: usize = 64;

/// Whether a source has woken its waker since it last said "not yet"; the driver's own waker
/// is woken with it.
struct Readiness {
    ready: AtomicBool,
    waker: AtomicWaker,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness {
            ready: AtomicBool::new(true),
            waker: AtomicWaker::new(),
        }
    }
}

impl Wake for Readiness {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// What one look at a source of work found.
enum Step {
    /// It had work, now done.
    Progressed,
    /// It had none, and will wake the driver when it has.
    Waiting,
    /// It was not asked (closed, or held back).
    Skipped,
}

/// The answer to a request made through a [`Connection`].
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The outcome the peer reported.
    pub response: ResponseInfo,
    /// The message it answered with, if any.
    pub message: Option<Message>,
}

/// Why a request made through a [`Connection`] has no answer.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The session refused to send it: the message is handed back, with why.
    #[error("not sent: {0}")]
    Refused(#[from] Refused),
    /// No answer came within the timeout.
    #[error("no answer within the timeout")]
    TimedOut,
    /// The session closed before the answer came.
    #[error("the session closed before the answer: {0}")]
    Closed(CloseReason),
    /// The driver is no longer running.
    #[error("the connection's driver has stopped")]
    Gone,
}

/// Why a command sent through a [`Connection`] did not take effect.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The session refused it.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The session refused to send a message: it is handed back, with why.
    #[error("not sent: {0}")]
    Refused(#[from] Refused),
    /// The driver is no longer running.
    #[error("the connection's driver has stopped")]
    Gone,
}

/// Where an answer goes.
enum Waiter {
    Channel(oneshot::Sender<Result<Answer, RequestError>>),
    Callback(Box<dyn FnOnce(Result<Answer, RequestError>) + Send>),
}

impl Waiter {
    fn finish(self, outcome: Result<Answer, RequestError>) {
        match self {
            Waiter::Channel(sender) => {
                let _ = sender.send(outcome);
            }
            Waiter::Callback(callback) => callback(outcome),
        }
    }
}

/// What a command can reach inside the driver.
pub(crate) struct Control<'a, S> {
    /// Calls on it are recorded when the driver records.
    pub(crate) session: &'a mut Recorded<S>,
    pub(crate) now: Instant,
    waiters: &'a mut HashMap<u32, Waiter>,
}

impl<S: Session> Control<'_, S> {
    /// Sends a request whose outcome goes to `waiter`; a refused one hands the waiter back.
    fn submit(
        &mut self,
        message: Message,
        timeout: Duration,
        waiter: Waiter,
    ) -> Result<u32, (Refused, Waiter)> {
        match self.session.send_request(self.now, message, timeout) {
            Ok(id) => {
                self.waiters.insert(id, waiter);
                Ok(id)
            }
            Err(refused) => Err((refused, waiter)),
        }
    }
}

type Command<S> = Box<dyn FnOnce(&mut Control<'_, S>) + Send>;

/// What answers a session's hello inside its driver, the moment the session hands it out
/// ([`Event::Hello`]), as the listener's admission does: the owner's events never see it, and
/// the peer waits for no round trip through them. Dropped as soon as the session has closed,
/// before the transport is let go, and with it what it holds (a plugin id's claim).
pub trait Judge<S: Session>: Send {
    /// Answers `hello` with [`Session::admit`] on `session` (recorded when the driver records).
    fn judge(&mut self, session: &mut Recorded<S>, now: Instant, hello: S::PeerHello);
}

/// State shared by a connection's handles and its driver.
#[derive(Debug, Default)]
struct Shared {
    connected: AtomicBool,
    close_reason: Mutex<Option<CloseReason>>,
}

/// A running session: send it commands, take its events.
///
/// Cloning gives another handle to the same session. When every handle is dropped the session
/// closes and the driver ends.
pub struct Connection<S: Session> {
    commands: mpsc::UnboundedSender<Command<S>>,
    events: Events<Event<S::PeerHello>>,
    shared: Arc<Shared>,
    /// Closed by the driver when it ends.
    done: Receiver<()>,
}

impl<S: Session> Clone for Connection<S> {
    fn clone(&self) -> Self {
        Connection {
            commands: self.commands.clone(),
            events: self.events.clone(),
            shared: self.shared.clone(),
            done: self.done.clone(),
        }
    }
}

impl<S: Session> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("connected", &self.is_connected())
            .field("close_reason", &self.close_reason())
            .finish_non_exhaustive()
    }
}

/// Binds `session` to `transport`: the handle, and the driver future to spawn.
pub fn connect<S, T>(session: S, transport: T) -> (Connection<S>, Driver<S, T>)
where
    S: Session + Send + 'static,
    S::PeerHello: Send + 'static,
    T: Transport,
{
    let (commands, command_rx) = mpsc::unbounded();
    let (outbox, events) = outbox();
    let (done_tx, done) = async_channel::bounded(1);
    let shared = Arc::new(Shared::default());
    let connection = Connection {
        commands,
        events,
        shared: shared.clone(),
        done,
    };
    let driver = Driver {
        session: Recorded::new(session),
        transport,
        commands: command_rx,
        events: outbox,
        waiters: HashMap::new(),
        shared,
        clock: Clock::System,
        timer: Clock::System.timer(),
        armed_at: None,
        timer_waker: None,
        input_ended: false,
        input: Arc::new(Readiness::default()),
        handles_gone: false,
        closing_since: None,
        finished: None,
        delivered: false,
        wake: None,
        recording: None,
        judge: None,
        _done: done_tx,
    };
    (connection, driver)
}

impl<S: Session> Connection<S> {
    /// Whether the handshake is done and the session open.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Why the session closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        lock(&self.shared.close_reason).clone()
    }
}

impl<S: Session + Send + 'static> Connection<S>
where
    S::PeerHello: Send + 'static,
{
    /// Runs `f` on the session inside the driver, and gives back what it returns. Its calls
    /// reach the session itself: a recording ([`Driver::record`]) does not note them.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S, Instant) -> R + Send + 'static,
    ) -> Result<R, CommandError> {
        self.with_recorded(move |session, now| f(session.session_mut(), now))
            .await
    }

    /// Runs `f` on the session as the driver holds it, recorded when it records.
    async fn with_recorded<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Recorded<S>, Instant) -> R + Send + 'static,
    ) -> Result<R, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.command(move |control| {
            let _ = reply.send(f(control.session, control.now));
        })?;
        answer.await.map_err(|_| CommandError::Gone)
    }

    /// Sends a request and waits for its answer (or its timeout, or the session's end).
    pub async fn request(
        &self,
        message: impl Into<Message>,
        timeout: Duration,
    ) -> Result<Answer, RequestError> {
        let message = message.into();
        let (sender, outcome) = oneshot::channel();
        // One command and one wait: a refusal comes back through the same channel as the answer.
        self.command(move |control| {
            if let Err((refused, waiter)) =
                control.submit(message, timeout, Waiter::Channel(sender))
            {
                waiter.finish(Err(refused.into()));
            }
        })
        .map_err(|_| RequestError::Gone)?;
        outcome.await.unwrap_or(Err(RequestError::Gone))
    }

    /// Sends a request; `on_answer` runs inside the driver when it ends (answered, timed out, or
    /// the session closed). The request's id.
    pub async fn request_with_callback(
        &self,
        message: impl Into<Message>,
        timeout: Duration,
        on_answer: impl FnOnce(Result<Answer, RequestError>) + Send + 'static,
    ) -> Result<u32, RequestError> {
        let message = message.into();
        let waiter = Waiter::Callback(Box::new(on_answer));
        let (reply, id) = oneshot::channel();
        self.command(move |control| {
            let sent = control.submit(message, timeout, waiter);
            // A refused request's callback is dropped unrun: the refusal is returned instead.
            let _ = reply.send(sent.map_err(|(refused, _)| refused));
        })
        .map_err(|_| RequestError::Gone)?;
        Ok(id.await.map_err(|_| RequestError::Gone)??)
    }

    /// Sends a message that gets no answer.
    pub async fn notify(&self, message: impl Into<Message>) -> Result<(), CommandError> {
        let message = message.into();
        self.with_recorded(move |session, now| session.send_notification(now, message))
            .await??;
        Ok(())
    }

    /// Answers the peer's request `id`.
    pub async fn respond(
        &self,
        id: u32,
        reply: logi_plugin_core::session::Reply,
    ) -> Result<(), CommandError> {
        self.with_recorded(move |session, now| session.respond(now, id, reply))
            .await??;
        Ok(())
    }

    /// The verdict on the peer's hello, handed out as [`Event::Hello`] where the driver has no
    /// [`Judge`] (a manager session's only).
    pub async fn admit(&self, verdict: Verdict) -> Result<(), CommandError> {
        self.with_recorded(move |session, now| session.admit(now, verdict))
            .await??;
        Ok(())
    }

    /// Closes the session; its last frames still leave.
    pub fn close(&self) {
        let _ = self.command(|control| control.session.close(control.now));
    }

    /// The next event; `None` once the session has closed and every event was taken.
    pub async fn next_event(&self) -> Option<Event<S::PeerHello>> {
        self.events.recv().await
    }

    /// The events, also as a stream (shared by every clone of this handle).
    pub fn events(&self) -> Events<Event<S::PeerHello>> {
        self.events.clone()
    }

    /// Waits until the driver has ended; why the session closed.
    pub async fn closed(&self) -> CloseReason {
        let _ = self.done.recv().await;
        self.close_reason()
            .unwrap_or(CloseReason::TransportFailed("the driver stopped".into()))
    }

    fn command(
        &self,
        command: impl FnOnce(&mut Control<'_, S>) + Send + 'static,
    ) -> Result<(), CommandError> {
        self.commands
            .unbounded_send(Box::new(command))
            .map_err(|_| CommandError::Gone)
    }
}

/// The future that runs a session over a transport; it ends with the session's close reason.
#[must_use = "a driver does nothing unless spawned or awaited"]
pub struct Driver<S: Session, T> {
    session: Recorded<S>,
    transport: T,
    commands: mpsc::UnboundedReceiver<Command<S>>,
    events: Outbox<Event<S::PeerHello>>,
    waiters: HashMap<u32, Waiter>,
    shared: Arc<Shared>,
    /// Where `now` is read and `timer` runs.
    clock: Clock,
    timer: Timer,
    /// When `timer` fires: never later than the session's next deadline, possibly earlier.
    armed_at: Option<Instant>,
    /// The waker `timer` last took: it is polled again only for another one, or once armed
    /// anew. Polling a timer reads the clock, and the driver knows the time already.
    timer_waker: Option<Waker>,
    input_ended: bool,
    /// Whether the transport may have input: it is asked again only once it has woken us.
    input: Arc<Readiness>,
    handles_gone: bool,
    /// When the session closed: its last frames have until `CLOSE_LINGER` after to leave.
    closing_since: Option<Instant>,
    finished: Option<CloseReason>,
    /// Whether this round handed the owner an event or an answer.
    delivered: bool,
    /// When the session last asked to be woken.
    wake: Option<Instant>,
    /// Where the session's recording goes, when [`Driver::record`] asked for one.
    recording: Option<Box<dyn std::io::Write + Send>>,
    /// Answers the hello, until the session closes.
    judge: Option<Box<dyn Judge<S>>>,
    /// Dropped with the driver, which tells `Connection::closed` it has ended.
    _done: Sender<()>,
}

impl<S: Session, T> std::fmt::Debug for Driver<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("connected", &self.session.is_connected())
            .field("close_reason", &self.session.close_reason())
            .finish_non_exhaustive()
    }
}

impl<S, T> Future for Driver<S, T>
where
    S: Session + Unpin,
    T: Transport,
{
    type Output = CloseReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let this = self.get_mut();
        if let Some(reason) = &this.finished {
            return Poll::Ready(reason.clone());
        }
        // A source that said "not yet" in this poll has our waker: asking again before it
        // wakes us would only cost a system call.
        let mut input_waiting = false;
        let mut commands_waiting = false;
        for _ in 0..BUDGET {
            let now = this.clock.now();
            let mut progressed = false;
            if !commands_waiting {
                progressed |= this.take_commands(cx, now);
                // It takes commands until there are none: then the channel has our waker.
                commands_waiting = !this.handles_gone;
            }
            if !input_waiting {
                match this.take_input(cx, now) {
                    Step::Progressed => progressed = true,
                    Step::Waiting => input_waiting = true,
                    Step::Skipped => {}
                }
            }
            if this.wake.is_some_and(|at| at <= now) {
                // The input cannot fail; the next round of output says when to wake again.
                let _ = this.session.handle_input(now, Input::Timeout);
                this.wake = None;
                progressed = true;
            }
            // Frames taken now are written just below; a bulk frame taken may leave room for more.
            if this.take_output(now) {
                progressed = true;
                // Writing a bulk frame takes long enough for input to arrive (a press behind a
                // flood of images): look again before the next, rather than at the next poll.
                input_waiting = false;
            }
            let unwritten = this.transport.queued_bytes();
            match this.transport.poll_flush(cx) {
                Poll::Ready(Err(error)) => {
                    let what = format!("write failed: {error}");
                    let _ = this.session.handle_input(now, Input::Failed(what));
                    this.take_output(now);
                    progressed = true;
                }
                // Bulk frames are taken only from an empty transport: one just emptied is a
                // round's work, or they would wait for the next input, which may be a heartbeat
                // away.
                Poll::Ready(Ok(())) if unwritten > 0 => progressed = true,
                _ => {}
            }
            this.save_recording();
            if let Some(reason) = this.session.close_reason().cloned()
                && this.finish_closing(cx, now)
            {
                this.save_recording();
                if let Some(sink) = &mut this.recording {
                    let _ = sink.flush();
                }
                this.finished = Some(reason.clone());
                return Poll::Ready(reason);
            }
            if this.arm_timer(cx, now) {
                progressed = true;
            }
            if !progressed {
                return Poll::Pending;
            }
            if std::mem::take(&mut this.delivered) {
                // The owner has something to react to (an answer, a press) and may share this
                // thread: it gets its turn before more input is read, or a flood in the input
                // would hold a press's answer back for a whole budget of reads.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        // Out of budget with work left: let other tasks run, then come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<S, T> Driver<S, T>
where
    S: Session + Unpin,
    T: Transport,
{
    /// Runs the session on `clock` instead of the machine's: `now` is read from it and the
    /// session's deadlines wait on its timers. Create the session at `clock.now()`, and set the
    /// clock before [`record`](Self::record)ing.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.timer = clock.timer();
        self.clock = clock;
        self.armed_at = None;
        self.timer_waker = None;
        self
    }

    /// Answers the session's hello with `judge`, inside the driver.
    pub fn with_judge(mut self, judge: impl Judge<S> + 'static) -> Self {
        self.judge = Some(Box::new(judge));
        self
    }

    /// Records the session into `sink` from now on: every call it gets and every frame it writes
    /// (`logi_plugin_core::session::record`), for `logi-plugin replay`. The sink is written as
    /// the driver runs, so make it buffered (a `BufWriter` around a file): a recording is a
    /// debugging aid, not worth a thread of its own.
    pub fn record(mut self, sink: impl std::io::Write + Send + 'static) -> Self
    where
        S: Recordable,
    {
        self.session.start_recording(self.clock.now());
        self.recording = Some(Box::new(sink));
        self
    }

    /// Hands what the session recorded to the sink; a sink that fails is dropped, not retried.
    fn save_recording(&mut self) {
        let Some(sink) = &mut self.recording else {
            return;
        };
        let bytes = self.session.take_recording();
        if !bytes.is_empty() && sink.write_all(&bytes).is_err() {
            self.recording = None;
        }
    }

    /// Runs the owner's commands that are waiting; when every handle is gone, closes.
    fn take_commands(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let mut progressed = false;
        while !self.handles_gone {
            match Pin::new(&mut self.commands).poll_next(cx) {
                Poll::Ready(Some(command)) => {
                    command(&mut Control {
                        session: &mut self.session,
                        now,
                        waiters: &mut self.waiters,
                    });
                    progressed = true;
                }
                Poll::Ready(None) => {
                    self.handles_gone = true;
                    self.session.close(now);
                    progressed = true;
                }
                Poll::Pending => break,
            }
        }
        progressed
    }

    /// Hands the session what the transport has, unless too much waits to be written.
    fn take_input(&mut self, cx: &mut Context<'_>, now: Instant) -> Step {
        if self.input_ended
            || self.session.close_reason().is_some()
            || self.transport.queued_bytes() > MAX_QUEUED_BYTES
        {
            return Step::Skipped;
        }
        self.input.waker.register(cx.waker());
        if !self.input.ready.swap(false, Ordering::AcqRel) && !crate::run::spinning() {
            return Step::Waiting;
        }
        let waker = Waker::from(self.input.clone());
        match self
            .transport
            .poll_receive(&mut Context::from_waker(&waker))
        {
            Poll::Pending => Step::Waiting,
            Poll::Ready(received) => {
                let input = match received {
                    Ok(Received::Bytes(bytes)) => Input::Bytes(bytes),
                    Ok(Received::Frame(frame)) => Input::Frame(frame),
                    Ok(Received::End) => Input::End,
                    Err(error) => Input::Failed(format!("read failed: {error}")),
                };
                self.input_ended = matches!(input, Input::End | Input::Failed(_));
                if let Err(error) = self.session.handle_input(now, input) {
                    // The transport and the session disagree on the wire: a driver bug, not the
                    // peer's doing. Close rather than guess.
                    let what = format!("input refused: {error}");
                    let _ = self.session.handle_input(now, Input::Failed(what));
                }
                self.input.ready.store(true, Ordering::Release);
                Step::Progressed
            }
        }
    }

    /// Takes a round of the session's output: delivers its events, queues its frames (the
    /// session decides whether bulk ones go, from what the transport has yet to write) and notes
    /// when to wake it; `true` if a bulk frame was queued.
    fn take_output(&mut self, now: Instant) -> bool {
        let mut took_bulk = false;
        loop {
            match self.session.poll_output(self.transport.queued_bytes()) {
                Output::Event(event) => match (event, &mut self.judge) {
                    (Event::Hello(hello), Some(judge)) => {
                        judge.judge(&mut self.session, now, hello);
                    }
                    (event, _) => self.dispatch(event),
                },
                Output::Transmit(transmit) => {
                    took_bulk |= transmit.lane == Lane::Bulk;
                    self.transport.queue(transmit.frame);
                }
                Output::Timeout(wake) => {
                    self.wake = Some(wake.at);
                    break;
                }
                Output::Idle => {
                    self.wake = None;
                    break;
                }
            }
        }
        self.events.flush();
        self.shared
            .connected
            .store(self.session.is_connected(), Ordering::Release);
        if self.session.close_reason().is_some() {
            self.judge = None;
        }
        took_bulk
    }

    /// Sends an event to the request waiting for it, or else to the events. The events gathered
    /// before an answer are handed over before it, so whoever the answer wakes finds them.
    fn dispatch(&mut self, event: Event<S::PeerHello>) {
        self.delivered = true;
        let outcome = match event {
            Event::Response {
                id,
                response,
                message,
            } => match self.waiters.remove(&id) {
                Some(waiter) => Some((waiter, Ok(Answer { response, message }))),
                None => {
                    self.events.push(Event::Response {
                        id,
                        response,
                        message,
                    });
                    None
                }
            },
            Event::Timeout { id, message_type } => match self.waiters.remove(&id) {
                Some(waiter) => Some((waiter, Err(RequestError::TimedOut))),
                None => {
                    self.events.push(Event::Timeout { id, message_type });
                    None
                }
            },
            Event::Closed(reason) => {
                *lock(&self.shared.close_reason) = Some(reason.clone());
                self.events.flush();
                for (_, waiter) in self.waiters.drain() {
                    waiter.finish(Err(RequestError::Closed(reason.clone())));
                }
                self.events.push(Event::Closed(reason));
                None
            }
            other => {
                self.events.push(other);
                None
            }
        };
        if let Some((waiter, outcome)) = outcome {
            self.events.flush();
            waiter.finish(outcome);
        }
    }

    /// Once closed: lets the last frames leave (for at most `CLOSE_LINGER`), then shuts the
    /// transport. `true` when done.
    fn finish_closing(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let since = *self.closing_since.get_or_insert(now);
        if now.duration_since(since) >= CLOSE_LINGER {
            return true;
        }
        self.transport.poll_close(cx).is_ready()
    }

    /// Makes sure the timer wakes the driver by the session's next deadline (or the end of the
    /// linger); `true` if that moment has already come or the timer has fired.
    ///
    /// A deadline later than the armed one leaves the timer alone: it wakes the driver early
    /// once, and is armed again then. Moving an `async-io` timer wakes the reactor, and a session
    /// moves its deadline with every request sent and answered.
    fn arm_timer(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        let at = match self.closing_since {
            Some(since) => Some(since + CLOSE_LINGER),
            None => self.wake,
        };
        let Some(at) = at else {
            return false;
        };
        if at <= now {
            return true;
        }
        // A timer that went off early (the deadline moved later) is armed again.
        if self.armed_at.is_none_or(|armed| at < armed || armed <= now) {
            self.timer.set_at(at);
            self.armed_at = Some(at);
            self.timer_waker = None;
        }
        if self
            .timer_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return false;
        }
        if Pin::new(&mut self.timer).poll(cx).is_ready() {
            self.armed_at = None;
            return true;
        }
        self.timer_waker = Some(cx.waker().clone());
        false
    }
}
