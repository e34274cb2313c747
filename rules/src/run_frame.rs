//! Facts about the rule evaluation running on this thread: its deadline and the local time.
//!
//! Rhai's progress callback and native functions receive no per-run data, and the engine is
//! shared by every request, so what a single run needs is kept in a thread-local for the duration
//! of that run. A run never yields the thread, so the value cannot leak into another run.

use std::cell::Cell;
use std::time::Instant;

use chrono::DateTime;
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub deadline: Instant,
    pub now: DateTime<Tz>,
}

thread_local! {
    static CURRENT: Cell<Option<Frame>> = const { Cell::new(None) };
}

/// Restores the previous frame when dropped, so an early return or a panic cannot leave a stale one.
pub(crate) struct FrameGuard {
    previous: Option<Frame>,
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

pub(crate) fn enter(frame: Frame) -> FrameGuard {
    FrameGuard {
        previous: CURRENT.with(|c| c.replace(Some(frame))),
    }
}

pub(crate) fn current() -> Option<Frame> {
    CURRENT.with(Cell::get)
}
