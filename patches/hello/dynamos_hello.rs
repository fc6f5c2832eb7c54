// SPDX-License-Identifier: GPL-2.0

//! The smallest dynamos patch: it registers with the core, stays disabled
//! and patches nothing. It shows the shape of a patch module and is used by the
//! selftests and by `make run`.

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

dynamos_patch::patch! {
    type: HelloPatch,
    name: "dynamos_hello",
    authors: ["dynamos developers"],
    description: "dynamos sample patch that only registers",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [],
}
