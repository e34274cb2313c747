//! Logging through the host, and the panic hook that makes a trapped plugin's reason readable.
//!
//! A guest panic becomes an `unreachable` trap and its message is lost; the hook sends it to the server's log
//! first. The export macros install it before the first call of each instance.

use crate::bindings::natter::plugin::host::LogLevel;

/// Writes a line to the server's log at `level`, tagged by the host with the plugin's name.
pub fn write(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::natter::plugin::host::log(level, message);
    // Off wasm32 there is no host: a plugin's unit tests run on the developer's machine and log nowhere.
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

pub fn debug(message: &str) {
    write(LogLevel::Debug, message);
}

pub fn info(message: &str) {
    write(LogLevel::Info, message);
}

pub fn warn(message: &str) {
    write(LogLevel::Warn, message);
}

pub fn error(message: &str) {
    write(LogLevel::Error, message);
}

pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info.payload();
        let reason = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        error(&format!("plugin panicked{location}: {reason}"));
    }));
}
