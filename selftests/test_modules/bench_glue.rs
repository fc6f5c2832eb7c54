// SPDX-License-Identifier: GPL-2.0

//! Glue shared by the benchmark patches (`dynamos_bench_patch.rs`,
//! `dynamos_bench_stack.rs`): what `patch!` generates for a target, as
//! const-generic functions over up to `N` editions of `int f(int)`
//! functions of module `dynamos_bench`, one instantiation per edition.
//!
//! `bench_glue!(N)` defines the counters, `counted::<I>`, `fast::<I>`,
//! `orig_counted::<I>`, `prev::<I>` and `desc::<I>(name, adapt)`; the
//! including module defines `edition::<I>`, the edition itself, and
//! `choose(x)`, the choice of its adaptation handler (if it has one).

macro_rules! bench_glue {
    ($n:expr) => {
        static INSIDE: [::core::sync::atomic::AtomicIsize; $n] =
            [const { ::core::sync::atomic::AtomicIsize::new(0) }; $n];
        static ORIG_INSIDE: [::core::sync::atomic::AtomicIsize; $n] =
            [const { ::core::sync::atomic::AtomicIsize::new(0) }; $n];
        static ORIG: [::core::sync::atomic::AtomicUsize; $n] =
            [const { ::core::sync::atomic::AtomicUsize::new(0) }; $n];
        static PREV: [::core::sync::atomic::AtomicUsize; $n] =
            [const { ::core::sync::atomic::AtomicUsize::new(0) }; $n];
        static CALLS: [::core::sync::atomic::AtomicU64; $n] =
            [const { ::core::sync::atomic::AtomicU64::new(0) }; $n];
        static REPLACED: [::core::sync::atomic::AtomicUsize; $n] =
            [const { ::core::sync::atomic::AtomicUsize::new(0) }; $n];
        static ORIGINAL: [::core::sync::atomic::AtomicUsize; $n] =
            [const { ::core::sync::atomic::AtomicUsize::new(0) }; $n];
        static ORIG_CALLS: [::core::sync::atomic::AtomicPtr<::core::sync::atomic::AtomicU64>; $n] =
            [const { ::core::sync::atomic::AtomicPtr::new(::core::ptr::null_mut()) }; $n];

        /// Edition `I` through the including module's `choose(x)` (an
        /// adaptation handler's choice), as `patch!`'s adaptive entry does.
        extern "C" fn adaptive<const I: usize>(x: ::kernel::ffi::c_int) -> ::kernel::ffi::c_int {
            use ::core::sync::atomic::Ordering::{Acquire, Relaxed};
            let to = match choose(x) {
                $crate::dynamos_patch::Choice::Original => {
                    // SAFETY: dynamos points it at the original's counter.
                    if let Some(c) = unsafe { ORIG_CALLS[I].load(Acquire).as_ref() } {
                        c.fetch_add(1, Relaxed);
                    }
                    &ORIGINAL[I]
                }
                $crate::dynamos_patch::Choice::Replaced => &REPLACED[I],
                _ => return fast::<I>(x),
            };
            call_addr(to, x)
        }

        /// Edition `I`, counted.
        extern "C" fn counted<const I: usize>(x: ::kernel::ffi::c_int) -> ::kernel::ffi::c_int {
            CALLS[I].fetch_add(1, ::core::sync::atomic::Ordering::Relaxed);
            let _inside = $crate::dynamos_patch::Inside::enter(&INSIDE[I]);
            edition::<I>(x)
        }

        /// Edition `I`, its calls counted.
        extern "C" fn fast<const I: usize>(x: ::kernel::ffi::c_int) -> ::kernel::ffi::c_int {
            CALLS[I].fetch_add(1, ::core::sync::atomic::Ordering::Relaxed);
            edition::<I>(x)
        }

        /// Calls the `int f(int)` whose address dynamos wrote in `addr`.
        fn call_addr(
            addr: &::core::sync::atomic::AtomicUsize,
            x: ::kernel::ffi::c_int,
        ) -> ::kernel::ffi::c_int {
            type Sig = unsafe extern "C" fn(::kernel::ffi::c_int) -> ::kernel::ffi::c_int;
            // SAFETY: dynamos writes the address of a function of type
            // `Sig` before the caller can run.
            let f: Sig = unsafe {
                ::core::mem::transmute::<usize, Sig>(
                    addr.load(::core::sync::atomic::Ordering::Acquire),
                )
            };
            // SAFETY: The targets take any `int`.
            let r = unsafe { f(x) };
            ::core::hint::black_box(r)
        }

        /// The original of edition `I`'s target, counted.
        extern "C" fn orig_counted<const I: usize>(
            x: ::kernel::ffi::c_int,
        ) -> ::kernel::ffi::c_int {
            let _inside = $crate::dynamos_patch::Inside::enter(&ORIG_INSIDE[I]);
            call_addr(&ORIG[I], x)
        }

        /// Calls what edition `I` replaced (the editions redo the work
        /// instead; dynamos needs its address).
        #[inline(never)]
        fn prev<const I: usize>(x: ::kernel::ffi::c_int) -> ::kernel::ffi::c_int {
            call_addr(&PREV[I], x)
        }

        /// The descriptor of edition `I`, of target `name`.
        fn desc<const I: usize>(
            name: *const ::kernel::ffi::c_char,
            adapt: Option<$crate::dynamos_patch::abi::AdaptFn>,
        ) -> $crate::dynamos_patch::FuncDesc {
            type F = extern "C" fn(::kernel::ffi::c_int) -> ::kernel::ffi::c_int;
            let entry: F = edition::<I>;
            let counted: F = counted::<I>;
            let fast: F = fast::<I>;
            let adaptive: F = adaptive::<I>;
            let orig_counted: F = orig_counted::<I>;
            let prev: fn(::kernel::ffi::c_int) -> ::kernel::ffi::c_int = prev::<I>;
            $crate::dynamos_patch::FuncDesc {
                name,
                object: ::kernel::c_str!("dynamos_bench").as_char_ptr(),
                sympos: 0,
                nr_args: 1,
                entry: entry as *const ::kernel::ffi::c_void,
                fast: fast as *const ::kernel::ffi::c_void,
                calls: &CALLS[I],
                counted: counted as *const ::kernel::ffi::c_void,
                orig_counted: orig_counted as *const ::kernel::ffi::c_void,
                inside: &INSIDE[I],
                orig_inside: &ORIG_INSIDE[I],
                orig: &ORIG[I],
                prev: &PREV[I],
                adapt,
                adaptive: if adapt.is_some() {
                    adaptive as *const ::kernel::ffi::c_void
                } else {
                    ::core::ptr::null()
                },
                replaced: &REPLACED[I],
                original: &ORIGINAL[I],
                orig_calls: &ORIG_CALLS[I],
                prev_fn: prev as *const ::kernel::ffi::c_void,
                flags: 0,
                safepoint: ::core::ptr::null(),
                adaptor: ::core::ptr::null(),
                callers: ::core::ptr::null(),
                nr_callers: 0,
            }
        }
    };
}
