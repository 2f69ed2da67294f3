//! The strict emulator for one test: moto with AWS's own rules in front
//! (`tests/strict`), started on 127.0.0.1 on a free port, stopped (killed)
//! when dropped. `GEUSEMAKER_EMULATOR=moto` starts plain moto instead, for
//! debugging. `scripts/test` installs moto into `~/.cache/geusemaker-venv`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The venv's Python, which has moto.
fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("GEUSEMAKER_PYTHON") {
        return PathBuf::from(path);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = PathBuf::from(home).join(".cache/geusemaker-venv/bin/python");
        if venv.is_file() {
            return venv;
        }
    }
    panic!(
        "the test venv's python was not found: run scripts/test, which installs moto[server] into ~/.cache/geusemaker-venv"
    );
}

/// Plain moto (no strict rules) when `GEUSEMAKER_EMULATOR=moto`.
fn plain() -> bool {
    std::env::var("GEUSEMAKER_EMULATOR").is_ok_and(|v| v == "moto")
}

impl Moto {
    /// `time_scale` multiplies the strict layer's realistic latencies
    /// (default 0.01: a 90 s mount target takes 0.9 s).
    pub fn start_scaled(time_scale: Option<f64>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).expect("moto log");
        let mut args = vec!["-m", "strict", "-H", "127.0.0.1"];
        let port_arg = port.to_string();
        args.extend(["-p", &port_arg]);
        if plain() {
            args.push("--plain");
        }
        let child = Command::new(python())
            .args(&args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/strict"))
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env(
                "STRICT_TIME_SCALE",
                time_scale.map(|t| t.to_string()).unwrap_or_default(),
            )
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start the strict emulator");
        let moto = Self {
            child,
            port,
            log,
            _dir: dir,
        };
        moto.wait_ready();
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An ACM certificate ARN for `domain`, as moto's ACM hands out. There is
    /// no ACM client in the product, so this speaks ACM's JSON protocol itself
    /// (moto checks no signature; the credential scope names the service).
    pub fn certificate(&self, domain: &str) -> String {
        let body = format!(r#"{{"DomainName":"{domain}"}}"#);
        let answer = self.post(
            "/",
            "Content-Type: application/x-amz-json-1.1\r\n\
             X-Amz-Target: CertificateManager.RequestCertificate\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=0\r\n",
            &body,
        );
        answer["CertificateArn"]
            .as_str()
            .unwrap_or_else(|| panic!("no ARN: {answer}"))
            .to_string()
    }

    /// Change the strict layer's settings (`/strict-api/config`: fault_rate,
    /// fault_seed, fault_kinds, fault_services, time_scale, enabled); the
    /// answer has the fault counts.
    pub fn configure(&self, settings: serde_json::Value) -> serde_json::Value {
        self.post("/strict-api/config", "", &settings.to_string())
    }

    /// Set what a fake instance does (`/strict-api/instance`): `{"instance":
    /// id, "*" or "next" (the next one a launch hook holds), "services":
    /// {"n8n": {"status", "health", "probe_ms", "failing_streak",
    /// "unhealthy_reads"}}, "ssm": "online" | "offline", "boot": "complete" |
    /// "hold" | "unhealthy", "bare": true (the previous version's instance,
    /// serving with no lease)}`; the answer is as `instance_reads`.
    pub fn set_instance(&self, settings: serde_json::Value) -> serde_json::Value {
        self.post("/strict-api/instance", "", &settings.to_string())
    }

    /// The fake Ollama's settings (a stall of the next pull): rule ssm.ollama-models.
    pub fn ollama(&self, settings: serde_json::Value) -> serde_json::Value {
        self.post("/strict-api/ollama", "", &settings.to_string())
    }

    /// The fake instances' settings and how many inside-health reads each
    /// instance answered: `{"instances": {..}, "reads": {"i-..": 3}}`.
    pub fn instance_reads(&self) -> serde_json::Value {
        self.post("/strict-api/instance", "", "")
    }

    /// A spot interruption of `instance`, as EC2 makes one (`/strict-api/interrupt`).
    pub fn interrupt(&self, instance: &str) -> serde_json::Value {
        let body = serde_json::json!({ "instance": instance }).to_string();
        self.post("/strict-api/interrupt", "", &body)
    }

    /// Spot capacity for every type runs out (`false`) or comes back
    /// (`/strict-api/spot-capacity`).
    pub fn spot_capacity(&self, available: bool) -> serde_json::Value {
        let body = serde_json::json!({ "available": available }).to_string();
        self.post("/strict-api/spot-capacity", "", &body)
    }

    /// Move the emulator's clock on by `secs` (real, scaled) seconds.
    pub fn advance(&self, secs: f64) -> serde_json::Value {
        let body = serde_json::json!({ "seconds": secs }).to_string();
        self.post("/strict-api/advance", "", &body)
    }

    /// The fake instances' writer lease (`GET /strict-api/lease`):
    /// `{"stacks": {stack: {"holder", "expires_in"}}, "writers": {stack:
    /// [ids running services]}, "history": [{"at", "stack", "instance",
    /// "event", "why"}]}`.
    pub fn lease(&self) -> serde_json::Value {
        self.send("GET", "/strict-api/lease", "", "")
    }

    /// The fake instances' boot stages (`GET /strict-api/switch`):
    /// `{"stages": {id: ["cloud-init <at>", ..]}, "resuming": [ids], "bare":
    /// [ids]}`, for every instance a launch hook held, and bare ones.
    pub fn stages(&self) -> serde_json::Value {
        self.send("GET", "/strict-api/switch", "", "")
    }

    /// One HTTP/1.0 POST on loopback, its JSON answer.
    fn post(&self, path: &str, headers: &str, body: &str) -> serde_json::Value {
        self.send("POST", path, headers, body)
    }

    fn send(&self, method: &str, path: &str, headers: &str, body: &str) -> serde_json::Value {
        send(self.port, method, path, headers, body)
    }

    /// Sample the stack's writers (`GET /strict-api/lease`) every 20 ms from
    /// another thread, until `stop`.
    pub fn lease_sampler(&self, stack: &str) -> LeaseSampler {
        let (port, stack) = (self.port, stack.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let lease = send(port, "GET", "/strict-api/lease", "", "");
                let writers: Vec<String> = lease["writers"][&stack]
                    .as_array()
                    .map(|w| {
                        w.iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                samples.push(writers);
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        });
        LeaseSampler { stop, thread }
    }

    /// Poll `GET /moto-api/` until it answers (bounded: moto takes ~1-2 s).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto did not start: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// One HTTP/1.0 request on loopback, its JSON answer.
fn send(port: u16, method: &str, path: &str, headers: &str, body: &str) -> serde_json::Value {
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {len}\r\n\r\n{body}",
        len = body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("emulator");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
}

/// The writers of a stack at each sample, in order.
pub struct LeaseSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Vec<String>>>,
}

impl LeaseSampler {
    /// Every sample, after asserting none had two writers; returns who
    /// wrote, in order (each once per stretch).
    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.thread.join().expect("sampler");
        assert!(samples.len() > 10, "too few samples: {}", samples.len());
        let mut seen: Vec<String> = Vec::new();
        for writers in &samples {
            assert!(writers.len() <= 1, "two writers: {writers:?}");
            if let Some(id) = writers.first()
                && seen.last() != Some(id)
            {
                seen.push(id.clone());
            }
        }
        seen
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows the emulator's own errors (tracebacks).
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let errors: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("HTTP/1.1\" 200") && !l.contains("HTTP/1.0\" 200"))
                .collect();
            let tail = &errors[errors.len().saturating_sub(60)..];
            eprintln!(
                "--- the emulator's log, without its 200s ---\n{}",
                tail.join("\n")
            );
        }
    }
}
