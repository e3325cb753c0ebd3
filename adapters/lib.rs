//! Pure provider code for callgate: the kit (common call model, adapter contract,
//! verification toolbox) and one folder per provider.
//!
//! Adding a provider: see `adapters/README.md`. The registry below is the only line outside
//! the provider's own folder that changes.

pub mod kit;

/// Declares the provider modules and the registry in one list.
macro_rules! providers {
    ($($module:ident :: $adapter:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every registered adapter, in registry order.
        pub static ADAPTERS: &[&dyn kit::Adapter] = &[$(&$module::$adapter),*];
    };
}

// One line per provider, alphabetical.
providers! {
    amazon_connect::AmazonConnect,
    bandwidth::Bandwidth,
    dialpad::Dialpad,
    plivo::Plivo,
    signalwire::SignalWire,
    standard::Standard,
    telnyx::Telnyx,
    twilio::Twilio,
    vonage::Vonage,
}

/// The scaffold's template (`adapters/_template/`, not registered): compiled and tested here,
/// so that what `callgate adapter new` writes builds.
#[cfg(test)]
#[path = "_template/mod.rs"]
mod scaffold_template;

/// The adapter registered under `id`.
pub fn by_id(id: &str) -> Option<&'static dyn kit::Adapter> {
    ADAPTERS.iter().copied().find(|a| a.info().id == id)
}
