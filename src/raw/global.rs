// SPDX-License-Identifier: GPL-2.0

//! Module-wide state behind a mutex: the kernel crate's `global_lock!`,
//! whose one unsafe step (initializing the lock) is made safe here.
//!
//! `global_lock!` asks its user to promise that the lock is initialized
//! once, before any other use. [`module_mutex!`] makes the static and a
//! safe function that initializes it: at most once (a second call does
//! nothing), and the module calls it at init, before it makes anything
//! (sysfs files, notifiers, exported entry points usable by other modules)
//! through which the lock could be reached.

/// Defines `static $name: Mutex<$ty>` holding `$value`, and `fn $init()`
/// which initializes it; call `$init()` at module init, before anything
/// that uses `$name` can run.
macro_rules! module_mutex {
    ($(#[$attr:meta])* static $name:ident: Mutex<$ty:ty> = $value:expr; init = $init:ident;) => {
        ::kernel::sync::global_lock! {
            // SAFETY: `$init()` initializes it, once, at module init,
            // before anything that could use it exists (the macro's
            // contract).
            $(#[$attr])*
            unsafe(uninit) static $name: Mutex<$ty> = $value;
        }

        /// Initializes the module's mutex, once; later calls do nothing.
        pub(crate) fn $init() {
            static DONE: ::core::sync::atomic::AtomicBool = ::core::sync::atomic::AtomicBool::new(false);
            if !DONE.swap(true, ::core::sync::atomic::Ordering::AcqRel) {
                // SAFETY: The first and only call (`DONE`); at module init,
                // before any use (the macro's contract).
                unsafe { $name.init() };
            }
        }
    };
}
pub(crate) use module_mutex;
