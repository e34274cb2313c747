//! How many gateway sockets this node has open (`GET /api/v1/stats`): one guard per socket, counted
//! down when the socket's task ends, however it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
pub struct OpenSockets {
    visitors: AtomicUsize,
    agents: AtomicUsize,
}

/// Held by a socket's task while it runs.
pub struct OpenSocket {
    sockets: Arc<OpenSockets>,
    agent: bool,
}

impl OpenSockets {
    pub fn visitor(self: &Arc<Self>) -> OpenSocket {
        self.visitors.fetch_add(1, Ordering::Relaxed);
        OpenSocket {
            sockets: self.clone(),
            agent: false,
        }
    }

    pub fn agent(self: &Arc<Self>) -> OpenSocket {
        self.agents.fetch_add(1, Ordering::Relaxed);
        OpenSocket {
            sockets: self.clone(),
            agent: true,
        }
    }

    pub fn visitors(&self) -> usize {
        self.visitors.load(Ordering::Relaxed)
    }

    pub fn agents(&self) -> usize {
        self.agents.load(Ordering::Relaxed)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        let counter = if self.agent {
            &self.sockets.agents
        } else {
            &self.sockets.visitors
        };
        counter.fetch_sub(1, Ordering::Relaxed);
    }
}
