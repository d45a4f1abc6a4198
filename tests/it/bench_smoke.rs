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

/// The PostgreSQL runs with two process counts: each reports its CPU split
/// (one figure per gateway process) and its queue tables.
#[test]
fn bench_harness_runs_postgres_process_counts() {
    let Ok(pg) = std::env::var("TEST_DATABASE_URL") else {
        crate::common::notice("SKIPPED: bench on PostgreSQL (TEST_DATABASE_URL is not set)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--smoke", "--skip-latency", "--backlog", "0"])
        .args(["--instances", "1,2", "--pg-url", &pg, "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run bench");
    assert!(status.success());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (n, gateways) in [("1", 1), ("2", 2)] {
        let run = &report["postgres"]["instances"][n];
        assert!(run["end_to_end"]["deliveries_per_sec"].as_f64().unwrap() > 0.0);
        assert!(run["single_publish"]["events_per_sec"].as_f64().unwrap() > 0.0);
        assert!(run["steady"]["kept_up"].is_boolean());
        for phase in ["end_to_end", "single_publish", "steady"] {
            let cpu = &run[phase]["cpu"];
            assert_eq!(cpu["gateways"].as_array().unwrap().len(), gateways);
            assert!(cpu["postgres_all"].is_number(), "{phase}: {cpu}");
            assert!(cpu["machine_busy"].as_f64().unwrap() > 0.0);
        }
        assert!(run["tables"]["deliveries"]["updated"].as_i64().unwrap() > 0);
    }
}
