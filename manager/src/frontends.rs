//! The host's loopback front-ends, opened on top of a running [`Host`]: the admin HTTP port
//! (`manager/src/admin/`, `docs/admin.md`) and the marketplace bridge ([`crate::marketplace`], seed
//! ch. 10-11). They take a `Host` handle and the host never imports them, so an embedder that
//! wants neither compiles them in but never opens a port; `logi-plugin serve` opens what its
//! options ask for.
//!
//! ```no_run
//! # fn main() -> Result<(), logi_plugin_manager::HostError> {
//! use logi_plugin_manager::{FrontEndConfig, FrontEnds, Host, HostConfig};
//!
//! let host = Host::start(HostConfig::new("/tmp/logi-data"))?;
//! let mut front = FrontEndConfig::default();
//! front.admin = Some("127.0.0.1:0".parse().unwrap());
//! let front_ends = FrontEnds::open(&host, front)?;
//! println!("console on {}", front_ends.console_url().unwrap());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;

use futures_lite::future;
use logi_plugin_transports::ws::WsOptions;

use crate::credential::Credential;
use crate::host::{Host, HostError, bind_ws};

/// Which front-ends to open, and who may reach them.
#[derive(Clone, Debug, Default)]
pub struct FrontEndConfig {
    /// A loopback address for the admin HTTP port: provd's plugin-manager API and the developer
    /// console page (`docs/admin.md`); port 0 picks a free port ([`FrontEnds::admin_addr`]).
    pub admin: Option<SocketAddr>,
    /// Browser origins allowed to call the admin port besides its own pages' (which are also
    /// let into the marketplace WebSocket). Programs that send no `Origin` are let in.
    pub admin_origins: Vec<String>,
    /// A loopback address for the marketplace web view's text protocol (seed ch. 10-11); port 0
    /// picks a free port ([`FrontEnds::marketplace_addr`]).
    pub marketplace: Option<SocketAddr>,
    /// Which browser origins may open the marketplace WebSocket (the marketplace page's own),
    /// and its message size limit. Programs that send no `Origin` are let in.
    pub marketplace_options: WsOptions,
}

/// The front-ends open on a host: they serve until dropped, or until the host shuts down.
pub struct FrontEnds {
    admin: Option<SocketAddr>,
    marketplace: Option<SocketAddr>,
    credential: Option<Credential>,
    /// Dropping a task cancels it, closing its listener.
    _serving: Vec<smol::Task<()>>,
}

impl FrontEnds {
    /// Opens the front-ends `config` asks for on `host`. Both admit their owner by the
    /// credential kept in the host's data directory (`admin.token`), made on first use.
    pub fn open(host: &Host, config: FrontEndConfig) -> Result<FrontEnds, HostError> {
        let credential = (config.admin.is_some() || config.marketplace.is_some())
            .then(|| Credential::load_or_create(host.data_dir()))
            .transpose()?;
        let mut front_ends = FrontEnds {
            admin: None,
            marketplace: None,
            credential: credential.clone(),
            _serving: Vec::new(),
        };
        let Some(credential) = credential else {
            return Ok(front_ends);
        };
        let admin = config.admin.map(crate::admin::bind).transpose()?;
        if let Some(addr) = config.marketplace {
            // The console page on the admin port opens the marketplace bridge.
            let mut options = config.marketplace_options;
            if let Some((_, port)) = &admin {
                options
                    .allowed_origins
                    .extend(crate::admin::own_origins(*port));
            }
            options.admit = Some(crate::marketplace::admission(credential.clone()));
            let (listener, bound) = bind_ws(addr, &options, "marketplace")?;
            front_ends.marketplace = Some(bound);
            front_ends.serve(host, crate::marketplace::accept(host.clone(), listener));
        }
        if let (Some((listener, port)), Some(addr)) = (admin, config.admin) {
            front_ends.admin = Some(SocketAddr::new(addr.ip(), port));
            let accept = crate::admin::accept(
                host.clone(),
                credential,
                listener,
                port,
                config.admin_origins,
                front_ends.marketplace,
            );
            front_ends.serve(host, accept);
        }
        Ok(front_ends)
    }

    /// Runs `accept` until this is dropped or the host shuts down.
    fn serve(&mut self, host: &Host, accept: impl Future<Output = ()> + Send + 'static) {
        let host = host.clone();
        self._serving
            .push(smol::spawn(future::or(accept, async move {
                host.closed().await;
            })));
    }

    /// Where the admin HTTP port is, when [`FrontEndConfig::admin`] asked for one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// Where the marketplace listener is, when [`FrontEndConfig::marketplace`] asked for one.
    pub fn marketplace_addr(&self) -> Option<SocketAddr> {
        self.marketplace
    }

    /// The owner's secret that the admin port and the marketplace bridge ask for (kept in the
    /// data directory's `admin.token`), when either is open: send it as
    /// `Authorization: Bearer <secret>`, or open the console at
    /// [`console_url`](Self::console_url).
    pub fn admin_token(&self) -> Option<&str> {
        self.credential.as_ref().map(Credential::secret)
    }

    /// The developer console's address with the owner's secret, which the port exchanges for a
    /// cookie: what `logi-plugin serve` prints for its user to open.
    pub fn console_url(&self) -> Option<String> {
        let addr = self.admin_addr()?;
        Some(format!("http://{addr}/?token={}", self.admin_token()?))
    }
}
