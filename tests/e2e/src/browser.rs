//! A headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`), for
//! the sealing page's tests. The WebDriver protocol is JSON over HTTP/1.1; the few commands the
//! tests need are spoken here directly over a socket, so no WebDriver client crate is needed.
//!
//! Binaries: `$CHROMIUM` / `$CHROMEDRIVER`, else `/usr/bin/chromium` and `/usr/bin/chromedriver`
//! (the build script checks the same paths and sets `cfg(browser)` when they are present).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Path of the Chromium binary.
#[must_use]
pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Path of chromedriver.
#[must_use]
pub fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
}

/// One request the page made, from Chromium's performance log (`Network.requestWillBeSent`).
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Everything the request carried (URL, headers, body) as one string, for searching.
    pub everything: String,
}

/// A browser session; ends the session and chromedriver when dropped.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

/// One HTTP/1.1 exchange with chromedriver: (status, body).
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    // chromedriver keeps the connection open whatever the request says: read the header, then
    // exactly Content-Length bytes (or to the end when there is none).
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let header_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed before the header"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status"))?;
    let length = head.lines().find_map(|line| {
        line.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    match length {
        Some(length) => {
            while raw.len() < header_end + length {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Err(std::io::Error::other("connection closed mid-body"));
                }
                raw.extend_from_slice(&buf[..n]);
            }
            raw.truncate(header_end + length);
        }
        None => {
            stream.read_to_end(&mut raw)?;
        }
    }
    let rest = String::from_utf8_lossy(&raw[header_end..]).into_owned();
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(&rest)
    } else {
        rest
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, `width`×`height`.
    pub async fn start(width: u32, height: u32) -> Self {
        let port = test_cluster::free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver()));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser = Self {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
            downloads: tempfile::tempdir().expect("download dir"),
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !matches!(browser.raw("GET", "/status", "").await, Ok((200, _))) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": args,
                "prefs": {
                    "download.default_directory": browser.downloads.path(),
                    "download.prompt_for_download": false,
                },
            },
            "goog:loggingPrefs": {"performance": "ALL"},
        }}});
        let value = browser.command("POST", "/session", &capabilities).await;
        browser.session = value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    /// Where downloads land.
    #[must_use]
    pub fn download_dir(&self) -> &std::path::Path {
        self.downloads.path()
    }

    async fn raw(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let (addr, method, path, body) = (
            self.addr,
            method.to_owned(),
            path.to_owned(),
            body.to_owned(),
        );
        tokio::task::spawn_blocking(move || exchange(addr, &method, &path, &body))
            .await
            .expect("WebDriver exchange")
    }

    /// Sends one WebDriver command; panics with the driver's message when it fails.
    pub async fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" || method == "DELETE" {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = self
            .raw(method, path, &body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let reply: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("WebDriver {method} {path}: {status} {text}"));
        assert!(
            status == 200,
            "WebDriver {method} {path}: {status} {}",
            reply["value"]["message"]
        );
        reply["value"].clone()
    }

    fn session_path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.command("POST", &self.session_path("/url"), &json!({"url": url}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result,
    /// awaiting it when it is a promise.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.command(
            "POST",
            &self.session_path("/execute/sync"),
            &json!({"script": script, "args": args}),
        )
        .await
    }

    /// The WebDriver id of the element `css` selects.
    pub async fn find(&self, css: &str) -> String {
        let value = self
            .command(
                "POST",
                &self.session_path("/element"),
                &json!({"using": "css selector", "value": css}),
            )
            .await;
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    /// Types `text` into the element `css` selects (for a file input: a file path).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.command(
            "POST",
            &self.session_path(&format!("/element/{id}/value")),
            &json!({"text": text}),
        )
        .await;
    }

    /// Clears a text field.
    pub async fn clear(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            "POST",
            &self.session_path(&format!("/element/{id}/clear")),
            &json!({}),
        )
        .await;
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.command(
            "POST",
            &self.session_path(&format!("/element/{id}/click")),
            &json!({}),
        )
        .await;
    }

    /// Presses keys on whatever has the focus (WebDriver key codes, e.g. `"\u{E004}"` = Tab).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.command(
            "POST",
            &self.session_path("/actions"),
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// A Chrome DevTools command.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command(
            "POST",
            &self.session_path("/goog/cdp/execute"),
            &json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    /// Emulates a viewport `width` CSS pixels wide (a phone when `mobile`).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// A PNG of the whole page.
    pub async fn screenshot(&self) -> Vec<u8> {
        let value = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(value["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64")
    }

    /// The requests the page made since the last call (the log is drained by reading it).
    pub async fn requests(&self) -> Vec<PageRequest> {
        let entries = self
            .command(
                "POST",
                &self.session_path("/se/log"),
                &json!({"type": "performance"}),
            )
            .await;
        let mut out = Vec::new();
        for entry in entries.as_array().into_iter().flatten() {
            let Some(message) = entry["message"].as_str() else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(message) else {
                continue;
            };
            let message = &message["message"];
            if message["method"] != "Network.requestWillBeSent" {
                continue;
            }
            // Chromium's own pages (the new-tab page it starts on) are not the page under test.
            let document = message["params"]["documentURL"]
                .as_str()
                .unwrap_or_default();
            if document.starts_with("chrome://") || document.starts_with("chrome-untrusted://") {
                continue;
            }
            let request = &message["params"]["request"];
            out.push(PageRequest {
                method: request["method"].as_str().unwrap_or_default().to_owned(),
                url: request["url"].as_str().unwrap_or_default().to_owned(),
                everything: request.to_string(),
            });
        }
        out
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = exchange(
                self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                "",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
