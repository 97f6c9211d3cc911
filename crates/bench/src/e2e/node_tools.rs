//! [`NodeTools`]: Node.js programs the benchmark compares with or measures with
//! (PostGraphile, autocannon), installed by npm at pinned versions into one folder of the
//! output, once: a later run with the same versions reuses them.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context as _, bail};

/// A folder with `node_modules` and the `node` that runs them.
#[derive(Debug, Clone)]
pub struct NodeTools {
    /// The folder (`package.json`, `node_modules/`).
    pub dir: PathBuf,
    /// `node --version`.
    pub node_version: String,
}

/// `node --version`, or `None` when there is no `node` on the `PATH`.
pub fn node_version() -> Option<String> {
    let out = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The version of `package` installed in `dir`, if any.
pub fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json.get("version")?.as_str()?.to_string())
}

impl NodeTools {
    /// Installs `packages` (`(name, exact version)`) into `dir` with `npm install`, unless
    /// every one is there at its version already. Fails when Node.js or npm is missing or
    /// npm fails; the message says how to go without.
    pub async fn install(dir: &Path, packages: &[(&str, &str)]) -> anyhow::Result<Self> {
        let node_version =
            node_version().context("Node.js is not installed (no `node` on the PATH)")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tools = Self {
            dir: dir.to_path_buf(),
            node_version,
        };
        let missing: Vec<String> = packages
            .iter()
            .filter(|(name, version)| installed_version(dir, name).as_deref() != Some(*version))
            .map(|(name, version)| format!("{name}@{version}"))
            .collect();
        if missing.is_empty() {
            return Ok(tools);
        }
        let dependencies: serde_json::Map<String, serde_json::Value> = packages
            .iter()
            .map(|(name, version)| {
                (
                    name.to_string(),
                    serde_json::Value::String(version.to_string()),
                )
            })
            .collect();
        let manifest = serde_json::json!({
            "name": "bench-e2e-node-tools",
            "private": true,
            "description": "Installed by bench-e2e: the peers and load generators it compares with",
            "dependencies": dependencies,
        });
        std::fs::write(
            dir.join("package.json"),
            serde_json::to_string_pretty(&manifest)?,
        )?;
        eprintln!(
            "    npm install {} (into {})",
            missing.join(" "),
            dir.display()
        );
        let output = tokio::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run npm (is it installed with Node.js?)")?;
        if !output.status.success() {
            bail!(
                "npm install {} failed: {}",
                missing.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        for (name, version) in packages {
            let got = installed_version(dir, name);
            if got.as_deref() != Some(*version) {
                bail!("npm installed {name} {got:?}, not {version}");
            }
        }
        Ok(tools)
    }

    /// The path of `file` inside the installed `package`.
    pub fn module_file(&self, package: &str, file: &str) -> PathBuf {
        self.dir.join("node_modules").join(package).join(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_version_is_read_from_its_package_json() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("node_modules/autocannon");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name":"autocannon","version":"9.0.0"}"#,
        )
        .unwrap();
        assert_eq!(
            installed_version(dir.path(), "autocannon").as_deref(),
            Some("9.0.0")
        );
        assert_eq!(installed_version(dir.path(), "postgraphile"), None);
    }
}
