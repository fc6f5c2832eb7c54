// SPDX-License-Identifier: GPL-2.0
//! Host tests of dynamos' pure layer (`src/logic/`): the very files the
//! module compiles, included by path. Each test is named for the rule it
//! checks.

#![allow(dead_code)]

#[path = "../../../src/logic/dispatch.rs"]
mod dispatch;
#[path = "../../../src/logic/lifecycle.rs"]
mod lifecycle;
#[path = "../../../src/logic/parse.rs"]
mod parse;
#[path = "../../../src/logic/rules.rs"]
mod rules;
#[path = "../../../src/logic/symtext.rs"]
mod symtext;

#[cfg(test)]
mod test_dispatch;
#[cfg(test)]
mod test_lifecycle;
#[cfg(test)]
mod test_parse;
#[cfg(test)]
mod test_rules;
#[cfg(test)]
mod test_symtext;
