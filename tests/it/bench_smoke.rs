//! Keeps the benchmark harness from rotting: a tiny run, figures not judged.

#[test]
fn bench_harness_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--smoke", "--out"])
        .arg(&out)
        .env_remove("BENCH_PG_URL")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run bench");
    assert!(status.success());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(report["ceiling_requests_per_sec"].as_f64().unwrap() > 0.0);
    assert!(
        report["sqlite"]["end_to_end"]["deliveries_per_sec"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(report["sqlite"]["steady"]["latency_ms"]["p99"].is_number());
    assert!(report["backlog"]["drain_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["sqlite"]["peak_rss_mib"].as_f64().unwrap() > 0.0);
}
