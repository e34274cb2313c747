//! The open-file limit: tens of thousands of sockets need more descriptors than a shell's default.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Raises this process's open-file limit to `wanted` (the hard limit too, which root may do), or as
/// far as the hard limit allows; returns the limit now in force. Child processes inherit it.
pub fn raise_open_files(wanted: u64) -> u64 {
    let now = getrlimit(Resource::Nofile);
    if now.current.is_none_or(|current| current >= wanted) {
        return now.current.unwrap_or(u64::MAX);
    }
    let raised = Rlimit {
        current: Some(wanted),
        maximum: Some(now.maximum.map_or(wanted, |hard| hard.max(wanted))),
    };
    if setrlimit(Resource::Nofile, raised).is_ok() {
        return wanted;
    }
    let hard = now.maximum.unwrap_or(wanted);
    let capped = Rlimit {
        current: Some(hard),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, capped) {
        Ok(()) => hard,
        Err(_) => now.current.unwrap_or(0),
    }
}
