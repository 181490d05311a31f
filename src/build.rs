//! Encodes the common-password list into the compact set the Worker ships in its place
//! (`src/domain/auth/common_set.rs`, read by `domain::auth::password`), and compacts the
//! OpenAPI document the Worker serves (`src/http/openapi.json`, kept readable in the tree).

use std::path::PathBuf;
use std::{env, fs};

#[path = "domain/auth/common_set.rs"]
#[allow(dead_code)] // The reading half is for the Worker.
mod common_set;

fn main() {
    const LIST: &str = "src/domain/auth/common_passwords.txt";
    println!("cargo::rerun-if-changed={LIST}");
    println!("cargo::rerun-if-changed=src/domain/auth/common_set.rs");
    let text = fs::read_to_string(LIST).expect("read the common-password list");
    let set = common_set::encode(
        text.lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#')),
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("common_passwords.set"), set).expect("write the common-password set");

    const OPENAPI: &str = "src/http/openapi.json";
    println!("cargo::rerun-if-changed={OPENAPI}");
    let document = fs::read_to_string(OPENAPI).expect("read the OpenAPI document");
    fs::write(out.join("openapi.json"), compact_json(&document)).expect("write the document");
}

/// `json` without the whitespace between its tokens (strings are kept as they are).
fn compact_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
