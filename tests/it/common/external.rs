//! Receivers written in other languages (the HrFlow SDK in Python, PHP,
//! Node), run as child processes on a loopback port, with what they print
//! collected line by line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wait::{until, within};

/// A free loopback port (bound, then let go, for a child to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A receiver process; killed when dropped.
pub struct External {
    child: Child,
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl External {
    /// Starts `cmd` (which must listen on 127.0.0.1:`port`) and waits until
    /// the port accepts connections.
    pub async fn spawn(mut cmd: Command, port: u16) -> External {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("receiver starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let started = until("the receiver listens", Duration::from_secs(30), || {
            let exited = child.try_wait().ok().flatten();
            async move {
                if let Some(status) = exited {
                    return Some(Err(status));
                }
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(|_| Ok(()))
            }
        })
        .await;
        let r = External { child, port, lines };
        if let Err(status) = started {
            panic!("the receiver exited ({status}): {:?}", r.lines());
        }
        r
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything it printed so far (stdout and stderr, interleaved).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until `n` printed lines contain `needle`; returns them.
    pub async fn wait_lines(&self, needle: &str, n: usize) -> Vec<String> {
        let found = within(Duration::from_secs(30), || async move {
            let hits: Vec<String> = self
                .lines()
                .into_iter()
                .filter(|l| l.contains(needle))
                .collect();
            (hits.len() >= n).then_some(hits)
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "waited 30 s for {n} lines with '{needle}' from the receiver; it printed {:#?}",
                self.lines()
            )
        })
    }
}

impl Drop for External {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first fenced block of `lang` under the heading `## {heading}` of a
/// page in docs/: the tests run the code the docs show.
pub fn doc_block(page: &str, heading: &str, lang: &str) -> String {
    let path = format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("docs page");
    let start = text
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("no heading '{heading}' in {path}"));
    let rest = &text[start..];
    let open = format!("```{lang}\n");
    let from = rest
        .find(&open)
        .unwrap_or_else(|| panic!("no {lang} block under '{heading}'"))
        + open.len();
    let len = rest[from..].find("\n```").expect("closed block") + 1;
    rest[from..from + len].to_string()
}
