//! A small run of the load benchmark (`flyte-auth-load`, see tests/src/bin/load.rs), so the
//! benchmark that `scripts/bench.sh` runs at full size keeps working.

use flyte_auth_e2e::harness::{bin, stderr, stdout};

#[test]
fn the_load_benchmark_runs_clean_at_small_scale() {
    // 5 clients x 20 requests, 3 s tokens: a refresh in the middle within a few seconds.
    let out = std::process::Command::new(bin("flyte-auth-load"))
        .args(["5", "20", "3"])
        .output()
        .expect("run flyte-auth-load");
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "load benchmark failed ({}):\n{text}\n{}",
        out.status,
        stderr(&out)
    );
    assert!(text.contains("= 100 get_token calls"), "{text}");
    assert!(text.contains("errors: 0;"), "{text}");
    assert!(text.contains("invalid at the IdP: 0;"), "{text}");
    assert!(text.contains("p99="), "{text}");
}
