//! What a new user meets first, with the real binary: `--bind` on the bare
//! command, a taken port that names the fix and spends no token, and help
//! that lists each command's own options (issue 31, items 1, 2 and 8).

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::common::gateway::{free_port, Gateway};
use crate::common::wait::until_ok;
use crate::common::{fresh_database, read, Backend, TOKEN};

fn hookrelay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run hookrelay")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Server options that only `serve` (and the bare command) take.
const SERVER_ONLY: [&str; 5] = [
    "--workers",
    "--smtp-url",
    "--retention-days",
    "--bind",
    "--master-key",
];

#[test]
fn each_subcommand_lists_its_own_options() {
    for args in [
        &["token", "--help"][..],
        &["token", "create", "--help"],
        &["token", "list", "--help"],
        &["migrate", "--help"],
        &["backup", "--help"],
        &["verify", "--help"],
        &["keygen", "--help"],
        &["manifest", "validate", "--help"],
    ] {
        let out = hookrelay(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let help = text(&out.stdout);
        for flag in SERVER_ONLY {
            assert!(!help.contains(flag), "{args:?} lists {flag}:\n{help}");
        }
        assert!(help.lines().count() < 40, "{args:?}: {help}");
    }
    let token = text(&hookrelay(&["token", "--help"]).stdout);
    for part in ["create", "list", "revoke", "--database-url"] {
        assert!(token.contains(part), "token --help lacks {part}:\n{token}");
    }
    let create = text(&hookrelay(&["token", "create", "--help"]).stdout);
    for part in ["--name", "--scope", "--database-url"] {
        assert!(
            create.contains(part),
            "token create --help lacks {part}:\n{create}"
        );
    }
    let serve = text(&hookrelay(&["serve", "--help"]).stdout);
    for flag in SERVER_ONLY {
        assert!(serve.contains(flag), "serve --help lacks {flag}");
    }
}

/// `hookrelay --bind …` serves (the bare command is `serve`); a subcommand
/// after server options is refused rather than ignoring them.
#[actix_web::test]
async fn bare_command_takes_serve_options() {
    let db = fresh_database(Backend::Sqlite).unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookrelay"));
    cmd.args(["--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db.url)
        .env("HOOKRELAY_BOOTSTRAP_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null());
    let mut g = Gateway::start(cmd, port).await;
    let (status, me) = g.get("/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(g.terminate().success());

    let out = hookrelay(&["--bind", "127.0.0.1:1", "token", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
}

/// With the port taken, the start fails saying how to choose another
/// address, and creates no token; the next start, on a free port, prints
/// the first operator token, which works.
#[actix_web::test]
async fn taken_port_names_the_fix_and_spends_no_token() {
    let db = fresh_database(Backend::Sqlite).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut cmd = Gateway::command(&db.url, port);
    cmd.env_remove("HOOKRELAY_BOOTSTRAP_TOKEN")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    let next = format!("127.0.0.1:{}", port + 1);
    assert!(
        err.contains(&format!("HOOKRELAY_BIND={next}")) && err.contains(&format!("--bind {next}")),
        "{err}"
    );
    assert!(
        !err.contains("hr_"),
        "a failed start printed a token: {err}"
    );
    drop(taken);

    let log = tempfile::NamedTempFile::new().unwrap();
    let port = free_port();
    let mut cmd = Gateway::command(&db.url, port);
    cmd.env_remove("HOOKRELAY_BOOTSTRAP_TOKEN")
        .stderr(Stdio::from(log.reopen().unwrap()));
    let mut g = Gateway::start(cmd, port).await;
    let token = until_ok(
        "the first token to be printed",
        Duration::from_secs(30),
        async || {
            let printed = std::fs::read_to_string(log.path()).unwrap();
            match printed.split_whitespace().find(|w| w.starts_with("hr_")) {
                Some(t) => {
                    assert!(printed.contains("hookrelay token create"), "{printed}");
                    Ok(t.to_string())
                }
                None => Err(printed),
            }
        },
    )
    .await;
    let resp = g
        .http
        .get(format!("{}/v1/me", g.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, me) = read(resp).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["platform"], true, "{me}");
    assert!(g.terminate().success());
}
