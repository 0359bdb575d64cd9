//! Serving the API on a listener until a shutdown future resolves, then finishing in-flight
//! requests and closing WebSocket sessions (close 1012: reconnect) before returning. Tests
//! bind port 0 and own the shutdown future.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::{AppState, app};

/// Serves until `shutdown` resolves; returns when in-flight requests have finished and
/// WebSocket sessions have closed (or the grace period ran out).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let metrics = match state.config().metrics_addr {
        Some(metrics_addr) => Some(serve_metrics(metrics_addr, state.clone()).await?),
        None => None,
    };
    let router = app(state.clone());
    let signal_state = state.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests, closing sessions");
        signal_state.begin_shutdown();
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await?;
    let grace = state.config().shutdown_grace;
    if !state.sessions_closed(grace).await {
        tracing::warn!(
            ?grace,
            "WebSocket sessions still open after the grace period"
        );
    }
    if let Some(task) = metrics {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves `/metrics` alone on its own address (a port only the monitoring network reaches)
/// until the main server begins shutting down.
async fn serve_metrics(
    addr: SocketAddr,
    state: AppState,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on --metrics-addr {addr}: {e}"),
        )
    })?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "metrics listening");
    let mut stop = state.shutdown_signal();
    let router = super::metrics_app(state);
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped)
        .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the metrics listener failed");
        }
    }))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
