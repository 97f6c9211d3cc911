//! A real headless Chromium for tests, driven through the DevTools protocol, with no
//! network beyond loopback.
//!
//! - [`chromium_binary`] / [`chromium_or_skip`]: Debian's `chromium` (a loud skip without
//!   it, a failure when `CI` is set); [`HEADLESS_FLAGS`]: the flags every test starts it with.
//! - [`Launch`] → [`HeadlessChromium`]: the browser on a fresh profile with the DevTools
//!   protocol on a free port, killed when dropped (or by a watchdog if the test process dies).
//! - [`DevTools`]: the protocol connection (commands and events); [`Page`]: one tab on it
//!   (navigate, evaluate, wait for a DOM condition, click, press keys ([`Chord`]), enter
//!   text, screenshot).
//! - No network: [`ProxyTrap`] is the browser's only proxy, so any non-loopback connection the
//!   browser attempts (page or background) arrives there and goes no further;
//!   [`LoopbackOnly`] intercepts every request of a page, lets loopback through and fails the
//!   rest, and lists them all.
//!
//! ```no_run
//! # async fn example() -> Result<(), test_support::ChromiumError> {
//! use test_support::{DevTools, Launch, LoopbackOnly, Page, ProxyTrap};
//! let Some(binary) = test_support::chromium_or_skip("my_test") else { return Ok(()) };
//! let trap = ProxyTrap::start().await?;
//! let chromium = Launch::new(binary).proxy(trap.addr()).start().await?;
//! let devtools = DevTools::connect(chromium.devtools_url()).await?;
//! let page = Page::open(&devtools).await?;
//! let network = LoopbackOnly::install(&page).await?;
//! page.navigate("http://127.0.0.1:8000/graphql").await?;
//! assert!(network.blocked().is_empty() && trap.attempts().is_empty());
//! # Ok(()) }
//! ```

mod binary;
mod devtools;
mod error;
mod keys;
mod loopback;
mod page;
mod process;
mod trap;

pub use binary::{HEADLESS_FLAGS, chromium_binary, chromium_or_skip};
pub use devtools::{DevTools, Event};
pub use error::ChromiumError;
pub use keys::Chord;
pub use loopback::{LoopbackOnly, SeenRequest, is_loopback};
pub use page::Page;
pub use process::{HeadlessChromium, Launch};
pub use trap::ProxyTrap;
