//! The daemon's TOML configuration loader on arbitrary text: parsing, the checks that name
//! a bad key by line and column, and the secret-file rules. The loader is the binary's own
//! module, compiled in here as it is. Refusals are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src"]
mod daemon {
    #[allow(dead_code, unused_imports)]
    pub mod config;
}
use daemon::config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cfg) = config::Config::from_toml(text, "fuzz.toml") {
            let _ = cfg.validate();
        }
    }
});
