//! `sattebaaz run`: live mode refuses with a clear error when its preconditions are missing
//! (no confirmation: the configuration check names the key; no wallet key: the run says which
//! variables to set), before connecting anywhere.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sattebaaz");

fn config_with(dir: &std::path::Path, confirmed: bool) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"))
        .expect("shipped config");
    let text = shipped
        .replacen("mode = \"paper\"", "mode = \"live\"", 1)
        .replacen(
            "live_confirmed = false",
            if confirmed {
                "live_confirmed = true"
            } else {
                "live_confirmed = false"
            },
            1,
        );
    assert_ne!(text, shipped, "the shipped [engine] keys changed");
    let path = dir.join(format!("live-{confirmed}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(config: &std::path::Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["run", "--quiet", "--duration", "1", "--config"])
        .arg(config)
        .env_remove("SATTEBAAZ_PRIVATE_KEY")
        .env_remove("SATTEBAAZ_PRIVATE_KEY_FILE")
        .env_remove("SATTEBAAZ_API_KEY")
        .env_remove("SATTEBAAZ_API_SECRET")
        .env_remove("SATTEBAAZ_API_PASSPHRASE")
        .output()
        .expect("binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn live_mode_refuses_without_confirmation_or_key() {
    let dir = std::env::temp_dir().join(format!("sattebaaz-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (ok, text) = run(&config_with(&dir, false));
    assert!(!ok, "{text}");
    assert!(text.contains("live_confirmed"), "{text}");

    let (ok, text) = run(&config_with(&dir, true));
    assert!(!ok, "{text}");
    assert!(text.contains("SATTEBAAZ_PRIVATE_KEY"), "{text}");
    assert!(text.contains("live"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
