//! Closed connections leave nothing behind: a thousand peer connections opened and closed or
//! dropped, then the live tasks and open descriptors are counted. Alone in its test binary,
//! so that no other test's sockets are counted.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::time::Duration;

use weft::peer::{ChannelInit, PeerConnection, RtcConfiguration, SdpType};

/// Counts this process's open file descriptors.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_opened_and_dropped_leave_no_task_or_socket() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let cert = weft::peer::generate_certificate(weft::peer::KeyType::EcdsaP256).unwrap();
    let config = RtcConfiguration {
        certificates: vec![cert],
        ..RtcConfiguration::loopback()
    };
    // Warm up what lives for the process (the runtime's own descriptors).
    drop(PeerConnection::new(config.clone()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let tasks_before = metrics.num_alive_tasks();
    let fds_before = open_fds();
    for i in 0..1000 {
        let pc = PeerConnection::new(config.clone()).await.unwrap();
        if i % 2 == 0 {
            // Half are used a little and closed explicitly, half just dropped.
            pc.create_data_channel(ChannelInit::new("c")).await.unwrap();
            let offer = pc.create_offer().await.unwrap();
            pc.set_local_description(SdpType::Offer, &offer)
                .await
                .unwrap();
            pc.close().await;
        }
        drop(pc);
    }
    let mut tasks = metrics.num_alive_tasks();
    let mut fds = open_fds();
    for _ in 0..100 {
        if tasks <= tasks_before && fds <= fds_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        tasks = metrics.num_alive_tasks();
        fds = open_fds();
    }
    assert!(tasks <= tasks_before, "tasks {tasks_before} -> {tasks}");
    assert!(fds <= fds_before, "descriptors {fds_before} -> {fds}");
}
