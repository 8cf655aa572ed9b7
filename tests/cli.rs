//! The command line as a user drives it: `check-config`, and the signing/auth debug tools
//! reproducing the official clients' vectors (`../shared/vectors/polymarket_v2.json`).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sattebaaz");

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/polymarket_v2.json"
    );
    serde_json::from_slice(&std::fs::read(path).expect("vectors file")).unwrap()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("SATTEBAAZ_PRIVATE_KEY")
        .env_remove("SATTEBAAZ_PRIVATE_KEY_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_shipped_file_and_names_bad_keys() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let (code, out, _) = run(&["check-config", shipped], &[]);
    assert_eq!(code, 0, "{out}");
    let bad = std::fs::read_to_string(shipped)
        .unwrap()
        .replace("pool_size = 4", "pool_size = 0")
        .replace("[net.backoff]", "[net.backoff]\nretries = 3");
    let path = std::env::temp_dir().join(format!("sattebaaz-bad-{}.toml", std::process::id()));
    std::fs::write(&path, bad).unwrap();
    let (code, _, err) = run(&["check-config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("net.http.pool_size"), "{err}");
    assert!(err.contains("net.backoff.retries"), "{err}");
}

#[test]
fn order_build_prints_each_vector_body() {
    let v = vectors();
    let mut checked = 0;
    for case in v["v2_signed_orders"].as_array().unwrap() {
        let i = &case["inputs"];
        // The CLI builds limit orders with the EOA signer; type 3 needs the deposit wallet funder.
        let num = |k: &str| i[k].to_string().trim_matches('"').to_string();
        let mut args: Vec<String> = vec![
            "order".into(),
            "build".into(),
            "--token-id".into(),
            i["token_id"].as_str().unwrap().into(),
            "--side".into(),
            i["side"].as_str().unwrap().into(),
            "--price".into(),
            num("price"),
            "--size".into(),
            num("size"),
            "--tick-size".into(),
            i["tick_size"].as_str().unwrap().into(),
            "--signature-type".into(),
            num("signature_type"),
            "--funder".into(),
            i["maker_funder"].as_str().unwrap().into(),
            "--salt".into(),
            num("salt"),
            "--timestamp-ms".into(),
            num("timestamp_ms"),
            "--expiration".into(),
            num("expiration"),
            "--builder".into(),
            i["builder"].as_str().unwrap().into(),
            "--metadata".into(),
            i["metadata"].as_str().unwrap().into(),
            "--order-type".into(),
            i["order_type"].as_str().unwrap().into(),
            "--owner".into(),
            i["owner_api_key"].as_str().unwrap().into(),
        ];
        if i["neg_risk"].as_bool().unwrap() {
            args.push("--neg-risk".into());
        }
        if i["post_only"].as_bool().unwrap() {
            args.push("--post-only".into());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let key = i["private_key"].as_str().unwrap();
        let (code, out, err) = run(&argv, &[("SATTEBAAZ_PRIVATE_KEY", key)]);
        assert_eq!(code, 0, "{}: {err}", case["id"]);
        let body: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
        assert_eq!(
            body, case["post_order_body_py_clob_client_v2"],
            "{}",
            case["id"]
        );
        assert_eq!(
            body["order"]["signature"], case["signature"],
            "{}",
            case["id"]
        );
        assert!(
            !out.contains(key.trim_start_matches("0x")),
            "key never printed"
        );
        checked += 1;
    }
    assert_eq!(checked, v["v2_signed_orders"].as_array().unwrap().len());
}

#[test]
fn auth_tools_reproduce_vectors() {
    let v = vectors();
    for case in v["l2_hmac"].as_array().unwrap() {
        let ts = case["timestamp"].to_string();
        let mut args = vec![
            "auth",
            "l2-sign",
            "--secret",
            case["secret_urlsafe_b64"].as_str().unwrap(),
            "--timestamp",
            &ts,
            "--method",
            case["method"].as_str().unwrap(),
            "--path",
            case["path"].as_str().unwrap(),
        ];
        if let Some(body) = case["body"].as_str() {
            args.push("--body");
            args.push(body);
        }
        let (code, out, err) = run(&args, &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out.trim(),
            case["signature_polymarket_client"].as_str().unwrap()
        );
    }
    let key = v["fixed"]["private_key"].as_str().unwrap();
    for case in v["l1_clob_auth"].as_array().unwrap() {
        let ts = case["timestamp"].to_string();
        let nonce = case["nonce"].to_string();
        let (code, out, err) = run(
            &["auth", "l1-sign", "--timestamp", &ts, "--nonce", &nonce],
            &[("SATTEBAAZ_PRIVATE_KEY", key)],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out.trim(),
            case["signature_polymarket_client"].as_str().unwrap()
        );
    }
}

#[test]
fn a_key_that_does_not_parse_stops_the_program_without_echoing_it() {
    let bad = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f36231Z";
    let (code, out, err) = run(
        &["auth", "l1-sign", "--timestamp", "1"],
        &[("SATTEBAAZ_PRIVATE_KEY", bad)],
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(!err.contains("4c0883a6"), "error leaks the key: {err}");
}

#[test]
fn sigint_stops_the_demo_cleanly_with_histograms_and_summary() {
    let dir = std::env::temp_dir().join(format!("sattebaaz-cli-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"))
        .unwrap()
        .replace(
            "run_dir = \"out\"",
            &format!("run_dir = {:?}", dir.join("out")),
        );
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, shipped).unwrap();
    let child = Command::new(BIN)
        .args(["demo", "--duration", "120", "--quiet", "--config"])
        .arg(&cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("demo starts");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // Hang guard (not a speed check): a demo that ignores SIGINT would run for 120 s.
    let mut child = child;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not stop after SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("demo output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("simulated data"), "{stdout}");
    assert!(
        stdout.contains("socket_to_decode"),
        "latency summary printed"
    );
    assert!(dir.join("out/histograms/socket_to_decode_us.hgrm").exists());
    assert!(dir.join("out/histograms/decode_to_book_us.hgrm").exists());
}

/// The shipped configuration with `clob_url` pointing at `url`, written to a temp file.
fn config_with_clob(url: &str, tag: &str) -> std::path::PathBuf {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let text: String = std::fs::read_to_string(shipped)
        .unwrap()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("clob_url") {
                format!("clob_url = \"{url}\"\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path =
        std::env::temp_dir().join(format!("sattebaaz-keys-{tag}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

const TEST_KEY: &str = "0x4242424242424242424242424242424242424242424242424242424242424242";

#[test]
fn keys_derive_prints_env_lines_from_the_clob() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // Serve /time and /auth/derive-api-key on one or more connections.
        let mut served = Vec::new();
        for stream in listener.incoming().take(2) {
            let stream = stream.unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut out = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut has_nonce = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    has_nonce |= h.to_ascii_uppercase().starts_with("POLY_NONCE: 0");
                }
                let body = if line.starts_with("GET /time") {
                    "1700000000".to_string()
                } else {
                    assert!(line.starts_with("GET /auth/derive-api-key"), "{line}");
                    assert!(has_nonce, "L1 headers carry the nonce");
                    r#"{"apiKey":"k-1","secret":"c2VjcmV0","passphrase":"p-1"}"#.to_string()
                };
                served.push(line.clone());
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if served.len() == 2 {
                    return served;
                }
            }
        }
        served
    });
    let cfg = config_with_clob(&format!("http://127.0.0.1:{port}"), "ok");
    let (code, out, err) = run(
        &["keys", "derive", "--config", cfg.to_str().unwrap()],
        &[("SATTEBAAZ_PRIVATE_KEY", TEST_KEY)],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "SATTEBAAZ_API_KEY=k-1\nSATTEBAAZ_API_SECRET=c2VjcmV0\nSATTEBAAZ_API_PASSPHRASE=p-1\n"
    );
    assert!(err.contains("derived existing"), "{err}");
    assert_eq!(server.join().unwrap().len(), 2);
}

#[test]
fn keys_derive_reports_an_unreachable_clob_clearly() {
    // Bind then drop: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let cfg = config_with_clob(&url, "down");
    let (code, out, err) = run(
        &["keys", "derive", "--config", cfg.to_str().unwrap()],
        &[("SATTEBAAZ_PRIVATE_KEY", TEST_KEY)],
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.starts_with("error:") && err.contains(&url), "{err}");
    let (code, _, err) = run(&["keys", "derive", "--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no private key"), "{err}");
}
