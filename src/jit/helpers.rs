//! The table of runtime helpers: each one's symbol name (prefixed `trigc_rt_`, so
//! that a typo cannot bind a libc function through the JIT's `dlsym` fallback), its
//! address and its C signature, from which the module registers and declares
//! them.

use cranelift_codegen::ir::{AbiParam, Signature, Type, types};

use super::abi::{self, Ctx};

/// A helper compiled code calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    Read,
    ReadBoxed,
    EventPart,
    EventPartBoxed,
    InternConst,
    StrCmp,
    StrConcat,
    StrCase,
    StrLen,
    StrTest,
    StateLen,
    BoxedLen,
    BoxedContains,
    BoxedBinary,
    IsNone,
    ListNew,
    ListPush,
    ListPushBoxed,
    ObjectNew,
    ObjectPush,
    ObjectPushBoxed,
    ScaleDuration,
    Fmod,
}

/// A parameter or result type in helper signatures.
#[derive(Clone, Copy, Debug)]
enum Arg {
    U8,
    U32,
    I64,
    F64,
}

impl Arg {
    fn clif(self) -> Type {
        match self {
            Arg::U8 => types::I8,
            Arg::U32 => types::I32,
            Arg::I64 => types::I64,
            Arg::F64 => types::F64,
        }
    }
}

type HelperCtx = *mut Ctx<'static>;

impl Helper {
    pub const ALL: [Helper; 23] = [
        Helper::Read,
        Helper::ReadBoxed,
        Helper::EventPart,
        Helper::EventPartBoxed,
        Helper::InternConst,
        Helper::StrCmp,
        Helper::StrConcat,
        Helper::StrCase,
        Helper::StrLen,
        Helper::StrTest,
        Helper::StateLen,
        Helper::BoxedLen,
        Helper::BoxedContains,
        Helper::BoxedBinary,
        Helper::IsNone,
        Helper::ListNew,
        Helper::ListPush,
        Helper::ListPushBoxed,
        Helper::ObjectNew,
        Helper::ObjectPush,
        Helper::ObjectPushBoxed,
        Helper::ScaleDuration,
        Helper::Fmod,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the first parameter is the `*mut Ctx`.
    pub fn takes_ctx(self) -> bool {
        self != Helper::Fmod
    }

    pub fn name(self) -> &'static str {
        match self {
            Helper::Read => "trigc_rt_read",
            Helper::ReadBoxed => "trigc_rt_read_boxed",
            Helper::EventPart => "trigc_rt_event_part",
            Helper::EventPartBoxed => "trigc_rt_event_part_boxed",
            Helper::InternConst => "trigc_rt_intern_const",
            Helper::StrCmp => "trigc_rt_str_cmp",
            Helper::StrConcat => "trigc_rt_str_concat",
            Helper::StrCase => "trigc_rt_str_case",
            Helper::StrLen => "trigc_rt_str_len",
            Helper::StrTest => "trigc_rt_str_test",
            Helper::StateLen => "trigc_rt_state_len",
            Helper::BoxedLen => "trigc_rt_boxed_len",
            Helper::BoxedContains => "trigc_rt_boxed_contains",
            Helper::BoxedBinary => "trigc_rt_boxed_binary",
            Helper::IsNone => "trigc_rt_is_none",
            Helper::ListNew => "trigc_rt_list_new",
            Helper::ListPush => "trigc_rt_list_push",
            Helper::ListPushBoxed => "trigc_rt_list_push_boxed",
            Helper::ObjectNew => "trigc_rt_object_new",
            Helper::ObjectPush => "trigc_rt_object_push",
            Helper::ObjectPushBoxed => "trigc_rt_object_push_boxed",
            Helper::ScaleDuration => "trigc_rt_scale_duration",
            Helper::Fmod => "trigc_rt_fmod",
        }
    }

    /// The helper's code address. Each cast names the exact `extern "C"` type, so a
    /// signature change that is not mirrored in [`Helper::params`] fails to build
    /// here rather than at run time.
    pub fn address(self) -> *const u8 {
        match self {
            Helper::Read => abi::trigc_rt_read as extern "C" fn(HelperCtx, u32) -> u8 as *const u8,
            Helper::ReadBoxed => {
                abi::trigc_rt_read_boxed as extern "C" fn(HelperCtx, u32, u32) as *const u8
            }
            Helper::EventPart => {
                abi::trigc_rt_event_part as extern "C" fn(HelperCtx, u32, u32) -> u8 as *const u8
            }
            Helper::EventPartBoxed => {
                abi::trigc_rt_event_part_boxed as extern "C" fn(HelperCtx, u32, u32, u32)
                    as *const u8
            }
            Helper::InternConst => {
                abi::trigc_rt_intern_const as extern "C" fn(HelperCtx, u32) -> u64 as *const u8
            }
            Helper::StrCmp => {
                abi::trigc_rt_str_cmp as extern "C" fn(HelperCtx, u64, u64) -> i32 as *const u8
            }
            Helper::StrConcat => {
                abi::trigc_rt_str_concat as extern "C" fn(HelperCtx, u64, u64) -> u64 as *const u8
            }
            Helper::StrCase => {
                abi::trigc_rt_str_case as extern "C" fn(HelperCtx, u64, u32) -> u64 as *const u8
            }
            Helper::StrLen => {
                abi::trigc_rt_str_len as extern "C" fn(HelperCtx, u64) -> i64 as *const u8
            }
            Helper::StrTest => {
                abi::trigc_rt_str_test as extern "C" fn(HelperCtx, u32, u64, u64) -> u8 as *const u8
            }
            Helper::StateLen => {
                abi::trigc_rt_state_len as extern "C" fn(HelperCtx, u32) -> i64 as *const u8
            }
            Helper::BoxedLen => {
                abi::trigc_rt_boxed_len as extern "C" fn(HelperCtx, u32, u32) -> u8 as *const u8
            }
            Helper::BoxedContains => {
                abi::trigc_rt_boxed_contains as extern "C" fn(HelperCtx, u32, u32, i64) -> u8
                    as *const u8
            }
            Helper::BoxedBinary => {
                abi::trigc_rt_boxed_binary as extern "C" fn(HelperCtx, u32, u32, u32) -> u8
                    as *const u8
            }
            Helper::IsNone => {
                abi::trigc_rt_is_none as extern "C" fn(HelperCtx, u32) -> u8 as *const u8
            }
            Helper::ListNew => {
                abi::trigc_rt_list_new as extern "C" fn(HelperCtx, u32, u32) as *const u8
            }
            Helper::ListPush => {
                abi::trigc_rt_list_push as extern "C" fn(HelperCtx, u32, u32, u8, i64) as *const u8
            }
            Helper::ListPushBoxed => {
                abi::trigc_rt_list_push_boxed as extern "C" fn(HelperCtx, u32, u32) as *const u8
            }
            Helper::ObjectNew => {
                abi::trigc_rt_object_new as extern "C" fn(HelperCtx, u32, u32) as *const u8
            }
            Helper::ObjectPush => {
                abi::trigc_rt_object_push as extern "C" fn(HelperCtx, u32, u32, u32, u8, i64)
                    as *const u8
            }
            Helper::ObjectPushBoxed => {
                abi::trigc_rt_object_push_boxed as extern "C" fn(HelperCtx, u32, u32, u32)
                    as *const u8
            }
            Helper::ScaleDuration => {
                abi::trigc_rt_scale_duration as extern "C" fn(HelperCtx, i64, f64, u32) -> u8
                    as *const u8
            }
            Helper::Fmod => abi::trigc_rt_fmod as extern "C" fn(f64, f64) -> f64 as *const u8,
        }
    }

    /// Parameters after the context, and the result.
    fn shape(self) -> (&'static [Arg], Option<Arg>) {
        use Arg::*;
        match self {
            Helper::Read => (&[U32], Some(U8)),
            Helper::ReadBoxed => (&[U32, U32], None),
            Helper::EventPart => (&[U32, U32], Some(U8)),
            Helper::EventPartBoxed => (&[U32, U32, U32], None),
            Helper::InternConst => (&[U32], Some(I64)),
            Helper::StrCmp => (&[I64, I64], Some(U32)),
            Helper::StrConcat => (&[I64, I64], Some(I64)),
            Helper::StrCase => (&[I64, U32], Some(I64)),
            Helper::StrLen => (&[I64], Some(I64)),
            Helper::StrTest => (&[U32, I64, I64], Some(U8)),
            Helper::StateLen => (&[U32], Some(I64)),
            Helper::BoxedLen => (&[U32, U32], Some(U8)),
            Helper::BoxedContains => (&[U32, U32, I64], Some(U8)),
            Helper::BoxedBinary => (&[U32, U32, U32], Some(U8)),
            Helper::IsNone => (&[U32], Some(U8)),
            Helper::ListNew => (&[U32, U32], None),
            Helper::ListPush => (&[U32, U32, U8, I64], None),
            Helper::ListPushBoxed => (&[U32, U32], None),
            Helper::ObjectNew => (&[U32, U32], None),
            Helper::ObjectPush => (&[U32, U32, U32, U8, I64], None),
            Helper::ObjectPushBoxed => (&[U32, U32, U32], None),
            Helper::ScaleDuration => (&[I64, F64, U32], Some(U8)),
            Helper::Fmod => (&[F64, F64], Some(F64)),
        }
    }

    /// The C signature, `pointer` being the host's pointer type.
    pub fn signature(self, mut sig: Signature, pointer: Type) -> Signature {
        let (params, result) = self.shape();
        if self.takes_ctx() {
            sig.params.push(AbiParam::new(pointer));
        }
        // Narrow integers are zero-extended by the caller, as the C ABIs Rust
        // follows expect of `u8`/`u32` arguments.
        sig.params.extend(params.iter().map(|a| match a {
            Arg::U8 | Arg::U32 => AbiParam::new(a.clif()).uext(),
            Arg::I64 | Arg::F64 => AbiParam::new(a.clif()),
        }));
        sig.returns.extend(result.map(|a| AbiParam::new(a.clif())));
        sig
    }
}
