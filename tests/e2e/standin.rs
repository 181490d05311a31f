//! A stand-in for an outside HTTP service (Telegram's Bot API, Twilio, Anthropic): a local
//! server that records every request and answers from a script, in the service's own wire
//! format as the test writes it. Unscripted requests get the default answer.
//!
//! Files a test registers are served as the services serve them: Telegram's `getFile` answers
//! a registered `file_id` with its `file_path`, and `GET /file/bot<token>/<file_path>` (or any
//! registered path, such as a Twilio media URL's) answers the bytes.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A form-encoded body's value of `name`.
    pub fn form(&self, name: &str) -> Option<String> {
        fieldworker::domain::messaging::parse_form(self.body.as_bytes())
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A scripted answer, made from the request it answers (a model that reads what it was sent).
pub type Scripted = Box<dyn FnOnce(&Recorded) -> (u16, Value) + Send>;

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Scripted>,
    /// Path → (content type, bytes) of the files served.
    files: HashMap<String, (String, Vec<u8>)>,
    /// Telegram `file_id` → (`file_path`, `file_size`).
    telegram_files: HashMap<String, (String, usize)>,
}

/// An answer: status, content type, body.
type Answer = (u16, String, Vec<u8>);

pub struct StandIn {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    /// Starts a stand-in answering `default` (status, JSON body) unless scripted otherwise.
    pub fn start(default_status: u16, default_body: &str) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let default = (default_status, default_body.to_owned());
        let (shared, fallback) = (state.clone(), default);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (shared, fallback) = (shared.clone(), fallback.clone());
                std::thread::spawn(move || serve(stream, &shared, &fallback));
            }
        });
        StandIn { base, state }
    }

    /// Answers for the next requests, in order (then the default again).
    pub fn script(&self, answers: Vec<(u16, Value)>) {
        self.script_with(
            answers
                .into_iter()
                .map(|answer| Box::new(move |_: &Recorded| answer) as Scripted)
                .collect(),
        );
    }

    /// Answers for the next requests, in order, each made from the request it answers.
    pub fn script_with(&self, answers: Vec<Scripted>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    /// Serves `bytes` at `path` (e.g. a Twilio media URL's path) as `content_type`.
    pub fn serve_file(&self, path: &str, content_type: &str, bytes: &[u8]) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_owned(), (content_type.to_owned(), bytes.to_vec()));
    }

    /// A file the Telegram bot `token` can fetch: `getFile` with `file_id` answers
    /// `file_path`, whose download answers `bytes`.
    pub fn telegram_file(&self, token: &str, file_id: &str, file_path: &str, bytes: &[u8]) {
        self.serve_file(
            &format!("/file/bot{token}/{file_path}"),
            "application/octet-stream",
            bytes,
        );
        self.state
            .lock()
            .unwrap()
            .telegram_files
            .insert(file_id.to_owned(), (file_path.to_owned(), bytes.len()));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Waits until at least `count` requests arrived (work runs after the webhook's answer).
    pub fn wait_for(&self, count: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let requests = self.requests();
            if requests.len() >= count || Instant::now() > deadline {
                return requests;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, default: &(u16, String)) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.trim_end().split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let (status, content_type, answer): Answer = {
        let mut state = state.lock().unwrap();
        let recorded = Recorded {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let answer = file_answer(&state, &recorded).unwrap_or_else(|| {
            let (status, body) = match state.script.pop_front() {
                Some(scripted) => {
                    let (status, body) = scripted(&recorded);
                    (status, body.to_string())
                }
                None => default.clone(),
            };
            (status, "application/json".to_owned(), body.into_bytes())
        });
        state.requests.push(recorded);
        answer
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        answer.len()
    );
    let _ = stream.write_all(&answer);
    let _ = stream.flush();
}

/// The answer to a request for a registered file, or to Telegram's `getFile`.
fn file_answer(state: &State, request: &Recorded) -> Option<Answer> {
    if request.method == "GET" {
        let (content_type, bytes) = state.files.get(&request.path)?;
        return Some((200, content_type.clone(), bytes.clone()));
    }
    if !request.path.ends_with("/getFile") {
        return None;
    }
    let asked: Value = serde_json::from_str(&request.body).unwrap_or_default();
    let file_id = asked["file_id"].as_str().unwrap_or_default();
    let body = match state.telegram_files.get(file_id) {
        Some((path, size)) => serde_json::json!({ "ok": true, "result": {
            "file_id": file_id, "file_unique_id": format!("u-{file_id}"),
            "file_size": size, "file_path": path } }),
        None => serde_json::json!({ "ok": false, "error_code": 400,
            "description": "Bad Request: invalid file_id" }),
    };
    let status = if body["ok"] == true { 200 } else { 400 };
    Some((
        status,
        "application/json".to_owned(),
        body.to_string().into_bytes(),
    ))
}
