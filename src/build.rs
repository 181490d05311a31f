//! Encodes the common-password list into the compact set the Worker ships in its place
//! (`src/domain/auth/common_set.rs`, read by `domain::auth::password`).

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
}
