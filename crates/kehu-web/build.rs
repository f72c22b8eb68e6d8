//! Front-end libraries come from npm, pinned by the workspace's
//! package-lock.json, and are embedded in the binary. When they are not
//! installed yet (a fresh clone), `npm ci` installs them here.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("cargo:rerun-if-changed=../../package-lock.json");
    println!("cargo:rerun-if-changed=../../node_modules/echarts/dist/echarts.min.js");
    if root
        .join("node_modules/echarts/dist/echarts.min.js")
        .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&root)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` failed ({s}); the web UI needs its front-end libraries from npm"),
        Err(e) => panic!("cannot run npm ({e}); install Node.js and npm, then build again"),
    }
}
