//! The open-file limit: tens of thousands of sockets need more descriptors than a shell's default.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors a process needs besides its sockets: the server's database files, listener, epoll
/// and runtime; the tool's own.
pub const SPARE_FILES: u64 = 256;

/// Raises the open-file limit for `sockets` in this process and in the server it starts (see
/// [`raise_open_files`]); `others` of them are not idle visitors (talkers, agents, warm-up).
pub fn files_for(sockets: u64, others: u64) -> anyhow::Result<u64> {
    let wanted = sockets + SPARE_FILES;
    let limit = raise_open_files(wanted);
    if limit >= wanted {
        return Ok(limit);
    }
    let fits = limit.saturating_sub(SPARE_FILES);
    anyhow::bail!(
        "this run holds {sockets} sockets, and the tool and the server each need a descriptor per \
         socket plus {SPARE_FILES}, but the open-file limit is {limit} and its hard limit could not \
         be raised (that takes root with CAP_SYS_RESOURCE): run at most {fits} sockets \
         (`--visitors {}` with these --talkers and --agents), or raise the hard limit first \
         (`ulimit -n {wanted}` as root)",
        fits.saturating_sub(others)
    )
}

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
