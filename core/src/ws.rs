//! WebSocket gateways: the visitor's widget and the agent console (protocol: `core/docs/protocol.md`).

pub mod agent;
pub mod connection;
pub mod open_sockets;
pub mod protocol;
pub mod visitor;
