//! The transport settings both gateways give their sockets: small buffers, so an idle socket costs
//! little, that grow only on a socket whose frames need it.

use axum::extract::ws::WebSocketUpgrade;

/// tungstenite allocates and zero-fills a socket's read buffer when it opens: 128 KiB by default,
/// most of what an idle visitor cost. 4 KiB holds a chat frame; a larger one (a co-browse snapshot)
/// grows that socket's buffer as it arrives.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The upgrade with lean buffers and `max_frame_bytes` as the transport's cap on a frame.
pub fn lean(ws: WebSocketUpgrade, max_frame_bytes: usize) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER_BYTES)
        // The gateways flush every frame they send, so nothing waits in a write buffer: frames go
        // out as they are written instead of being gathered into a 128 KiB one first.
        .write_buffer_size(0)
        .max_message_size(max_frame_bytes)
        .max_frame_size(max_frame_bytes)
}
