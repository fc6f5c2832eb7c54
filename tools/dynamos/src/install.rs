// SPDX-License-Identifier: GPL-2.0

//! `install`, `uninstall` and `list --installed`: patch modules in the
//! kernel's module tree, `<root>/lib/modules/<release>/extra/dynamos/`, a
//! depmod run (so that modprobe loads dynamos.ko first: a patch module
//! references dynamos.ko's exported symbols), and a modules-load.d entry,
//! `<root>/etc/modules-load.d/dynamos-<name>.conf`, so that
//! systemd-modules-load loads the patch at boot.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::control::{module_name, run_tool};
use crate::error::{Error, Result};

/// The name of the core module, installed like a patch but with no boot
/// entry of its own: modprobe loads it as the patches' dependency.
pub const CORE: &str = "dynamos";

/// The running kernel's release.
pub fn running_release() -> Result<String> {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .map_err(|e| Error::io("cannot read", Path::new("/proc/sys/kernel/osrelease"), &e))
}

/// Where the modules go.
pub fn module_dir(root: &Path, release: &str) -> PathBuf {
    root.join("lib/modules").join(release).join("extra/dynamos")
}

/// The boot entry of module `name`.
pub fn conf_path(root: &Path, name: &str) -> PathBuf {
    root.join("etc/modules-load.d")
        .join(format!("dynamos-{name}.conf"))
}

/// The content of the boot entry of module `name`.
pub fn conf_text(name: &str) -> String {
    format!("# Written by 'dynamos install'; removed by 'dynamos uninstall {name}'.\n{name}\n")
}

fn depmod(root: &Path, release: &str) -> Result<()> {
    let root_s = root.as_os_str();
    run_tool("depmod", &[OsStr::new("-b"), root_s, OsStr::new(release)])
}

/// Installs the modules; returns the paths written.
pub fn install(kos: &[PathBuf], root: &Path, release: &str) -> Result<Vec<PathBuf>> {
    let dir = module_dir(root, release);
    fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, &e))?;
    let mut written = Vec::new();
    for ko in kos {
        if !ko.is_file() {
            return Err(Error::Other(format!(
                "{}: no such module file",
                ko.display()
            )));
        }
        let name = module_name(ko);
        let file = ko.file_name().map(PathBuf::from).unwrap_or_default();
        let dest = dir.join(file);
        fs::copy(ko, &dest).map_err(|e| Error::io("cannot copy to", &dest, &e))?;
        written.push(dest);
        if name != CORE {
            let conf = conf_path(root, &name);
            if let Some(p) = conf.parent() {
                fs::create_dir_all(p).map_err(|e| Error::io("cannot create", p, &e))?;
            }
            fs::write(&conf, conf_text(&name)).map_err(|e| Error::io("cannot write", &conf, &e))?;
            written.push(conf);
        }
    }
    depmod(root, release)?;
    Ok(written)
}

/// An installed module.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    /// The module name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Whether it loads at boot (its modules-load.d entry exists).
    pub at_boot: bool,
}

/// The installed modules.
pub fn list(root: &Path, release: &str) -> Vec<Installed> {
    let dir = module_dir(root, release);
    crate::model::list_dir(&dir)
        .into_iter()
        .filter(|f| f.contains(".ko"))
        .map(|f| {
            let path = dir.join(&f);
            let name = module_name(&path);
            Installed {
                at_boot: conf_path(root, &name).is_file(),
                name,
                path,
            }
        })
        .collect()
}

/// Removes installed modules and their boot entries; returns the paths
/// removed.
pub fn uninstall(names: &[String], root: &Path, release: &str) -> Result<Vec<PathBuf>> {
    let installed = list(root, release);
    let mut removed = Vec::new();
    for n in names {
        let n = n.replace('-', "_");
        let Some(i) = installed.iter().find(|i| i.name == n) else {
            return Err(Error::Unknown {
                what: "installed module",
                name: n,
                known: installed.iter().map(|i| i.name.clone()).collect(),
            });
        };
        fs::remove_file(&i.path).map_err(|e| Error::io("cannot remove", &i.path, &e))?;
        removed.push(i.path.clone());
        let conf = conf_path(root, &n);
        if conf.is_file() {
            fs::remove_file(&conf).map_err(|e| Error::io("cannot remove", &conf, &e))?;
            removed.push(conf);
        }
    }
    depmod(root, release)?;
    Ok(removed)
}

/// The `list --installed` table.
pub fn list_table(items: &[Installed]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(crate::format::WIDTH)
        .force_no_tty()
        .set_header(["MODULE", "AT BOOT", "FILE"]);
    for i in items {
        t.add_row(vec![
            i.name.clone(),
            if i.name == CORE {
                "(dependency)".to_string()
            } else if i.at_boot {
                "yes".to_string()
            } else {
                "no".to_string()
            },
            i.path.display().to_string(),
        ]);
    }
    t.to_string()
}
