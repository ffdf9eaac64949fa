//! systemd's readiness protocol (`Type=notify`): a datagram to the socket
//! named by `$NOTIFY_SOCKET`. Without the variable (not under systemd) it
//! does nothing.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `READY=1`, `STOPPING=1`) to systemd, if it listens.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = (|| -> std::io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            // An abstract socket (Linux).
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            sock.send_to(state.as_bytes(), &path)?;
        }
        Ok(())
    })();
    if let Err(e) = sent {
        tracing::warn!(error = %e, state, "could not notify systemd");
    }
}
