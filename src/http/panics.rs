//! What happens when the code panics.
//!
//! The Worker is built with `panic = "abort"`: a panic cannot be caught in Rust. The hook
//! installed here writes the panic as one structured log line (message and location, for the
//! operator); the JavaScript entry (`src/entry.mjs`) then answers the request with a generic
//! problem+json 500, and the runtime shim re-creates the Wasm instance for the next request.

use std::sync::Once;

use worker::console_error;

/// Installs the hook once per Wasm instance, in front of the one `worker` installs at start-up
/// (which flags the instance for re-creation): ours runs first, then theirs.
pub fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            log_panic(info);
            previous(info);
        }));
    });
}

fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = crate::json!({
            "level": "error",
            "msg": "panic",
            "panic": message,
            "location": location,
        });
        console_error!("{line}");
    }
}
